/**
 * The jobs framework's Metronome API (`/v1/jobs`) and Agora's additions to it (a job's run
 * history, a run's output), on a real cluster of one process agent, with Redis: every
 * endpoint's status and answer field by field, and every refusal leaving Redis as it was.
 * Runs are waited for on `/v1/events`, never on the clock.
 */
import type { RunRecord } from '../frameworks/jobs/history';
import { eventually, type TestCluster } from './support/cluster';
import { storedState, withJobsOnOneAgent } from './support/jobs-api';
import type { TestJobs } from './support/jobs';

jest.setTimeout(60_000);

let cluster: TestCluster;
let t: TestJobs;
withJobsOnOneAgent((c, s) => { cluster = c; t = s; });

type Body = Record<string, unknown>;
const call = <T = Body>(method: string, path: string, body?: unknown) => t.api.call<T>(method, path, body);
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
/** Next 1 January, 00:00 UTC: a schedule that does not fire during the test. */
const NEW_YEAR = '0 0 1 1 *';
const nextNewYear = (): string => `${new Date().getUTCFullYear() + 1}-01-01T00:00:00.000Z`;
const small = (id: string, cmd: string, more: Body = {}): Body => ({ id, run: { cmd, cpus: 0.1, mem: 32 }, ...more });
/** A request that must be refused: the answer, and Redis exactly as before it. */
const refused = async <T = Body>(method: string, path: string, body?: unknown) => {
  const before = await storedState(t);
  const answer = await call<T>(method, path, body);
  expect(await storedState(t)).toEqual(before);
  return answer;
};
const runDone = (jobId: string, runId: string, state: RunRecord['state']) => t.events.run(jobId, (r) => r.runId === runId && r.state === state);

