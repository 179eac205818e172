/**
 * Role weights as operators set them (Mesos UPDATE_WEIGHTS), over the master's real HTTP
 * API: all or nothing, a bad body or weight is a 400 that says what was wrong and changes
 * nothing, and the registry keeps them for the next master.
 */
import { request } from 'http';
import { startNatsServer, type NatsServer } from '../common/nats-server';
import { InMemoryRegistry } from './registry';
import { startMaster, type MasterHandle } from './server';

let nats: NatsServer;
let master: MasterHandle;
const registry = new InMemoryRegistry();

beforeAll(async () => {
  nats = await startNatsServer();
  master = await startMaster({
    natsUrl: nats.url, subjectPrefix: 'weightstest', host: '127.0.0.1', httpPort: 0, grpcPort: 0, weights: { batch: 0.5 }, registry,
  });
});

afterAll(async () => {
  await master?.stop();
  await nats?.stop();
});

function call(method: 'GET' | 'PUT', body?: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: master.httpPort, path: '/api/v1/weights', method }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('role weights over HTTP', () => {
  it('starts from the configured weights', async () => {
    expect(await call('GET')).toEqual({ status: 200, json: { batch: 0.5 } });
  });

  it('sets the weights given, keeps the others, and stores them in the registry', async () => {
    expect(await call('PUT', JSON.stringify({ prod: 3, batch: 1 }))).toEqual({ status: 200, json: { batch: 1, prod: 3 } });
    expect(await registry.loadWeights()).toEqual({ batch: 1, prod: 3 });
  });

  it.each([
    ['not JSON', '{prod: 3', /the body is not JSON/],
    ['not an object', '[1, 2]', /must be a JSON object/],
    ['a weight of 0', '{"prod": 0, "web": 2}', /weight of role 'prod' must be a number > 0, got 0/],
    ['a weight that is a string', '{"web": "2"}', /weight of role 'web' must be a number > 0, got "2"/],
    ['nothing', '{}', /no weights given/],
  ])('refuses %s with a 400 saying why, and changes nothing', async (_what, body, why) => {
    const before = await call('GET');
    const answer = await call('PUT', body);
    expect(answer.status).toBe(400);
    expect(String(answer.json.error)).toMatch(why);
    expect(await call('GET')).toEqual(before);
    expect(await registry.loadWeights()).toEqual(before.json);
  });
});
