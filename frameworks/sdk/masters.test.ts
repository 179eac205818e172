import { createServer, type Server } from 'http';
import { parseMasterList } from '../../common/master-list';
import { freePort } from '../../common/nats-server';
import type { MasterAddress } from '../../common/operator-client';
import { GrpcTargets } from './masters';

/** A master's /health as the SDK reads it, from a real HTTP server on `port`. */
function healthServer(port: number, health: object): Promise<Server> {
  const server = createServer((req, res) => {
    res.writeHead(req.url === '/health' ? 200 : 404, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.url === '/health' ? health : { error: 'not found' }));
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function masters(...ports: number[]): MasterAddress {
  const endpoints = parseMasterList(ports.map((p) => `127.0.0.1:${p}`).join(','), 'http');
  return { ...endpoints[0]!, endpoints };
}

describe('the reconnect addresses of a framework given a list of masters', () => {
  it('come in turn: the address subscribed to, those given, then each master\'s host with the gRPC port its /health reports', async () => {
    const [a, b] = [await freePort(), await freePort()];
    servers.push(await healthServer(a, { status: 'ok', role: 'leader', grpcPort: 7001 }), await healthServer(b, { status: 'ok', role: 'standby', grpcPort: 7002 }));
    const targets = new GrpcTargets(['leader:5053', 'spare:5053'], masters(a, b));
    await targets.learn();
    expect([0, 1, 2, 3, 4].map((n) => targets.at(n))).toEqual(['leader:5053', 'spare:5053', '127.0.0.1:7001', '127.0.0.1:7002', 'leader:5053']);
  });

  it('ask a master that did not answer again in a later round, and add it once it answers', async () => {
    const [up, down] = [await freePort(), await freePort()];
    servers.push(await healthServer(up, { status: 'ok', grpcPort: 7001 }));
    const targets = new GrpcTargets(['127.0.0.1:7001'], masters(down, up));
    await targets.learn();
    expect([0, 1].map((n) => targets.at(n))).toEqual(['127.0.0.1:7001', '127.0.0.1:7001']);
    await targets.learn();   // the round those asked for: the master still down

    servers.push(await healthServer(down, { status: 'ok', grpcPort: 7002 }));
    await targets.learn();   // a later round (at() starts one for each reconnect attempt)
    expect([0, 1, 2].map((n) => targets.at(n))).toEqual(['127.0.0.1:7001', '127.0.0.1:7002', '127.0.0.1:7001']);
  });

  it('leave out a master whose /health reports no gRPC port (an older master)', async () => {
    const old = await freePort();
    servers.push(await healthServer(old, { status: 'ok', role: 'standby' }));
    const targets = new GrpcTargets(['leader:5053'], masters(old));
    await targets.learn();
    expect(targets.at(1)).toBe('leader:5053');
  });
});