describe('/v1/jobs', () => {
  const nightly = {
    id: 'reports.nightly', description: 'the nightly report', labels: { team: 'data' },
    run: { cmd: 'echo hello-from-job', cpus: 0.1, mem: 32 },
    schedules: [{ id: 'default', cron: NEW_YEAR, timezone: 'UTC' }],
  };

  it('GET /metrics before anything: no jobs, no runs, connected under its framework id', async () => {
    const m = await call('GET', '/metrics');
    expect(m.status).toBe(200);
    expect(m.body).toEqual({
      jobs: 0, scheduled: 0, activeRuns: 0, runs: { success: 0, failed: 0, missed: 0, skipped: 0 },
      connected: true, frameworkId: t.jobs.framework.state.frameworkId, store: 'available',
    });
    expect(t.jobs.framework.state.frameworkId).toEqual(expect.any(String));
  });

  it('POST: 201 with the job as Metronome writes it, its defaults filled in, and a Location', async () => {
    const created = await call('POST', '/v1/jobs', nightly);
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe('/v1/jobs/reports.nightly');
    expect(created.body).toEqual({
      id: 'reports.nightly', description: 'the nightly report', labels: { team: 'data' },
      run: { cmd: 'echo hello-from-job', cpus: 0.1, mem: 32, disk: 0, gpus: 0, env: {}, maxLaunchDelay: 3600, placement: { constraints: [] }, restart: { policy: 'NEVER' } },
      schedules: [{ id: 'default', cron: NEW_YEAR, timezone: 'UTC', concurrencyPolicy: 'ALLOW', startingDeadlineSeconds: 900, enabled: true }],
      dependencies: [],
    });
    expect((await call('GET', '/v1/jobs/reports.nightly')).body).toEqual(created.body);
  });

  it('POST of an id that exists: 409 naming it, nothing changed', async () => {
    const again = await refused('POST', '/v1/jobs', { ...nightly, description: 'another' });
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ message: "Job with id 'reports.nightly' already exists" });
  });

  it('POST of a malformed cron, an unknown time zone, negative cpus: 422 naming each field, nothing stored', async () => {
    const cron = await refused('POST', '/v1/jobs', small('bad.cron', 'true', { schedules: [{ cron: '61 * * * *' }] }));
    expect(cron.status).toBe(422);
    expect(cron.body).toEqual({ message: 'Object is not valid', details: [{ path: '/schedules(0)/cron', errors: [expect.stringContaining('61')] }] });
    const zone = await refused('POST', '/v1/jobs', small('bad.zone', 'true', { schedules: [{ cron: NEW_YEAR, timezone: 'Mars/Olympus' }] }));
    expect(zone.status).toBe(422);
    expect(zone.body).toEqual({
      message: 'Object is not valid',
      details: [{ path: '/schedules(0)/timezone', errors: ["'Mars/Olympus' is not a time zone (an IANA name such as Europe/Berlin or UTC)"] }],
    });
    const cpus = await refused('POST', '/v1/jobs', { id: 'bad.cpus', run: { cmd: 'true', cpus: -1 } });
    expect(cpus.status).toBe(422);
    expect(cpus.body).toEqual({ message: 'Object is not valid', details: [{ path: '/run/cpus', errors: ['must be at least 0.01, got -1'] }] });
    expect((await call<Body[]>('GET', '/v1/jobs')).body.map((j) => j.id)).toEqual(['reports.nightly']);
  });

  it('POST of a malformed job: 422 with the JSON path of each wrong field and what was wrong there, nothing stored', async () => {
    const bad = await refused('POST', '/v1/jobs', {
      id: 'bad.shape', run: { cmd: 'true', mem: '64', docker: { image: 5 }, restart: { policy: 'ALWAYS' } }, schedules: [{ cron: NEW_YEAR, enabled: 'yes' }],
    });
    expect(bad.status).toBe(422);
    expect(bad.body).toEqual({
      message: 'Object is not valid',
      details: [
        { path: '/run/mem', errors: ['expected a number, got "64"'] },
        { path: '/run/docker/image', errors: ['expected a string, got 5'] },
        { path: '/run/restart/policy', errors: ["'ALWAYS' is not NEVER or ON_FAILURE"] },
        { path: '/schedules(0)/enabled', errors: ['expected true or false, got "yes"'] },
      ],
    });
    const noRun = await refused('POST', '/v1/jobs', { id: 'bad.run' });
    expect(noRun.body).toEqual({ message: 'Object is not valid', details: [{ path: '/run', errors: ['a job needs run: {cmd, cpus, mem, …}'] }] });
    expect((await call<Body[]>('GET', '/v1/jobs')).body.map((j) => j.id)).toEqual(['reports.nightly']);
  });

  it('POST of a body that is not JSON: 400 Invalid JSON, nothing stored', async () => {
    const bad = await refused('POST', '/v1/jobs', '{"id": "broken",');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe('Invalid JSON');
  });

  it('a missing parent, or dependencies that would form a cycle: 422 at /dependencies naming them, nothing changed', async () => {
    const orphan = await refused('POST', '/v1/jobs', small('chain.b', 'true', { dependencies: [{ id: 'chain.a' }] }));
    expect(orphan.status).toBe(422);
    expect(orphan.body).toEqual({ message: 'Object is not valid', details: [{ path: '/dependencies', errors: ["parent 'chain.a' of 'chain.b' does not exist"] }] });
    expect((await call('POST', '/v1/jobs', small('chain.a', 'true'))).status).toBe(201);
    expect((await call('POST', '/v1/jobs', small('chain.b', 'true', { dependencies: [{ id: 'chain.a' }] }))).status).toBe(201);
    const cycle = await refused('PUT', '/v1/jobs/chain.a', small('chain.a', 'true', { dependencies: [{ id: 'chain.b' }] }));
    expect(cycle.status).toBe(422);
    expect(cycle.body).toEqual({ message: 'Object is not valid', details: [{ path: '/dependencies', errors: [expect.stringMatching(/cycle: chain\.(a → chain\.b → chain\.a|b → chain\.a → chain\.b)$/)] }] });
  });

  it('GET /v1/jobs/{id} of no job: 404 naming it', async () => {
    const missing = await call('GET', '/v1/jobs/no.such.job');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ id: 'no.such.job', message: "Job 'no.such.job' does not exist" });
  });

  it('GET /v1/jobs: every job sorted by id; an unknown embed is 400 naming the ones there are', async () => {
    const all = await call<Body[]>('GET', '/v1/jobs');
    expect(all.status).toBe(200);
    expect(all.body.map((j) => j.id)).toEqual(['chain.a', 'chain.b', 'reports.nightly']);
    expect(all.body[1]).toMatchObject({ id: 'chain.b', dependencies: [{ id: 'chain.a' }] });
    const bad = await call('GET', '/v1/jobs?embed=tasks');
    expect(bad.status).toBe(400);
    expect(bad.body.message).toBe("unknown embed 'tasks': choose from activeRuns, schedules, history, historySummary, agora");
  });

  it('GET /v1/jobs?embed=schedules gives each schedule its nextRunAt; embed=agora what a JobSpec cannot say', async () => {
    const one = await call<Body>('GET', '/v1/jobs/reports.nightly?embed=schedules&embed=agora');
    expect(one.body).toMatchObject({
      schedules: [{ id: 'default', cron: NEW_YEAR, nextRunAt: nextNewYear() }],
      agora: { dialect: 'metronome', disabled: false, nextRunAt: nextNewYear(), schedule: { kind: 'cron', expression: NEW_YEAR, timeZone: 'UTC' } },
    });
    const plain = await call<Body>('GET', '/v1/jobs/reports.nightly');
    expect(plain.body.agora).toBeUndefined();
    expect((plain.body.schedules as Body[])[0]!.nextRunAt).toBeUndefined();
  });

  it('PUT: a body whose id is not the path\'s is 422 at /id; an unknown job 404 and not created', async () => {
    const other = await refused('PUT', '/v1/jobs/reports.nightly', { ...nightly, id: 'reports.other' });
    expect(other.status).toBe(422);
    expect(other.body).toEqual({ message: 'Object is not valid', details: [{ path: '/id', errors: ["the body's id \"reports.other\" is not the job's id in the path, 'reports.nightly'"] }] });
    const missing = await refused('PUT', '/v1/jobs/reports.missing', small('reports.missing', 'true'));
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ message: "Job 'reports.missing' does not exist" });
  });

  it('PUT: 200 with the job replaced; without schedules in the body the stored schedule stays (Metronome keeps it)', async () => {
    const { schedules: _, id: __, ...noSchedules } = nightly;
    const put = await call('PUT', '/v1/jobs/reports.nightly', { ...noSchedules, run: { cmd: 'echo changed', cpus: 0.2, mem: 64 } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ id: 'reports.nightly', run: { cmd: 'echo changed', cpus: 0.2, mem: 64 }, schedules: [{ id: 'default', cron: NEW_YEAR }] });
    expect((await call('GET', '/v1/jobs/reports.nightly')).body).toEqual(put.body);
  });

  it('DELETE of a job others depend on: 409 naming them; of no job: 404; else 200 with the job, gone', async () => {
    const parent = await refused('DELETE', '/v1/jobs/chain.a');
    expect(parent.status).toBe(409);
    expect(parent.body).toEqual({ message: "Job 'chain.a' cannot be deleted: 'chain.b' depends on it" });
    expect((await refused('DELETE', '/v1/jobs/chain.none')).status).toBe(404);
    const child = await call('DELETE', '/v1/jobs/chain.b');
    expect(child.status).toBe(200);
    expect(child.body).toMatchObject({ id: 'chain.b', dependencies: [{ id: 'chain.a' }] });
    expect((await call('GET', '/v1/jobs/chain.b')).status).toBe(404);
    expect((await call('DELETE', '/v1/jobs/chain.a')).status).toBe(200);
  });
});

