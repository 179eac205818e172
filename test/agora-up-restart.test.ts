/**
 * `agora up` killed with SIGKILL and started again on the same state folder takes everything
 * back: the servers the dead one left are stopped (not run twice on the same files), the
 * master comes back on the same Redis registry (the role weight set before is there), the agent takes back its running Docker
 * containers and its process task, and the services app is there with the SAME instances
 * running (nothing relaunched), the Metronome job with it. Killed once more, `agora up --fresh`
 * kills what was left, wipes the state and starts with no apps and no jobs.
 */
import { spawn, type ChildProcess } from 'child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import Docker from 'dockerode';
import { eventually } from './support/cluster';
import { EventStream, ServicesClient } from './support/services';

const BIN = join(__dirname, '..', 'dist', 'cli', 'agora.js');
const docker = new Docker();
/** The process task's command: unusual enough to be found in /proc by it. */
const PROCESS_CMD = 'sleep 6017';

interface Up {
  child: ChildProcess;
  out: () => string;
  exited: Promise<number | null>;
  masterPort: number;
  servicesPort: number;
  jobsPort: number;
  agentId: string;
}

/** Starts `agora up` on the test's home and waits for its banner's last line. */
async function startUp(extra: string[] = []): Promise<Up> {
  const child = spawn(process.execPath, [BIN, 'up', '--http-port', '0', '--grpc-port', '0', '--agent-port', '0', '--services-port', '0', '--jobs-port', '0', ...extra], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGORA_LOG: 'warn' },
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('serving; press Ctrl-C')) resolve();
    });
    child.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    void exited.then(() => reject(new Error(`agora up exited early:\n${out}`)));
  });
  const port = (re: RegExp) => Number(re.exec(out)?.[1]);
  return {
    child, out: () => out, exited,
    masterPort: port(/master https:\/\/127\.0\.0\.1:(\d+) \(gRPC/),
    servicesPort: port(/services https:\/\/127\.0\.0\.1:(\d+) \(REST API and UI\)/),
    jobsPort: port(/jobs https:\/\/127\.0\.0\.1:(\d+) \(REST APIs and UI\)/),
    agentId: /agent (agent-\S+) \(https/.exec(out)![1]!,
  };
}

async function kill9(up: Up): Promise<void> {
  up.child.kill('SIGKILL');
  await up.exited;
}

interface TaskView { id: string; appId: string; state: string }

async function tasks(api: ServicesClient): Promise<TaskView[]> {
  const r = await api.call<{ tasks: TaskView[] }>('GET', '/v2/tasks');
  return r.status === 200 ? r.body.tasks.map(({ id, appId, state }) => ({ id, appId, state })).sort((a, b) => a.id.localeCompare(b.id)) : [];
}

/** Pids of live processes running exactly `cmd` (by /proc/<pid>/cmdline). */
function pidsOf(cmd: string): number[] {
  const want = cmd.split(' ').join('\0');
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => {
    try {
      return readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0$/, '') === want && alive(Number(e));
    } catch {
      return false;
    }
  }).map(Number);
}

