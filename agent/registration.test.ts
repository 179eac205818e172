/**
 * Registration, heartbeats and re-registration against a real NATS server, the test playing
 * the master. Each test uses its own subject prefix, so its master is the only one its agent
 * hears.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { seededRandom } from '../common/clock';
import { startNatsServer, type NatsServer } from '../common/nats-server';
import { format } from '../common/resources';
import { OPEN_OWNER } from '../common/subjects';
import { startAgent } from './agent';
import type { AgentOptions } from './config';
import type { FencedDrop } from './epoch-fence';
import { registrationBackoffMs } from './registration';
import { TestMaster, testTask } from '../test/support/test-master';

let nats: NatsServer;
let prefixSeq = 0;
const cleanup: (() => Promise<void>)[] = [];

beforeAll(async () => { nats = await startNatsServer(); });
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});
afterAll(async () => { await nats?.stop(); });

async function startPair(opts: Partial<AgentOptions> = {}, masterOpts: { heartbeatIntervalMs?: number; withMaster?: boolean } = {}) {
  const prefix = `reg${++prefixSeq}`;
  const master = masterOpts.withMaster === false ? undefined : await TestMaster.start(nats.url, { prefix, heartbeatIntervalMs: masterOpts.heartbeatIntervalMs });
  if (master) cleanup.push(() => master.close());
  const workDir = mkdtempSync(join(tmpdir(), 'agora-agent-reg-'));
  const agent = await startAgent({
    natsUrl: nats.url, subjectPrefix: prefix, workDir, containerizer: 'process', httpHost: '127.0.0.1', httpPort: 0,
    resources: 'cpus:2;mem:512;disk:100;ports:[31000-31009]', hostname: 'node-a', attributes: { rack: 'r1' }, ...opts,
  });
  cleanup.push(async () => { await agent.stop(); rmSync(workDir, { recursive: true, force: true }); });
  return { master, agent, prefix };
}

describe('registration backoff', () => {
  it('waits a random time in [0, 1 s·2^n], capped at 1 min', () => {
    const max = (n: number) => registrationBackoffMs(n, { next: () => 0.999999 }, 1000, 60_000);
    expect([0, 1, 2, 3, 5, 6, 20].map(max)).toEqual([999, 1999, 3999, 7999, 31999, 59999, 59999]);
    expect(registrationBackoffMs(4, { next: () => 0 }, 1000, 60_000)).toBe(0);
    const r = seededRandom(7);
    for (let n = 0; n < 40; n++) {
      const d = registrationBackoffMs(n, r, 1000, 60_000);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(Math.min(60_000, 1000 * 2 ** n));
    }
  });
});

describe('registration and heartbeats', () => {
  it('registers with its hostname, resources, attributes and HTTP port, and takes the id the master gives', async () => {
    const { master, agent } = await startPair();
    const id = await agent.registered;
    const req = master!.registrations[0]!;
    expect(req.agentInfo).toMatchObject({ id: '', hostname: 'node-a', attributes: { rack: 'r1' }, port: agent.httpPort });
    expect(format(req.agentInfo.resources)).toBe('cpus:2;disk:100;mem:512;ports:[31000-31009]');
    expect(req.tasks).toEqual([]);
    expect(agent.agentId).toBe(id);
    expect(id).toMatch(/^agent-/);
  });

  it('heartbeats with its id at the interval the master asks for', async () => {
    const { master, agent } = await startPair({}, { heartbeatIntervalMs: 20 });
    const id = await agent.registered;
    await master!.waitForHeartbeats(3);
    expect(master!.heartbeats.slice(0, 3).map((h) => h.agentId)).toEqual([id, id, id]);
  });

  it('keeps trying until the master accepts it: refusals and garbage replies are retried', async () => {
    const { master, agent } = await startPair({ random: { next: () => 0 } });
    let n = 0;
    const accept = master!.registerReply;
    master!.registerReply = (req) => {
      n++;
      if (n === 1) return { agentId: '', heartbeatIntervalMs: 0, masterId: 'm', error: 'not now' };
      if (n === 2) return { agentId: 'no spaces allowed', heartbeatIntervalMs: 0, masterId: 'm', error: '' };
      return accept(req);
    };
    const id = await agent.registered;
    expect(n).toBe(3);
    expect(master!.registrations).toHaveLength(3);
    expect(id).toMatch(/^agent-/);
  });

  it('registers once a master appears, having backed off while none answered', async () => {
    const { agent, prefix } = await startPair({ random: { next: () => 0.01 }, requestTimeoutMs: 200 }, { withMaster: false });
    let registeredEarly = false;
    void agent.registered.then(() => { registeredEarly = true; });
    const master = await TestMaster.start(nats.url, { prefix });
    cleanup.push(() => master.close());
    expect(registeredEarly).toBe(false);
    await master.waitForRegistrations(1);
    await expect(agent.registered).resolves.toMatch(/^agent-/);
  });

  it('registers again, presenting its id and its running tasks, when the master answers a heartbeat with reregister', async () => {
    const { master, agent } = await startPair({}, { heartbeatIntervalMs: 20 });
    const id = await agent.registered;
    master!.run(id, testTask('long', 'sleep 300'));
    await master!.waitForState('long', 'TASK_RUNNING');
    let once = true;
    master!.heartbeatReply = () => {
      const reregister = once;
      once = false;
      return { reregister, masterId: 'master-2' };
    };
    const again = await master!.waitForRegistrations(2);
    expect(again.agentInfo.id).toBe(id);
    expect(again.tasks.map((t) => [t.taskId, t.frameworkId, t.state])).toEqual([['long', 'fw-1', 'TASK_RUNNING']]);
    expect(again.tasks[0]!.status?.state).toBe('TASK_RUNNING');
    // And it heartbeats again afterwards.
    const before = master!.heartbeats.length;
    await master!.waitForHeartbeats(before + 2);
    expect(agent.agentId).toBe(id);
  });

  it('resends its unacknowledged updates at once after re-registering', async () => {
    // A resend timer of 10 min: only the re-registration can bring the update back now.
    const { master, agent } = await startPair({ statusRetryInitialMs: 600_000 }, { heartbeatIntervalMs: 20 });
    const id = await agent.registered;
    master!.autoAck = false;
    master!.run(id, testTask('unacked', 'sleep 300'));
    const starting = await master!.waitForState('unacked', 'TASK_STARTING');
    let once = true;
    master!.heartbeatReply = () => ({ reregister: once ? !(once = false) : false, masterId: 'master-2' });
    await master!.waitForRegistrations(2);
    await master!.waitForStatus((s) => s.uuid === starting.uuid && master!.of('unacked').filter((x) => x.uuid === s.uuid).length === 2);
    expect(master!.of('unacked').map((s) => s.state)).toEqual(['TASK_STARTING', 'TASK_STARTING']);
  });
});

describe('replies of a deposed master (an older epoch)', () => {
  it('registers only with a master of the newest epoch it has seen, and ignores a deposed one\'s reregister', async () => {
    const { master, agent } = await startPair({ registerBackoffFactorMs: 20, registerBackoffMaxMs: 40 }, { heartbeatIntervalMs: 20 });
    const m = master!;
    await agent.registered;
    const drops: FencedDrop[] = [];
    const dropped = (what: FencedDrop['what'], n: number) => new Promise<void>((resolve) => {
      const seen = (d: FencedDrop) => { drops.push(d); if (drops.filter((x) => x.what === what).length >= n) { agent.off('fenced', seen); resolve(); } };
      agent.on('fenced', seen);
    });
    const accept = m.registerReply;
    // A master of epoch 6 asks it to register again; an old one of epoch 4 answers the registration.
    m.registerReply = (req) => ({ ...accept(req), masterId: 'master-4', epoch: 4 });
    let once = true;
    m.heartbeatReply = () => ({ reregister: once ? !(once = false) : false, masterId: 'master-6', epoch: 6 });
    await dropped('registration', 2);
    expect(drops.slice(0, 2)).toEqual([{ what: 'registration', epoch: 4, highest: 6 }, { what: 'registration', epoch: 4, highest: 6 }]);
    // The master of epoch 6 answers: registered again.
    const registered = new Promise<void>((resolve) => { const done = () => { agent.off('registered', done); resolve(); }; agent.on('registered', done); });
    m.registerReply = (req) => ({ ...accept(req), masterId: 'master-6', epoch: 6 });
    await registered;
    const registrations = m.registrations.length;
    // A deposed master's reregister is no answer: the agent keeps heartbeating, and registers no more.
    drops.splice(0);
    m.heartbeatReply = () => ({ reregister: true, masterId: 'master-5', epoch: 5 });
    await dropped('heartbeat', 3);
    expect(drops.slice(0, 3)).toEqual(Array(3).fill({ what: 'heartbeat', epoch: 5, highest: 6 }));
    expect(m.registrations).toHaveLength(registrations);
  });
});

describe('bad input on the agent subjects', () => {
  it('logs garbage and carries on running tasks', async () => {
    const { master, agent } = await startPair();
    const id = await agent.registered;
    const s = master!.subjects;
    const junk = [new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f]), new Uint8Array([0x0a, 0x05, 0x01]), new Uint8Array(0), Buffer.from('{"json":true}')];
    for (const bytes of junk) for (const subject of [s.run(OPEN_OWNER, id), s.kill(OPEN_OWNER, id), s.ack(OPEN_OWNER, id), `${s.agentAll(OPEN_OWNER, id).slice(0, -1)}other`]) master!.publishRaw(subject, bytes);
    master!.run(id, testTask('after-junk', 'echo still here'));
    const done = await master!.waitForState('after-junk', 'TASK_FINISHED');
    expect(done.exitCode).toBe(0);
  });
});
