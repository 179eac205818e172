/**
 * `agora jobs`, the real process, killed with SIGKILL — just before an occurrence, and while a
 * run is going — and started again on the same Redis: each occurrence runs once (not zero
 * times, not twice), and the dependency state it had is still there.
 */
import { spawn, type ChildProcess } from 'child_process';
import { existsSync } from 'fs';
import { join } from 'path';
import { startRedisServer, type RedisServer } from '../common/redis-server';
import type { RunRecord } from '../frameworks/jobs/history';
import { startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { ApiClient, JobsEvents } from './support/jobs';

const BIN = join(__dirname, '..', 'dist', 'cli', 'agora.js');

let cluster: TestCluster;
let redis: RedisServer;
let child: ChildProcess | undefined;
/** The port the jobs process serves on, kept across its restarts. */
let jobsPort = 0;

beforeAll(async () => {
  cluster = await startCluster({ containerizer: 'docker', agents: 1 });
  redis = await startRedisServer();
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await redis?.stop();
  await cluster?.stop();
});

/** Starts `agora jobs` on `port` (0: any); resolves with its port once it serves. */
function startJobsProcess(port = 0): Promise<number> {
  const p = spawn(process.execPath, [BIN, 'jobs', '--master', cluster.masterAddr, '--redis', redis.url, '--host', '127.0.0.1', '--port', String(port), '--retry-delay-ms', '200'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGORA_LOG: 'warn' },
  });
  child = p;
  let out = '';
  return new Promise((resolve, reject) => {
    p.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /REST APIs and UI on port (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    p.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    p.once('exit', (code) => reject(new Error(`agora jobs exited (${code}):\n${out}`)));
  });
}

function sigkill(p: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    p.removeAllListeners('exit');
    p.once('exit', () => resolve());
    p.kill('SIGKILL');
  });
}

const ended = (r: RunRecord) => r.state === 'SUCCESS' || r.state === 'FAILED';
const job = (name: string, extra: Record<string, unknown>) => ({
  name, command: `echo ${name}`, cpus: 0.1, mem: 32, container: { type: 'DOCKER', image: TEST_IMAGE }, ...extra,
});

async function tasksOf(jobId: string): Promise<string[]> {
  return (await cluster.state()).tasks.map((t) => t.id).filter((id) => id.startsWith(`${jobId}.`));
}

it('runs an occurrence once when killed just before it, and keeps the dependency state', async () => {
  expect(existsSync(BIN)).toBe(true);   // built by `npm test` before jest runs
  const port = jobsPort = await startJobsProcess();
  const api = new ApiClient(port);
  let events = await JobsEvents.open(port);
  // p succeeds first: the child's dependency on it is then satisfied, in Redis.
  expect((await api.call('POST', '/v1/scheduler/iso8601', job('p', { schedule: 'R1//PT1H' }))).status).toBe(204);
  await events.run('p', (r) => r.state === 'SUCCESS');
  const occurrence = Math.ceil(Date.now() / 1000) * 1000 + 3000;
  expect((await api.call('POST', '/v1/scheduler/iso8601', job('q', { schedule: `R1/${new Date(occurrence).toISOString()}/PT1H` }))).status).toBe(204);
  expect((await api.call('POST', '/v1/scheduler/dependency', job('child', { parents: ['p', 'q'] }))).status).toBe(204);
  events.close();
  await sigkill(child!);
  expect(Date.now()).toBeLessThan(occurrence);   // killed before q was due

  // Down across the occurrence (a schedule is wall-clock time), then back on the same port.
  await new Promise((r) => setTimeout(r, occurrence + 500 - Date.now()));
  await startJobsProcess(port);
  events = await JobsEvents.open(port);
  const q = await events.run('q', ended);
  expect(q).toMatchObject({ state: 'SUCCESS', scheduledAt: occurrence, trigger: 'schedule' });
  // The child ran on q's success alone: p's, from before the kill, was still counted.
  const c = await events.run('child', ended);
  expect(c).toMatchObject({ state: 'SUCCESS', trigger: 'parents' });

  const history = await api.call<{ runs: { id: string }[] }>('GET', '/v1/jobs/q/history');
  expect(history.body.runs.map((r) => r.id)).toEqual([q.runId]);
  expect(await tasksOf('q')).toEqual([q.attempts[0]!.taskId]);
  events.close();
}, 60_000);

it('does not run a going run again when killed while it runs: the run ends once, as its task did', async () => {
  const port = jobsPort;
  const api = new ApiClient(port);
  let events = await JobsEvents.open(port);
  expect((await api.call('POST', '/v1/scheduler/iso8601', job('r', { schedule: 'R1//PT1H', command: 'sleep 3; echo r done' }))).status).toBe(204);
  const going = await events.run('r', (r) => r.state === 'ACTIVE');
  events.close();
  await sigkill(child!);
  await startJobsProcess(port);
  events = await JobsEvents.open(port);
  // The task finished while no framework listened; its update waited at the agent.
  const done = await events.run('r', ended);
  expect(done).toMatchObject({ runId: going.runId, state: 'SUCCESS', exitCode: 0 });
  expect(done.attempts.map((a) => a.taskId)).toEqual([going.attempts[0]!.taskId]);
  const history = await api.call<{ runs: { id: string }[] }>('GET', '/v1/jobs/r/history');
  expect(history.body.runs.map((r) => r.id)).toEqual([going.runId]);
  expect(await tasksOf('r')).toEqual([going.attempts[0]!.taskId]);
  events.close();
}, 60_000);