/** The process exists and is not a zombie (a killed server's parent is gone; init reaps it when it will). */
function alive(pid: number): boolean {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const containersOf = async (agentId: string): Promise<string[]> =>
  (await docker.listContainers({ filters: { label: [`agora.agent-id=${agentId}`] } })).map((c) => c.Id).sort();

describe('agora up killed with SIGKILL and started again', () => {
  const home = mkdtempSync(join(tmpdir(), 'agora-up-restart-'));
  // Process tasks run as nobody and pass through the home down to their sandboxes.
  chmodSync(home, 0o711);
  process.env.AGORA_HOME = home;
  const live: Up[] = [];
  let clean = false;
  afterAll(async () => {
    for (const up of live) if (up.child.exitCode === null && up.child.signalCode === null) await kill9(up);
    if (!clean) {
      // What a failed run left (containers, processes, servers): killed by one more --fresh.
      const last = await startUp(['--fresh']).catch(() => undefined);
      if (last) { last.child.kill('SIGTERM'); await last.exited; }
    }
    rmSync(home, { recursive: true, force: true });
  });

  it('takes back its tasks, apps and jobs; --fresh then starts with none', async () => {
    const first = await startUp();
    live.push(first);
    const api = new ServicesClient(first.servicesPort);
    const events = await EventStream.open(first.servicesPort);
    for (const app of [
      { id: '/web', cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 2, container: { type: 'DOCKER', docker: { image: 'agora/busybox:latest' } } },
      { id: '/proc', cmd: PROCESS_CMD, cpus: 0.1, mem: 16, instances: 1 },
    ]) {
      const posted = await api.call('POST', '/v2/apps', app);
      expect(posted.status).toBe(201);
      await events.deploymentDone(posted.headers['marathon-deployment-id'] as string);
    }
    events.close();
    const jobs = new ServicesClient(first.jobsPort);
    const job = { id: 'nightly', run: { cmd: 'echo nightly', cpus: 0.1, mem: 32 }, schedules: [{ id: 'at-3', cron: '0 3 * * *' }] };
    expect((await jobs.call('POST', '/v1/jobs', job)).status).toBe(201);
    // Kept in the master's registry, as agents and frameworks are: it must be back after a restart.
    expect((await new ServicesClient(first.masterPort).call('PUT', '/api/v1/weights', { services: 2 })).status).toBe(200);
    const before = await tasks(api);
    expect(before.map((t) => [t.appId, t.state])).toEqual(expect.arrayContaining([['/web', 'TASK_RUNNING'], ['/proc', 'TASK_RUNNING']]));
    expect(before).toHaveLength(3);
    const containers = await containersOf(first.agentId);
    expect(containers).toHaveLength(2);
    const processPids = pidsOf(PROCESS_CMD);
    expect(processPids).toHaveLength(1);
    const record = JSON.parse(readFileSync(join(home, 'up', 'up.json'), 'utf8')) as { servers: { redis: { pid: number }; nats: { pid: number } } };

    // SIGKILL: nothing of agora up runs its stop; its children are left to what a real kill leaves.
    await kill9(first);
    const second = await startUp();
    live.push(second);
    expect(second.out()).toContain(`stopped what an earlier agora up left running: nats (pid ${record.servers.nats.pid}), redis (pid ${record.servers.redis.pid})`);
    expect([alive(record.servers.redis.pid), alive(record.servers.nats.pid)]).toEqual([false, false]);
    expect(second.agentId).toBe(first.agentId);
    const api2 = new ServicesClient(second.servicesPort);
    // A barrier: once a new app is deployed, the framework has long had the master's answers
    // about the old tasks (it asks as it subscribes); a replacement would show by then.
    const events2 = await EventStream.open(second.servicesPort);
    const after = await api2.call('POST', '/v2/apps', { id: '/after', cmd: 'sleep 600', cpus: 0.1, mem: 16, instances: 1 });
    expect(after.status).toBe(201);
    await events2.deploymentDone(after.headers['marathon-deployment-id'] as string);
    events2.close();
    await eventually('the recovered tasks back as RUNNING', async () => (await tasks(api2)).filter((t) => t.appId !== '/after').every((t) => t.state === 'TASK_RUNNING'));
    expect((await tasks(api2)).filter((t) => t.appId !== '/after')).toEqual(before);
    expect(await containersOf(second.agentId)).toEqual(containers);   // the same containers, none launched again
    expect(pidsOf(PROCESS_CMD)).toEqual(processPids);                  // the same process
    expect((await new ServicesClient(second.masterPort).call('GET', '/api/v1/weights')).body).toMatchObject({ services: 2 });
    const jobs2 = new ServicesClient(second.jobsPort);
    const nightly = await jobs2.call<{ id: string; run: { cmd: string } }>('GET', '/v1/jobs/nightly');
    expect([nightly.status, nightly.body.run.cmd]).toEqual([200, 'echo nightly']);

    // Killed again, then --fresh: what it left is killed, and it starts empty.
    await kill9(second);
    const fresh = await startUp(['--fresh']);
    live.push(fresh);
    expect(fresh.out()).toMatch(/--fresh: the tasks an earlier run left were killed and \S+ wiped/);
    const api3 = new ServicesClient(fresh.servicesPort);
    expect((await api3.call<{ apps: unknown[] }>('GET', '/v2/apps')).body.apps).toEqual([]);
    expect((await new ServicesClient(fresh.jobsPort).call<unknown[]>('GET', '/v1/jobs')).body).toEqual([]);
    expect(fresh.agentId).not.toBe(first.agentId);
    expect(await containersOf(first.agentId)).toEqual([]);
    expect(pidsOf(PROCESS_CMD)).toEqual([]);
    fresh.child.kill('SIGTERM');
    expect(await fresh.exited).toBe(0);
    expect(existsSync(join(home, 'up', 'up.json'))).toBe(false);
    clean = true;
  });
});
