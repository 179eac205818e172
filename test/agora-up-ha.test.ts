/**
 * `agora up --masters 3`, the real binary: three supervised HA masters on a 3-node NATS cluster
 * agree on one leader; a standby sends the API to it; an app launched through the services
 * framework keeps its tasks when the leader is SIGKILLed, a standby takes over in a higher
 * epoch and the killed master comes back as a standby; the framework reaches the new leader
 * (it scales the app through it). Two replicas of the services framework: the standby forwards,
 * and takes over, the tasks kept, when the leading one is SIGKILLed. Redis's primary SIGKILLed,
 * the Sentinels promote the replica and the dead node comes back as its replica, never as a
 * second primary. SIGKILLed itself, `agora up` leaves its children running; the next start stops
 * them and takes the tasks back, those scaled through the promoted Redis too. SIGTERM stops
 * every child.
 */
import { execFile, spawn, type ChildProcess } from 'child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { createConnection } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { Redis } from 'ioredis';
import { eventually } from './support/cluster';
import { authedFetch, doorFetch } from './support/http';
import { EventStream, ServicesClient } from './support/services';

const BIN = join(__dirname, '..', 'dist', 'cli', 'agora.js');
/** Base ports of their own, away from the defaults another run on this machine may hold. */
const HTTP = 25050;
const GRPC = 25053;
const SERVICES = 28080;
const JOBS = 24400;
const MASTER_PORTS = [HTTP, HTTP + 10, HTTP + 20];

interface Health { status: string; role: 'leader' | 'standby'; epoch: number; pid: number; leader: string | null }

async function health(port: number): Promise<Health | undefined> {
  try {
    const res = await doorFetch(`https://127.0.0.1:${port}/health`);
    return (await res.json()) as Health;
  } catch {
    return undefined;
  }
}

/** Every master's /health once one leads and the two others are standbys in its epoch. */
async function oneLeader(): Promise<{ leader: Health; leaderPort: number; all: Health[] }> {
  let found: { leader: Health; leaderPort: number; all: Health[] } | undefined;
  await eventually('one leader and two standbys in its epoch', async () => {
    const all = await Promise.all(MASTER_PORTS.map(health));
    const leaders = all.filter((h) => h?.role === 'leader');
    const standbys = all.filter((h) => h?.role === 'standby' && h.epoch === leaders[0]?.epoch);
    if (leaders.length !== 1 || standbys.length !== 2) return false;
    found = { leader: leaders[0]!, leaderPort: MASTER_PORTS[all.indexOf(leaders[0])]!, all: all as Health[] };
    return true;
  }, 2400);
  return found!;
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ port, host: '127.0.0.1' });
    sock.once('connect', () => { sock.destroy(); resolve(false); });
    sock.once('error', () => resolve(true));
  });
}

function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The agora command as a user runs it: the home's client config, no AGORA_MASTER. */
function agora(args: string[], home: string): Promise<{ code: number; stdout: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, AGORA_HOME: home, AGORA_LOG: 'warn' };
  delete env.AGORA_MASTER;
  delete env.AGORA_CONFIG;
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env }, (err, stdout) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout }));
  });
}

interface TaskView { id: string; appId: string; state: string }

async function tasks(api: ServicesClient): Promise<TaskView[]> {
  const r = await api.call<{ tasks: TaskView[] }>('GET', '/v2/tasks');
  return r.status === 200 ? r.body.tasks.map(({ id, appId, state }) => ({ id, appId, state })).sort((a, b) => a.id.localeCompare(b.id)) : [];
}

interface Up {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
}

