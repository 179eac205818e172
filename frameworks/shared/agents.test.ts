import { agentAddresses } from './agents';
import { ApiError } from './http';

describe('where the agents are', () => {
  it('is a 503 saying why while the framework is not subscribed: the master is the only one to ask', async () => {
    const refused = await agentAddresses(undefined).then(() => undefined, (err: unknown) => err);
    expect(refused).toBeInstanceOf(ApiError);
    expect(refused).toMatchObject({ status: 503, body: { message: 'not subscribed to the master now: where the agents are is not known until it is back' } });
  });
});
