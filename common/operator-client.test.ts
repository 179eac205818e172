import { createServer, type Server } from 'http';
import { parseMasterList } from './master-list';
import { freePort } from './nats-server';
import { getJson, MasterRequestError, putJson, type MasterAddress } from './operator-client';

/** A master's HTTP API reduced to one answer to everything, on a real server; it counts what it was asked. */
async function answering(status: number, body: object): Promise<{ port: number; asked: string[] }> {
  const asked: string[] = [];
  const server = createServer((req, res) => {
    asked.push(`${req.method} ${req.url}`);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  servers.push(server);
  return { port, asked };
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

const list = (...ports: number[]): MasterAddress => {
  const endpoints = parseMasterList(ports.map((p) => `127.0.0.1:${p}`).join(','), 'http');
  return { ...endpoints[0]!, endpoints };
};
const failure = (p: Promise<unknown>): Promise<MasterRequestError> => p.then(() => { throw new Error('answered'); }, (e: MasterRequestError) => e);

describe('a request to a list of masters', () => {
  it('goes past a master that refuses the connection and a standby that knows no leader, to the first that answers', async () => {
    const refused = await freePort();
    const standby = await answering(503, { error: 'this master is a standby and no leader is elected yet', role: 'standby' });
    const leader = await answering(200, { weights: { '*': 2 } });
    expect(await putJson(list(refused, standby.port, leader.port), '/api/v1/weights', { '*': 2 })).toEqual({ weights: { '*': 2 } });
    expect(standby.asked).toEqual(['PUT /api/v1/weights']);
    expect(leader.asked).toEqual(['PUT /api/v1/weights']);
  });

  it('takes a leader\'s refusal as final: the next master is not asked', async () => {
    const leader = await answering(403, { error: 'admin may not' });
    const next = await answering(200, {});
    const err = await failure(getJson(list(leader.port, next.port), '/api/v1/state'));
    expect([err.status, err.reason, err.attempts]).toEqual([403, 'admin may not', []]);
    expect(next.asked).toEqual([]);
  });

  it('takes a 503 that is not a standby\'s (a fenced or starting master) as final too', async () => {
    const starting = await answering(503, { status: 'starting' });
    const next = await answering(200, {});
    expect((await failure(getJson(list(starting.port, next.port), '/api/v1/state'))).status).toBe(503);
    expect(next.asked).toEqual([]);
  });

  it('asks each master once, and when none answers says what each said', async () => {
    const refused = await freePort();
    const standby = await answering(503, { error: 'no leader is elected yet', role: 'standby' });
    const err = await failure(getJson(list(refused, standby.port, refused), '/api/v1/state'));
    expect(err).toBeInstanceOf(MasterRequestError);
    expect(err.attempts.map((a) => [a.master, a.error.status])).toEqual([[`http://127.0.0.1:${refused}`, 0], [`http://127.0.0.1:${standby.port}`, 503]]);
    expect(err.message).toBe(`none of the 2 masters answered GET /api/v1/state (http://127.0.0.1:${refused}: connect ECONNREFUSED 127.0.0.1:${refused}; ` +
      `http://127.0.0.1:${standby.port}: no leader is elected yet)`);
    expect(standby.asked).toEqual(['GET /api/v1/state']);
  });

  it('with one master, fails as it always did: that master\'s own error', async () => {
    const refused = await freePort();
    const err = await failure(getJson(list(refused), '/health'));
    expect([err.status, err.attempts.length]).toEqual([0, 0]);
    expect(err.message).toBe(`cannot reach the master at http://127.0.0.1:${refused}: connect ECONNREFUSED 127.0.0.1:${refused}`);
  });
});