describe('agora up --masters 3', () => {
  const home = mkdtempSync(join(tmpdir(), 'agora-up-ha-'));
  // Process tasks run as nobody and pass through the home down to their sandboxes.
  chmodSync(home, 0o711);
  process.env.AGORA_HOME = home;
  const state = join(home, 'state');
  const live: Up[] = [];

  /** Starts `agora up --masters 3` on the test's home and waits for its banner's last line. */
  async function startUp(): Promise<Up> {
    const child = spawn(process.execPath, [BIN, 'up', '--masters', '3', '--containerizer', 'process', '--state-dir', state, '--agent-port', '0',
      '--http-port', String(HTTP), '--grpc-port', String(GRPC), '--services-port', String(SERVICES), '--jobs-port', String(JOBS)], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGORA_LOG: 'warn' },
    });
    let out = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const up = { child, out: () => out, exited };
    live.push(up);
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('serving; press Ctrl-C')) resolve();
      });
      child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
      void exited.then(() => reject(new Error(`agora up exited early:\n${out}`)));
    });
    return up;
  }

  /** Each data node's role as it answers ROLE itself, found by the ports the set recorded in set.json. */
  async function redisRoles(): Promise<Record<string, string>> {
    const { ports } = JSON.parse(readFileSync(join(state, 'redis-sentinel', 'set.json'), 'utf8')) as { ports: Record<string, number> };
    const password = readFileSync(join(home, 'redis.secret'), 'utf8').trim();
    const roles: Record<string, string> = {};
    for (const m of ['redis-0', 'redis-1']) {
      const node = new Redis({ host: '127.0.0.1', port: ports[m], password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      try {
        await node.connect();
        roles[m] = ((await node.call('ROLE')) as string[])[0]!;
      } finally {
        node.disconnect();
      }
    }
    return roles;
  }

  afterAll(async () => {
    for (const up of live) {
      if (up.child.exitCode === null && up.child.signalCode === null) {
        up.child.kill('SIGTERM');
        await up.exited;
      }
    }
    rmSync(home, { recursive: true, force: true });
  });

  it('elects one leader, fails over when it is SIGKILLed with the app\'s tasks kept, takes them back after its own SIGKILL, and stops every child on SIGTERM', async () => {
    expect(existsSync(BIN)).toBe(true);
    const up = await startUp();
    const out = up.out();
    const first = await oneLeader();
    // The banner names every master's role as /health does.
    for (const [i, h] of first.all.entries()) {
      expect(out).toMatch(new RegExp(`master-${i + 1} +${h.role} +epoch ${h.epoch} pid ${h.pid} +https://127\\.0\\.0\\.1:${MASTER_PORTS[i]} \\(gRPC 127\\.0\\.0\\.1:${GRPC + 10 * i}\\)`));
    }
    expect(out).toMatch(/nats-n1 +pid \d+ +nats:\/\/127\.0\.0\.1:\d+/);
    // Clients are given every master: the client config agora up wrote, and the banner's hint.
    const masterList = MASTER_PORTS.map((p) => `127.0.0.1:${p}`).join(',');
    expect((JSON.parse(readFileSync(join(home, 'config'), 'utf8')) as { contexts: { local: { master: string } } }).contexts.local.master).toBe(masterList);
    expect(out).toContain(`AGORA_MASTER=${masterList} agora agents`);
    // A standby sends the API to the leader.
    const standbyPort = MASTER_PORTS.find((p) => p !== first.leaderPort)!;
    const redirected = await authedFetch(`https://127.0.0.1:${standbyPort}/api/v1/state`, { redirect: 'manual' });
    expect(redirected.status).toBe(307);
    expect(redirected.headers.get('location')).toBe(`https://127.0.0.1:${first.leaderPort}/api/v1/state`);
    // The offer log's stream has 3 replicas, as the lease has.
    const monitor = Number(/nats-n1 +pid \d+ +nats:\/\/\S+ \(monitoring http:\/\/127\.0\.0\.1:(\d+)\)/.exec(out)![1]);
    const jsz = await (await fetch(`http://127.0.0.1:${monitor}/jsz?accounts=true&streams=true&config=true`)).json() as
      { account_details?: { stream_detail?: { name: string; config: { num_replicas: number } }[] }[] };
    const streams = (jsz.account_details ?? []).flatMap((a) => a.stream_detail ?? []);
    expect(streams.find((s) => s.name === 'AGORA_OFFERS')?.config.num_replicas).toBe(3);

    // An app through the services framework.
    const api = new ServicesClient(SERVICES);
    const events = await EventStream.open(SERVICES);
    const posted = await api.call('POST', '/v2/apps', { id: '/ha-check', cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 2 });
    expect(posted.status).toBe(201);
    await events.deploymentDone(posted.headers['marathon-deployment-id'] as string);
    const before = await tasks(api);
    expect(before.map((t) => t.state)).toEqual(['TASK_RUNNING', 'TASK_RUNNING']);

    // The leader SIGKILLed: a standby leads in a higher epoch, and the killed one is back as a standby.
    process.kill(first.leader.pid, 'SIGKILL');
    let second = first;
    await eventually('a new leader', async () => {
      second = await oneLeader();
      return second.leader.pid !== first.leader.pid && second.all.every((h) => h.pid !== first.leader.pid);
    }, 100);
    expect(second.leader.epoch).toBeGreaterThan(first.leader.epoch);
    expect(up.out()).toMatch(/\[up\] master-\d was killed \(SIGKILL\); starting it again in \d+ ms/);
    // The framework reaches the new leader: scaled up there, the old tasks kept, one more launched.
    const scaled = await api.call('PUT', '/v2/apps/ha-check', { instances: 3 });
    expect(scaled.status).toBe(200);
    await events.deploymentDone(scaled.headers['marathon-deployment-id'] as string);
    events.close();
    const after = await tasks(api);
    expect(after).toHaveLength(3);
    expect(after.every((t) => t.state === 'TASK_RUNNING')).toBe(true);
    expect(after.filter((t) => before.some((b) => b.id === t.id))).toEqual(before);
    // The agora command, with the client config agora up wrote (every master, whichever leads), sees them at the leader.
    const listed = await agora(['tasks', '--json'], home);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { id: string }[]).map((t) => t.id)).toEqual(expect.arrayContaining(after.map((t) => t.id)));

    // Two replicas of the services framework, on SERVICES and SERVICES + 1: one leads, the other forwards to it.
    const leaderOf = async (port: number) => (await new ServicesClient(port).call<{ leader?: string }>('GET', '/v2/leader')).body?.leader;
    const servicesLeader = await leaderOf(SERVICES);
    const [leading, standing] = servicesLeader === `127.0.0.1:${SERVICES}` ? [SERVICES, SERVICES + 1] : [SERVICES + 1, SERVICES];
    expect(await leaderOf(standing)).toBe(`127.0.0.1:${leading}`);
    expect(out).toMatch(new RegExp(`services${leading === SERVICES ? ' ' : '-2'} +leader +pid \\d+ +https://127\\.0\\.0\\.1:${leading} `));
    expect((await new ServicesClient(standing).call<{ app: { tasksRunning: number } }>('GET', '/v2/apps/ha-check')).body.app.tasksRunning).toBe(3);
    // Its leader SIGKILLed, the standby leads and scales the app with the tasks kept.
    const running = JSON.parse(readFileSync(join(state, 'up.json'), 'utf8')) as { servers: Record<string, { pid: number }> };
    process.kill(running.servers[leading === SERVICES ? 'services' : 'services-2']!.pid, 'SIGKILL');
    await eventually('the services standby leads', async () => (await leaderOf(standing).catch(() => undefined)) === `127.0.0.1:${standing}`, 2400);
    const api2 = new ServicesClient(standing);
    const events2 = await EventStream.open(standing);
    const scaledAgain = await api2.call('PUT', '/v2/apps/ha-check', { instances: 4 });
    expect(scaledAgain.status).toBe(200);
    await events2.deploymentDone(scaledAgain.headers['marathon-deployment-id'] as string);
    events2.close();
    const afterBoth = await tasks(api2);
    expect(afterBoth).toHaveLength(4);
    expect(afterBoth.filter((t) => after.some((b) => b.id === t.id))).toEqual(after);

    // Redis's primary SIGKILLed: the Sentinels promote the replica, every writer follows it, the
    // app scales again with its tasks kept, and agora up starts the dead node again as a replica.
    const redisPrimary = Number(/redis +primary pid (\d+), a replica and 3 Sentinels/.exec(out)![1]);
    const members = (JSON.parse(readFileSync(join(state, 'up.json'), 'utf8')) as { servers: Record<string, { pid: number }> }).servers;
    const killed = ['redis-0', 'redis-1'].find((m) => members[m]!.pid === redisPrimary)!;
    process.kill(redisPrimary, 'SIGKILL');
    await eventually('a scale through the promoted Redis', async () => {
      const r = await api2.call('PUT', '/v2/apps/ha-check', { instances: 5 }).catch(() => undefined);
      return r?.status === 200;
    }, 600);
    await eventually('five running instances', async () => {
      const now = await tasks(api2).catch(() => []);
      return now.length === 5 && now.every((t) => t.state === 'TASK_RUNNING');
    }, 600);
    const afterRedis = await tasks(api2);
    expect(afterRedis.filter((t) => afterBoth.some((b) => b.id === t.id))).toEqual(afterBoth);
    await eventually('the dead Redis node started again', async () => /\[up\] redis-\d of the replicated Redis had died; started again/.test(up.out()), 600);
    // Started again only once the Sentinels had promoted its replica, and as that one's replica:
    // one primary, never two (what a writer put on a second one would go when it is demoted, or
    // when the restart below starts the other as primary).
    expect(await redisRoles()).toEqual({ [killed]: 'slave', [killed === 'redis-0' ? 'redis-1' : 'redis-0']: 'master' });

    // SIGKILLed, agora up leaves its children; the next start stops them and takes the tasks back.
    const left = JSON.parse(readFileSync(join(state, 'up.json'), 'utf8')) as { servers: Record<string, { pid: number }> };
    expect(Object.keys(left.servers).sort()).toEqual(['jobs', 'jobs-2', 'master-1', 'master-2', 'master-3', 'nats-n1', 'nats-n2', 'nats-n3', 'redis-0', 'redis-1', 'sentinel-0', 'sentinel-1', 'sentinel-2', 'services', 'services-2']);
    up.child.kill('SIGKILL');
    await up.exited;
    const again = await startUp();
    expect(again.out()).toContain(`stopped what an earlier agora up left running: jobs-2 (pid ${left.servers['jobs-2']!.pid}), jobs (pid ${left.servers.jobs!.pid}), ` +
      `services-2 (pid ${left.servers['services-2']!.pid}), services (pid ${left.servers.services!.pid}), master-3`);
    expect(Object.values(left.servers).map((s) => s.pid).filter(alive)).toEqual([]);
    await oneLeader();
    // A barrier: once a new app is deployed, the framework has long had the master's answers about the old tasks.
    const events3 = await EventStream.open(SERVICES);
    const barrier = await api.call('POST', '/v2/apps', { id: '/after', cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 1 });
    expect(barrier.status).toBe(201);
    await events3.deploymentDone(barrier.headers['marathon-deployment-id'] as string);
    events3.close();
    expect((await tasks(api)).filter((t) => t.appId === '/ha-check')).toEqual(afterRedis);

    // SIGTERM: everything it started is gone, and the state folder is let go.
    const record = JSON.parse(readFileSync(join(state, 'up.json'), 'utf8')) as { servers: Record<string, { pid: number }> };
    const pids = Object.values(record.servers).map((s) => s.pid);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
    for (const port of [...MASTER_PORTS, GRPC, SERVICES, SERVICES + 1, JOBS, JOBS + 1]) expect(await refused(port)).toBe(true);
    expect(existsSync(join(state, 'up.json'))).toBe(false);
  }, 120_000);   // three failovers (a master, a services instance, Redis) and a restart of it all: over a minute on a loaded machine
});
