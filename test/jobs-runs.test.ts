/**
 * The jobs framework against a real master, agent, Docker Engine and Redis: a job on a short
 * period runs at each occurrence and keeps each run's history and logs; A → B → C with B
 * failing once and succeeding on retry, C only after B's success; FORBID skips an occurrence
 * while the previous run goes on, REPLACE kills it. Each test waits on the framework's
 * events (`/v1/events`), never on the wall clock.
 */
import { parseChronosJob, parseMetronomeJob, type Job } from '../frameworks/jobs/job';
import type { RunRecord } from '../frameworks/jobs/history';
import { readSandbox, startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { startTestJobs, type TestJobs } from './support/jobs';

let cluster: TestCluster;
let t: TestJobs;

beforeAll(async () => {
  cluster = await startCluster({ containerizer: 'docker', agents: 1, resources: 'cpus:4;mem:2048;disk:4096;ports:[31000-31099]' });
  t = await startTestJobs(cluster);
});

afterAll(async () => {
  await t?.stop();
  await cluster?.stop();
});

function chronos(json: Record<string, unknown>): Job {
  const r = parseChronosJob({ cpus: 0.1, mem: 32, container: { type: 'DOCKER', image: TEST_IMAGE }, ...json }, Date.now());
  if (!r.ok) throw new Error(JSON.stringify(r.details));
  return r.job;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A run as `GET /v1/jobs/{id}/history` shows it: Metronome's JobRun, Agora's fields under `agora`. */
interface HistoryRun {
  id: string;
  status: string;
  completedAt: string | null;
  agora: { trigger: string; scheduledAt?: string; startedAt?: string; exitCode?: number; attempts: { taskId: string; agentId: string; state: string; exitCode?: number }[]; logs: { stdout: string }[] };
}
const ended = (r: RunRecord) => r.state === 'SUCCESS' || r.state === 'FAILED';

it('runs a job on a 3-second period at each occurrence, each run in its history with its task, agent and output', async () => {
  const start = Math.ceil(Date.now() / 1000) * 1000 + 2000;
  await t.jobs.framework.putJob(chronos({
    name: 'tick', schedule: `R/${iso(start)}/PT3S`, concurrent: true, command: 'echo "tick for $AGORA_SCHEDULED_AT attempt $AGORA_RUN_ATTEMPT"',
  }), 'create');
  const third = await t.events.run('tick', (r) => r.scheduledAt === start + 6000 && ended(r));
  await t.jobs.framework.putJob({ ...t.jobs.framework.state.jobs.get('tick')!, disabled: true }, 'replace');
  const runs = t.events.runs('tick').filter((r) => r.scheduledAt! <= third.scheduledAt!);
  // One run per occurrence, none skipped, none twice.
  expect(runs.map((r) => r.scheduledAt)).toEqual([start, start + 3000, start + 6000]);
  // The history, as the API gives it (newest first), with each run's output behind its log link.
  const history = await t.api.call<{ runs: HistoryRun[]; stats: { successCount: number } }>('GET', '/v1/jobs/tick/history');
  const shown = history.body.runs.filter((r) => Date.parse(r.agora.scheduledAt!) <= start + 6000).reverse();
  expect(shown.map((r) => r.agora.scheduledAt)).toEqual([iso(start), iso(start + 3000), iso(start + 6000)]);
  expect(history.body.stats.successCount).toBeGreaterThanOrEqual(3);
  const frameworkId = t.jobs.framework.state.frameworkId!;
  for (const [k, r] of shown.entries()) {
    expect(r).toMatchObject({ status: 'SUCCESS', agora: { trigger: 'schedule', exitCode: 0 } });
    expect(Date.parse(r.agora.startedAt!)).toBeGreaterThanOrEqual(start + 3000 * k);
    expect(Date.parse(r.completedAt!)).toBeGreaterThanOrEqual(Date.parse(r.agora.startedAt!));
    expect(r.agora.attempts).toEqual([expect.objectContaining({ agentId: cluster.agents[0]!.agentId, state: 'TASK_FINISHED', exitCode: 0 })]);
    const logs = await t.api.call('GET', r.agora.logs[0]!.stdout);
    expect(logs.status).toBe(200);
    expect(logs.text).toContain(`tick for ${iso(start + 3000 * k)} attempt 1`);
    expect(logs.text).toBe(await readSandbox(cluster, frameworkId, r.agora.attempts[0]!.taskId, 'stdout'));
  }
});

it('runs A → B → C: B fails once and succeeds on its retry, and C runs only after B succeeded', async () => {
  const f = t.jobs.framework;
  await f.putJob(chronos({ name: 'a', schedule: `R1//PT1H`, command: 'echo a' }), 'create');
  await f.putJob(chronos({ name: 'b', parents: ['a'], retries: 1, command: 'echo "b attempt $AGORA_RUN_ATTEMPT"; [ "$AGORA_RUN_ATTEMPT" -ge 2 ]' }), 'create');
  await f.putJob(chronos({ name: 'c', parents: ['b'], command: 'echo c' }), 'create');
  const c = await t.events.run('c', ended);
  const b = f.runsOf('b')[0]!;
  const a = f.runsOf('a')[0]!;
  expect(a).toMatchObject({ state: 'SUCCESS', trigger: 'schedule' });
  expect(b).toMatchObject({ state: 'SUCCESS', trigger: 'parents' });
  expect(b.attempts.map((x) => [x.state, x.exitCode])).toEqual([['TASK_FAILED', 1], ['TASK_FINISHED', 0]]);
  expect(c).toMatchObject({ state: 'SUCCESS', trigger: 'parents' });
  expect(b.createdAt).toBeGreaterThanOrEqual(a.endedAt!);
  expect(c.createdAt).toBeGreaterThanOrEqual(b.endedAt!);
  // B's failed attempt let nothing go: C was made once, after B's success.
  expect(t.events.runs('c')).toHaveLength(1);
  expect(f.state.dag.triggeredAt).toMatchObject({ b: a.endedAt, c: b.endedAt });
  await expect(f.putJob(chronos({ name: 'a', parents: ['c'] }), 'replace')).rejects.toThrow('the dependencies would form a cycle: a → b → c → a');
  expect(f.state.jobs.get('a')!.parents).toEqual([]);
});

it('FORBID skips an occurrence while the previous run is going; REPLACE kills that run and starts anew', async () => {
  const f = t.jobs.framework;
  // Every 5 s: a policy is a schedule's, and cron counts minutes; the model takes any period.
  const start = Math.ceil(Date.now() / 1000) * 1000 + 2000;
  const job = (id: string, policy: 'FORBID' | 'REPLACE'): Job => {
    const r = parseMetronomeJob({ id, run: { cmd: 'sleep 600', cpus: 0.1, mem: 32, docker: { image: TEST_IMAGE } } });
    if (!r.ok) throw new Error(JSON.stringify(r.details));
    return { ...r.job, schedule: { kind: 'iso8601', expression: `R/${iso(start)}/PT5S`, timeZone: 'UTC', concurrencyPolicy: policy, startingDeadlineSeconds: 60, enabled: true } };
  };
  await f.putJob(job('forbid', 'FORBID'), 'create');
  await f.putJob(job('replace', 'REPLACE'), 'create');
  const first = await t.events.run('forbid', (r) => r.scheduledAt === start && r.state === 'ACTIVE');
  const old = await t.events.run('replace', (r) => r.scheduledAt === start && r.state === 'ACTIVE');

  const skipped = await t.events.run('forbid', (r) => r.scheduledAt === start + 5000);
  expect(skipped).toMatchObject({ state: 'SKIPPED', message: `concurrencyPolicy FORBID: run ${first.runId} still going`, attempts: [] });
  expect(f.runsOf('forbid').find((r) => r.runId === first.runId)!.state).toBe('ACTIVE');

  const successor = await t.events.run('replace', (r) => r.scheduledAt === start + 5000);
  const killed = await t.events.run('replace', (r) => r.runId === old.runId && ended(r));
  expect(killed).toMatchObject({ state: 'FAILED', message: `replaced by run ${successor.runId} (concurrencyPolicy REPLACE, occurrence ${iso(start + 5000)})` });
  expect(killed.attempts.map((a) => a.state)).toEqual(['TASK_KILLED']);
  await t.events.run('replace', (r) => r.runId === successor.runId && r.state === 'ACTIVE');

  for (const id of ['forbid', 'replace']) {
    await f.putJob({ ...f.state.jobs.get(id)!, disabled: true }, 'replace');
    await f.killJob(id);
  }
  await t.events.run('forbid', (r) => r.runId === first.runId && ended(r));
});