describe('/v1/jobs/{id}/schedules (one a job, its id as given or "default")', () => {
  const job = 'sched.job';
  const base = `/v1/jobs/${job}/schedules`;

  it('a job without one: GET [] and GET /default 404; POST of a bad cron or zone 422 at /cron or /timezone, nothing stored', async () => {
    expect((await call('POST', '/v1/jobs', small(job, 'true'))).status).toBe(201);
    expect((await call('GET', base)).body).toEqual([]);
    const none = await call('GET', `${base}/default`);
    expect(none.status).toBe(404);
    expect(none.body).toEqual({ id: 'default', message: "Job 'sched.job' has no schedule 'default'" });
    const cron = await refused('POST', base, { id: 'default', cron: '* * *' });
    expect(cron.status).toBe(422);
    expect(cron.body).toMatchObject({ message: 'Object is not valid', details: [{ path: '/cron' }] });
    const zone = await refused('POST', base, { id: 'default', cron: NEW_YEAR, timezone: 'Nowhere/Land' });
    expect(zone.status).toBe(422);
    expect(zone.body).toMatchObject({ details: [{ path: '/timezone' }] });
    expect((await refused('POST', '/v1/jobs/sched.none/schedules', { id: 'default', cron: NEW_YEAR })).status).toBe(404);
  });

  it('POST: 201 with the schedule, Metronome\'s defaults filled in; a second POST 409; GET lists and names it; the next run is due', async () => {
    const created = await call('POST', base, { id: 'default', cron: NEW_YEAR, timezone: 'UTC', concurrencyPolicy: 'FORBID' });
    expect(created.status).toBe(201);
    const schedule = { id: 'default', cron: NEW_YEAR, timezone: 'UTC', concurrencyPolicy: 'FORBID', startingDeadlineSeconds: 900, enabled: true };
    expect(created.body).toEqual(schedule);
    const second = await refused('POST', base, { id: 'other', cron: NEW_YEAR });
    expect(second.status).toBe(409);
    expect(second.body).toEqual({ message: `Job '${job}' already has a schedule: Agora keeps one a job; change it with PUT /v1/jobs/${job}/schedules/default` });
    expect((await call('GET', base)).body).toEqual([schedule]);
    expect((await call('GET', `${base}/default`)).body).toEqual(schedule);
    expect((await call('GET', `/v1/jobs/${job}/history`)).body).toMatchObject({ runs: [], nextRunAt: nextNewYear() });
  });

  it('PUT /{sid}: a bad cron 422 and unchanged; a good one 200, the job\'s schedule replaced', async () => {
    const bad = await refused('PUT', `${base}/default`, { cron: '0 0 31 2 * x' });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ details: [{ path: '/cron' }] });
    const put = await call('PUT', `${base}/default`, { cron: '0 0 1 1 *', timezone: 'Europe/Berlin' });
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ id: 'default', cron: '0 0 1 1 *', timezone: 'Europe/Berlin', concurrencyPolicy: 'ALLOW', startingDeadlineSeconds: 900, enabled: true });
    expect((await call('GET', `/v1/jobs/${job}`)).body).toMatchObject({ schedules: [put.body] });
    // Midnight on 1 January in Berlin is 23:00 UTC the day before.
    expect((await call('GET', `/v1/jobs/${job}/history`)).body.nextRunAt).toBe(`${new Date().getUTCFullYear()}-12-31T23:00:00.000Z`);
  });

  it('DELETE /{sid}: 200, the job has no schedule and no next run; again: 404', async () => {
    const del = await call('DELETE', `${base}/default`);
    expect(del.status).toBe(200);
    expect((await call('GET', base)).body).toEqual([]);
    expect((await call('GET', `/v1/jobs/${job}/history`)).body.nextRunAt).toBeNull();
    expect((await refused('DELETE', `${base}/default`)).status).toBe(404);
  });

  it('keeps the id a schedule was given: it answers to that id, and not to another', async () => {
    const created = await call('POST', base, { id: 'nightly', cron: NEW_YEAR });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ id: 'nightly' });
    expect((await call('GET', `${base}/nightly`)).body).toMatchObject({ id: 'nightly', cron: NEW_YEAR });
    expect((await refused('GET', `${base}/default`)).status).toBe(404);
    expect((await refused('PUT', `${base}/default`, { cron: NEW_YEAR })).status).toBe(404);
    expect((await call('GET', `/v1/jobs/${job}`)).body).toMatchObject({ schedules: [{ id: 'nightly' }] });
    expect((await call('DELETE', `${base}/nightly`)).status).toBe(200);
  });
});

