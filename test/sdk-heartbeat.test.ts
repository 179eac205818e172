/**
 * A master that goes silent without going away: the `agora master` process is frozen with
 * SIGSTOP, so its TCP connections stay open and no error ever reaches the framework — only
 * the heartbeats stop. The SDK notices after 3 missed heartbeat intervals: a framework with
 * the default reconnect subscribes again under its id once the master thaws (SIGCONT); one
 * with `reconnect: false` is closed with the reason.
 */
import { testSecurity } from './support/security';
import { spawn, type ChildProcess } from 'child_process';
import { once } from 'events';
import { join } from 'path';
import type { MasterStateView } from '../common/operator-types';
import { freePort, startNatsServer, stopChild, type NatsServer } from '../common/nats-server';
import { subscribe, type Scheduler } from '../frameworks/sdk';
import { getJson, masterAddress } from '../common/operator-client';
import { eventually } from './support/cluster';

const BIN = join(__dirname, '..', 'dist', 'cli', 'agora.js');

describe('an SDK framework whose master goes silent', () => {
  let nats: NatsServer;
  let master: ChildProcess;
  let httpPort: number;
  let grpcAddr: string;
  const schedulers: Scheduler[] = [];

  beforeAll(async () => {
    // The master's doors locked as agora up locks them: it reads the keys from AGORA_HOME, the SDK from AGORA_CONFIG.
    const sec = await testSecurity();
    nats = await startNatsServer({ securityDir: sec.dir });
    httpPort = await freePort();
    const grpcPort = await freePort();
    grpcAddr = `127.0.0.1:${grpcPort}`;
    // HEARTBEAT every 200 ms: a framework's stream is lost after 600 ms of silence
    master = spawn(process.execPath, [BIN, 'master', '--nats', nats.url, '--host', '127.0.0.1', '--port', String(httpPort),
      '--grpc-port', String(grpcPort), '--framework-heartbeat-interval-ms', '200'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, AGORA_LOG: 'warn' } });
    let out = '';
    await new Promise<void>((resolve, reject) => {
      master.stdout!.on('data', (d: Buffer) => { if ((out += d.toString()).includes('gRPC on')) resolve(); });
      master.once('exit', (code) => reject(new Error(`agora master exited (${code}) before serving: ${out}`)));
    });
  });
  afterAll(async () => {
    for (const s of schedulers) s.close();
    master.kill('SIGCONT');   // in case the test stopped while it was frozen
    await stopChild(master);
    await nats.stop();
  });

  const state = () => getJson<MasterStateView>(masterAddress(`127.0.0.1:${httpPort}`), '/api/v1/state');
  const silence = /^no event from the master for \d+ ms \(3 heartbeat intervals of 200 ms\): the connection counts as lost$/;

  it('counts a frozen master lost after 3 missed heartbeats: reconnects by default once it thaws, or closes without reconnect', async () => {
    const staying = await subscribe({ grpcAddress: grpcAddr, framework: { name: 'staying', failoverTimeoutMs: 60_000 } });
    const oneShot = await subscribe({ grpcAddress: grpcAddr, framework: { name: 'one-shot' }, reconnect: false });
    schedulers.push(staying, oneShot);
    expect(staying.heartbeatIntervalMs).toBe(200);
    const frameworkId = staying.frameworkId;

    const disconnected = once(staying, 'disconnected');
    const closed = once(oneShot, 'closed');
    master.kill('SIGSTOP');
    const [lost] = await disconnected as [Error];
    expect(lost.message).toMatch(silence);
    const [why] = await closed as [Error];
    expect(why.message).toMatch(silence);

    const resubscribed = once(staying, 'resubscribed');
    master.kill('SIGCONT');
    expect(await resubscribed).toEqual([grpcAddr]);
    expect(staying.frameworkId).toBe(frameworkId);
    await eventually('the master has the framework connected again', async () =>
      (await state()).frameworks.some((f) => f.id === frameworkId && f.connected));
  });
});
