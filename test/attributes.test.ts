/**
 * An agent's attributes (rack, zone…) travel with every offer of its resources, so a
 * framework can place by them: agent flag → registration over NATS → master → offer over
 * gRPC → SDK.
 */
import { subscribe } from '../frameworks/sdk';
import { startCluster, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

describe('agent attributes', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await startCluster({ containerizer: 'process', agentOptions: { attributes: { rack: 'r7', zone: 'eu-west-1b' } } });
  });
  afterAll(async () => { await cluster.stop(); });

  it('come with every offer of the agent, and show in the master\'s state', async () => {
    const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'placer' } });
    const offer = await new EventLog(s).offer();
    expect(offer.attributes).toEqual({ rack: 'r7', zone: 'eu-west-1b' });
    expect((await cluster.state()).agents[0]!.attributes).toEqual({ rack: 'r7', zone: 'eu-west-1b' });
    s.close();
  });
});