describe('/v1/jobs/{id}/runs, the history and the logs', () => {
  const job = 'hello';
  let runId = '';
  let done: RunRecord;

  it('POST /runs: 201 with the run, INITIAL until launched, and a Location; it ends SUCCESS', async () => {
    expect((await call('POST', '/v1/jobs', small(job, 'echo hello-from-job'))).status).toBe(201);
    const started = await call('POST', `/v1/jobs/${job}/runs`);
    expect(started.status).toBe(201);
    runId = started.body.id as string;
    expect(started.headers.location).toBe(`/v1/jobs/${job}/runs/${runId}`);
    expect(started.body).toEqual({
      id: runId, jobId: job, status: 'INITIAL', createdAt: expect.stringMatching(ISO), completedAt: null, tasks: [],
      agora: { state: 'STARTING', trigger: 'manual', scheduledAt: null, startedAt: null, message: null, exitCode: null, attempts: [], logs: [] },
    });
    done = await runDone(job, runId, 'SUCCESS');
    expect(done.attempts).toHaveLength(1);
  });

  it('GET /runs/{runId}: Metronome\'s JobRun — SUCCESS, its task FINISHED — and Agora\'s attempts, exit code and log links', async () => {
    const got = await call('GET', `/v1/jobs/${job}/runs/${runId}`);
    expect(got.status).toBe(200);
    const a = done.attempts[0]!;
    const agentId = (await cluster.state()).agents[0]!.id;
    expect(got.body).toEqual({
      id: runId, jobId: job, status: 'SUCCESS', createdAt: new Date(done.createdAt!).toISOString(), completedAt: new Date(done.endedAt!).toISOString(),
      tasks: [{ id: a.taskId, status: 'TASK_FINISHED', startedAt: new Date(a.startedAt).toISOString(), completedAt: new Date(a.endedAt!).toISOString() }],
      agora: {
        state: 'SUCCESS', trigger: 'manual', scheduledAt: null, startedAt: new Date(done.startedAt!).toISOString(), message: null, exitCode: 0,
        attempts: [{
          attempt: 1, taskId: a.taskId, agentId, hostname: '127.0.0.1', state: 'TASK_FINISHED', startedAt: new Date(a.startedAt).toISOString(),
          runningAt: new Date(a.runningAt!).toISOString(), endedAt: new Date(a.endedAt!).toISOString(), exitCode: 0, message: a.message ?? null,
        }],
        logs: [{ attempt: 1, stdout: `/v1/jobs/${job}/runs/${runId}/logs?file=stdout&attempt=1`, stderr: `/v1/jobs/${job}/runs/${runId}/logs?file=stderr&attempt=1` }],
      },
    });
    const none = await call('GET', `/v1/jobs/${job}/runs/nope`);
    expect(none.status).toBe(404);
    expect(none.body).toEqual({ message: "Job 'hello' has no run 'nope'" });
  });

  it('GET /runs: the active runs (none now); ?all=true every stored run', async () => {
    expect((await call('GET', `/v1/jobs/${job}/runs`)).body).toEqual([]);
    const all = await call<Body[]>('GET', `/v1/jobs/${job}/runs?all=true`);
    expect(all.body.map((r) => [r.id, r.status])).toEqual([[runId, 'SUCCESS']]);
    expect((await call('GET', '/v1/jobs/nobody/runs')).status).toBe(404);
    expect((await refused('POST', '/v1/jobs/nobody/runs')).status).toBe(404);
  });

  it('the logs link: the command\'s stdout as text/plain (stderr empty); a missing attempt 404, a bad file 400', async () => {
    const out = await call('GET', `/v1/jobs/${job}/runs/${runId}/logs?file=stdout&attempt=1`);
    expect(out.status).toBe(200);
    expect(out.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(out.text).toBe('hello-from-job\n');
    expect((await call('GET', `/v1/jobs/${job}/runs/${runId}/logs`)).text).toBe('hello-from-job\n');   // the last attempt, stdout
    const err = await call('GET', `/v1/jobs/${job}/runs/${runId}/logs?file=stderr`);
    expect([err.status, err.text]).toEqual([200, '']);
    const second = await call('GET', `/v1/jobs/${job}/runs/${runId}/logs?attempt=2`);
    expect(second.status).toBe(404);
    expect(second.body).toEqual({ message: `Run '${runId}' of job 'hello' has no attempt 2: it has attempt 1` });
    const file = await call('GET', `/v1/jobs/${job}/runs/${runId}/logs?file=../secret`);
    expect([file.status, file.body]).toEqual([400, { message: "file must be stdout or stderr, got '../secret'" }]);
  });

  it('embeds: history (counts, last times, finished runs with their tasks), historySummary and activeRuns', async () => {
    const listed = await call<Body[]>('GET', '/v1/jobs?embed=history&embed=historySummary,activeRuns');
    const hello = listed.body.find((j) => j.id === job)!;
    const summary = { successCount: 1, failureCount: 0, lastSuccessAt: new Date(done.endedAt!).toISOString(), lastFailureAt: null };
    expect(hello.historySummary).toEqual(summary);
    expect(hello.history).toEqual({
      ...summary,
      successfulFinishedRuns: [{ id: runId, createdAt: new Date(done.createdAt!).toISOString(), finishedAt: new Date(done.endedAt!).toISOString(), tasks: [done.attempts[0]!.taskId] }],
      failedFinishedRuns: [],
    });
    expect(hello.activeRuns).toEqual([]);
    const plain = (await call<Body[]>('GET', '/v1/jobs')).body.find((j) => j.id === job)!;
    expect(Object.keys(plain).sort()).toEqual(['dependencies', 'description', 'id', 'labels', 'run', 'schedules']);
  });

  it('GET /history: every stored run newest first, the stats, no next run without a schedule; /metrics counts the success', async () => {
    const h = await call('GET', `/v1/jobs/${job}/history`);
    expect(h.status).toBe(200);
    const seconds = (done.endedAt! - done.startedAt!) / 1000;
    expect(h.body).toEqual({
      runs: [(await call('GET', `/v1/jobs/${job}/runs/${runId}`)).body],
      stats: { successCount: 1, errorCount: 0, lastSuccess: new Date(done.endedAt!).toISOString(), lastError: null, durationP50Seconds: seconds, durationP95Seconds: seconds },
      nextRunAt: null,
    });
    expect((await call('GET', '/v1/jobs/nobody/history')).status).toBe(404);
    expect((await call('GET', '/metrics')).body).toMatchObject({ jobs: 3, scheduled: 1, activeRuns: 0, runs: { success: 1, failed: 0, missed: 0, skipped: 0 } });
  });
});

describe('stopping runs', () => {
  const job = 'sleeper';

  it('a running run: listed as ACTIVE; the job cannot be deleted; POST …/actions/stop 200 and it ends FAILED, "stopped on request"', async () => {
    expect((await call('POST', '/v1/jobs', small(job, 'sleep 600'))).status).toBe(201);
    const runId = (await call('POST', `/v1/jobs/${job}/runs`)).body.id as string;
    await runDone(job, runId, 'ACTIVE');
    expect((await call<Body[]>('GET', `/v1/jobs/${job}/runs`)).body.map((r) => [r.id, r.status])).toEqual([[runId, 'ACTIVE']]);
    expect(((await call('GET', `/v1/jobs/${job}?embed=activeRuns`)).body.activeRuns as Body[]).map((r) => r.id)).toEqual([runId]);
    const busy = await refused('DELETE', `/v1/jobs/${job}`);
    expect(busy.status).toBe(409);
    expect(busy.body).toEqual({ message: "Job 'sleeper' has 1 active run. Override with stopCurrentJobRuns=true" });

    const stop = await call('POST', `/v1/jobs/${job}/runs/${runId}/actions/stop`);
    expect(stop.status).toBe(200);
    expect(stop.body).toMatchObject({ id: runId, status: 'ACTIVE', agora: { stopRequested: 'stopped on request' } });
    const failed = await runDone(job, runId, 'FAILED');
    expect(failed.message).toBe('stopped on request');
    expect((await call('GET', `/v1/jobs/${job}/runs/${runId}`)).body).toMatchObject({ status: 'FAILED', completedAt: expect.stringMatching(ISO) });
    const again = await refused('POST', `/v1/jobs/${job}/runs/${runId}/actions/stop`);
    expect(again.status).toBe(404);
    expect(again.body).toEqual({ message: `Job 'sleeper' has no active run '${runId}'` });
  });

  it('DELETE ?stopCurrentJobRuns=true with a run going: 200, the job gone and its task killed', async () => {
    const runId = (await call('POST', `/v1/jobs/${job}/runs`)).body.id as string;
    const active = await runDone(job, runId, 'ACTIVE');
    const del = await call('DELETE', `/v1/jobs/${job}?stopCurrentJobRuns=true`);
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ id: job, run: { cmd: 'sleep 600' } });
    expect((await call('GET', `/v1/jobs/${job}`)).status).toBe(404);
    const taskId = active.attempts[0]!.taskId;
    // Its record went with the job: nothing reports the kill to the API, so the master is asked.
    await eventually(`task ${taskId} killed`, async () => (await cluster.state()).tasks.find((x) => x.id === taskId)?.state === 'TASK_KILLED');
  });
});

describe('routing', () => {
  it('/ping is pong; /v1/info names the framework; an unknown path 404 JSON; a known path under another method 405 with Allow', async () => {
    expect((await call('GET', '/ping')).text).toBe('pong');
    expect((await call('GET', '/v1/info')).body).toMatchObject({ name: 'agora-jobs', frameworkId: t.jobs.framework.state.frameworkId, store: 'redis' });
    const unknown = await call('GET', '/v1/nothing');
    expect([unknown.status, unknown.body]).toEqual([404, { message: 'no route for GET /v1/nothing' }]);
    const wrong = await call('DELETE', '/v1/jobs');
    expect([wrong.status, wrong.headers.allow, wrong.body]).toEqual([405, 'GET, POST', { message: '/v1/jobs answers GET, POST, not DELETE' }]);
    expect((await call('PATCH', '/v1/jobs/hello')).headers.allow).toBe('GET, PUT, DELETE');
    expect((await call('GET', '/v1/jobs/hello/runs/x/actions/stop')).headers.allow).toBe('POST');
  });
});

describe('a job written in Chronos\'s words, edited by a Metronome client', () => {
  it('keeps what Metronome\'s JSON cannot say when the client PUTs back what it read', async () => {
    const chronosJob = { name: 'chronos.kept', command: 'echo kept', schedule: 'R/2030-01-01T00:00:00Z/PT1H', cpus: 0.1, mem: 32, retries: 5, owner: 'ops@example.com', softError: true };
    expect((await call('POST', '/v1/scheduler/iso8601', chronosJob)).status).toBe(204);
    const read = await call<Body>('GET', '/v1/jobs/chronos.kept');
    expect(read.body.schedules).toEqual([]);   // a repeating interval is no cron schedule
    const put = await call('PUT', '/v1/jobs/chronos.kept', { ...read.body, description: 'edited' });
    expect(put.status).toBe(200);
    const after = await call<Body>('GET', '/v1/scheduler/job/chronos.kept');
    expect(after.body).toMatchObject({ description: 'edited', schedule: 'R/2030-01-01T00:00:00Z/PT1H', retries: 5, owner: 'ops@example.com', softError: true });
  });
});
