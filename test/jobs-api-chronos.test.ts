/**
 * The jobs framework's Chronos API (`/v1/scheduler/…`) on a real cluster of one process
 * agent, with Redis: jobs posted to /iso8601 and /dependency (create or replace, 204), every
 * refusal a 400 naming the field with Redis left as it was, the listings with their counts,
 * run now, a child run on its parent's success, the stats, the DOT graph, kill and delete with
 * re-parenting. Runs are waited for on `/v1/events`, never on the clock.
 */
import type { RunRecord } from '../frameworks/jobs/history';
import type { TestCluster } from './support/cluster';
import { storedState, withJobsOnOneAgent } from './support/jobs-api';
import type { TestJobs } from './support/jobs';

jest.setTimeout(60_000);

let cluster: TestCluster;
let t: TestJobs;
withJobsOnOneAgent((c, s) => { cluster = c; t = s; });

type Body = Record<string, unknown>;
const call = <T = Body>(method: string, path: string, body?: unknown) => t.api.call<T>(method, path, body);
const S = '/v1/scheduler';
/** Daily from 2099: a schedule that does not fire during the test. */
const LATER = 'R/2099-01-01T00:00:00Z/PT24H';
const etl = { name: 'nightly-etl', command: 'echo hello-from-job', schedule: LATER, scheduleTimeZone: 'UTC', cpus: 0.1, mem: 32, owner: 'ops@example.com' };
const report = { name: 'report', command: 'echo report', parents: ['nightly-etl'], cpus: 0.1, mem: 32 };
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const names = async (): Promise<unknown[]> => (await call<Body[]>('GET', `${S}/jobs`)).body.map((j) => j.name);
/** A request that must be refused with 400: the answer, and Redis exactly as before it. */
const refused = async (method: string, path: string, body?: unknown) => {
  const before = await storedState(t);
  const answer = await call(method, path, body);
  expect(answer.status).toBe(400);
  expect(await storedState(t)).toEqual(before);
  return answer.body;
};
const ran = (jobId: string, state: RunRecord['state']) => t.events.run(jobId, (r) => r.state === state);

describe('POST /iso8601 and /dependency', () => {
  it('POST /iso8601: 204; GET /job/{name} answers the job as Chronos writes it, never run: counts 0, last times ""', async () => {
    const posted = await call('POST', `${S}/iso8601`, etl);
    expect([posted.status, posted.text]).toEqual([204, '']);
    const got = await call('GET', `${S}/job/nightly-etl`);
    expect(got.status).toBe(200);
    expect(got.body).toEqual({
      name: 'nightly-etl', description: '', owner: 'ops@example.com', command: 'echo hello-from-job', shell: true, arguments: [],
      schedule: LATER, scheduleTimeZone: 'UTC', cpus: 0.1, mem: 32, disk: 256, retries: 2, disabled: false, softError: false, concurrent: false,
      environmentVariables: [], constraints: [], successCount: 0, errorCount: 0, lastSuccess: '', lastError: '', errorsSinceLastSuccess: 0,
    });
  });

  it('a malformed R/…/P schedule, an unknown time zone, negative cpus: 400 naming the field, nothing stored', async () => {
    const schedule = await refused('POST', `${S}/iso8601`, { ...etl, name: 'bad-schedule', schedule: 'R/2099-01-01T00:00:00Z/1H' });
    expect(schedule).toEqual({
      message: expect.stringMatching(/^\/schedule: 'R\/2099-01-01T00:00:00Z\/1H' is not a schedule/), status: 'Bad Request',
      details: [{ path: '/schedule', errors: [expect.stringContaining('is not a schedule R[n]/<start>/<period>')] }],
    });
    const zone = await refused('POST', `${S}/iso8601`, { ...etl, name: 'bad-zone', scheduleTimeZone: 'Mars/Olympus' });
    expect(zone.details).toEqual([{ path: '/scheduleTimeZone', errors: ["'Mars/Olympus' is not a time zone (an IANA name such as Europe/Berlin or UTC)"] }]);
    const cpus = await refused('POST', `${S}/iso8601`, { ...etl, name: 'bad-cpus', cpus: -1 });
    expect(cpus).toEqual({ message: '/cpus: must be at least 0.01, got -1', status: 'Bad Request', details: [{ path: '/cpus', errors: ['must be at least 0.01, got -1'] }] });
    expect(await names()).toEqual(['nightly-etl']);
  });

  it('a malformed job: 400 with the JSON path of each wrong field and what was wrong there, nothing stored', async () => {
    const bad = await refused('POST', `${S}/iso8601`, {
      ...etl, name: 'bad-shape', container: { type: 'DOCKER', image: 5 }, retries: 'twice', environmentVariables: [{ name: 'MODE' }], constraints: [['rack', 'NEAR', 'r1']],
    });
    expect(bad).toEqual({
      message: "/retries: expected a number, got \"twice\"; /environmentVariables(0)/value: is required; /constraints(0)(1): 'NEAR' is not EQUALS, LIKE or UNLIKE; /container/image: expected a string, got 5",
      status: 'Bad Request',
      details: [
        { path: '/retries', errors: ['expected a number, got "twice"'] },
        { path: '/environmentVariables(0)/value', errors: ['is required'] },
        { path: '/constraints(0)(1)', errors: ["'NEAR' is not EQUALS, LIKE or UNLIKE"] },
        { path: '/container/image', errors: ['expected a string, got 5'] },
      ],
    });
    expect(await names()).toEqual(['nightly-etl']);
  });

  it('a job without a schedule posted to /iso8601, or without parents to /dependency: 400 saying where it goes', async () => {
    const noSchedule = await refused('POST', `${S}/iso8601`, { ...report, name: 'orphan' });
    expect(noSchedule.details).toEqual([{ path: '/schedule', errors: ['a job posted to /iso8601 needs a schedule (R[n]/<start>/<period>); a job with parents goes to /dependency'] }]);
    const noParents = await refused('POST', `${S}/dependency`, { ...etl, name: 'scheduled' });
    expect(noParents.details).toEqual([{ path: '/parents', errors: ['a job posted to /dependency needs parents; a job with a schedule goes to /iso8601'] }]);
    const neither = await refused('POST', `${S}/iso8601`, { name: 'neither', command: 'true' });
    expect(neither.details).toEqual([{ path: '/schedule', errors: ['a job needs a schedule (R[n]/<start>/<period>) or parents'] }]);
  });

  it('POST /dependency: 204, the job with its parents; a missing parent 400 at /parents naming it', async () => {
    const ghost = await refused('POST', `${S}/dependency`, { ...report, parents: ['ghost'] });
    expect(ghost).toEqual({ message: "parent 'ghost' of 'report' does not exist", status: 'Bad Request', details: [{ path: '/parents', errors: ["parent 'ghost' of 'report' does not exist"] }] });
    expect((await call('POST', `${S}/dependency`, report)).status).toBe(204);
    expect((await call('GET', `${S}/job/report`)).body).toMatchObject({ name: 'report', parents: ['nightly-etl'], command: 'echo report' });
    expect((await call('GET', `${S}/job/report`)).body).not.toHaveProperty('schedule');
  });

  it('a change that would form a cycle: 400 at /parents naming it, both jobs as they were', async () => {
    const cycle = await refused('POST', `${S}/dependency`, { ...etl, schedule: undefined, parents: ['report'] });
    expect(cycle.details).toEqual([{ path: '/parents', errors: [expect.stringMatching(/cycle: (nightly-etl → report → nightly-etl|report → nightly-etl → report)$/)] }]);
    expect((await call('GET', `${S}/job/nightly-etl`)).body).toMatchObject({ schedule: LATER });
  });

  it('POST /iso8601 and PUT /dependency of a job that exists replace it: 204', async () => {
    expect((await call('POST', `${S}/iso8601`, { ...etl, cpus: 0.2 })).status).toBe(204);
    expect((await call('PUT', `${S}/dependency`, { ...report, softError: true })).status).toBe(204);
    expect((await call('GET', `${S}/job/nightly-etl`)).body).toMatchObject({ cpus: 0.2, schedule: LATER });
    expect((await call('GET', `${S}/job/report`)).body).toMatchObject({ softError: true, parents: ['nightly-etl'] });
    const wrong = await call('GET', `${S}/iso8601`);
    expect([wrong.status, wrong.headers.allow]).toEqual([405, 'POST']);
  });
});

describe('listings', () => {
  it('GET /jobs: every job by name with its counts; /jobs/summary: name, status fresh, state idle, schedule, parents, disabled', async () => {
    const all = await call<Body[]>('GET', `${S}/jobs`);
    expect(all.status).toBe(200);
    expect(all.body.map((j) => [j.name, j.successCount, j.errorCount, j.lastSuccess, j.lastError])).toEqual([
      ['nightly-etl', 0, 0, '', ''], ['report', 0, 0, '', ''],
    ]);
    expect((await call('GET', `${S}/jobs/summary`)).body).toEqual({
      jobs: [
        { name: 'nightly-etl', status: 'fresh', state: 'idle', schedule: LATER, parents: [], disabled: false },
        { name: 'report', status: 'fresh', state: 'idle', schedule: '', parents: ['nightly-etl'], disabled: false },
      ],
    });
  });

  it('GET /jobs/search: name, command and any match case-insensitively; limit and offset page; a bad limit 400', async () => {
    const found = async (q: string) => (await call<Body[]>('GET', `${S}/jobs/search?${q}`)).body.map((j) => j.name);
    expect(await found('name=NIGHTLY')).toEqual(['nightly-etl']);
    expect(await found('command=Hello-From')).toEqual(['nightly-etl']);
    expect(await found('any=REPORT')).toEqual(['report']);
    expect(await found('name=nightly&any=report')).toEqual(['nightly-etl', 'report']);
    expect(await found('name=nightly&command=report')).toEqual([]);
    expect(await found('')).toEqual(['nightly-etl', 'report']);
    expect(await found('limit=1&offset=1')).toEqual(['report']);
    const bad = await call('GET', `${S}/jobs/search?limit=-1`);
    expect([bad.status, bad.body]).toEqual([400, { message: "limit must be a whole number of at least 0, got '-1'" }]);
  });
});

describe('running', () => {
  let parent: RunRecord;
  let child: RunRecord;

  it('PUT /job/{name}: 204, the job runs now and succeeds; its child then runs on its success', async () => {
    const put = await call('PUT', `${S}/job/nightly-etl`);
    expect([put.status, put.text]).toEqual([204, '']);
    parent = await ran('nightly-etl', 'SUCCESS');
    expect(parent).toMatchObject({ trigger: 'manual', exitCode: 0 });
    child = await ran('report', 'SUCCESS');
    expect(child.trigger).toBe('parents');
  });

  it('GET /job/{name} and /jobs/summary show the success', async () => {
    expect((await call('GET', `${S}/job/nightly-etl`)).body).toMatchObject({
      successCount: 1, errorCount: 0, lastSuccess: new Date(parent.endedAt!).toISOString(), lastError: '', errorsSinceLastSuccess: 0,
    });
    expect((await call<{ jobs: Body[] }>('GET', `${S}/jobs/summary`)).body.jobs.map((j) => [j.name, j.status, j.state])).toEqual([
      ['nightly-etl', 'success', 'idle'], ['report', 'success', 'idle'],
    ]);
  });

  it('GET /job/stat/{name}: the histogram of durations in ms and the task history', async () => {
    const ms = parent.endedAt! - parent.startedAt!;
    const a = parent.attempts[0]!;
    const stat = await call('GET', `${S}/job/stat/nightly-etl`);
    expect(stat.status).toBe(200);
    expect(stat.body).toEqual({
      histogram: { '75thPercentile': ms, '95thPercentile': ms, '98thPercentile': ms, '99thPercentile': ms, median: ms, mean: ms, count: 1 },
      taskStatHistory: [{
        taskId: a.taskId, jobName: 'nightly-etl', runId: parent.runId, slaveId: (await cluster.state()).agents[0]!.id, startTime: new Date(a.startedAt).toISOString(),
        endTime: new Date(a.endedAt!).toISOString(), duration: `${((a.endedAt! - a.startedAt) / 1000).toFixed(3)}s`, status: 'TASK_FINISHED',
      }],
    });
    expect(stat.body).toMatchObject({ taskStatHistory: [{ startTime: expect.stringMatching(ISO) }] });
  });

  it('GET /graph/dot: the DAG, parent -> child, each job filled with its last result\'s colour', async () => {
    const dot = await call('GET', `${S}/graph/dot`);
    expect(dot.status).toBe(200);
    expect(dot.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(dot.text).toBe([
      'digraph G {',
      '  "nightly-etl" [style=filled, fillcolor=green];',
      '  "report" [style=filled, fillcolor=green];',
      '  "nightly-etl" -> "report";',
      '}', '',
    ].join('\n'));
    expect((await call('GET', `${S}/graph/csv`)).text).toBe('node,nightly-etl,success,idle\nnode,report,success,idle\nlink,nightly-etl,report\n');
  });

  it('PUT /job/{name}?arguments=… is refused, nothing run', async () => {
    const args = await refused('PUT', `${S}/job/nightly-etl?arguments=--full`);
    expect(args.message).toMatch(/\?arguments= is not supported/);
  });
});

describe('kill and delete', () => {
  it('DELETE /task/kill/{name}: 204, the running run ends FAILED; the job shows the failure', async () => {
    expect((await call('POST', `${S}/iso8601`, { ...etl, name: 'sleeper', command: 'sleep 600' })).status).toBe(204);
    expect((await call('PUT', `${S}/job/sleeper`)).status).toBe(204);
    await ran('sleeper', 'ACTIVE');
    const summary = async () => (await call<{ jobs: Body[] }>('GET', `${S}/jobs/summary`)).body.jobs.find((j) => j.name === 'sleeper');
    expect(await summary()).toMatchObject({ status: 'fresh', state: '1 running' });
    const kill = await call('DELETE', `${S}/task/kill/sleeper`);
    expect([kill.status, kill.text]).toEqual([204, '']);
    const failed = await ran('sleeper', 'FAILED');
    expect(failed.message).toBe('killed on request');
    expect(await summary()).toMatchObject({ status: 'failure', state: 'idle' });
    expect((await call('GET', `${S}/job/sleeper`)).body).toMatchObject({ successCount: 0, errorCount: 1, lastSuccess: '', lastError: new Date(failed.endedAt!).toISOString(), errorsSinceLastSuccess: 1 });
    expect((await call('GET', `${S}/graph/dot`)).text).toContain('  "sleeper" [style=filled, fillcolor=red];\n');
  });

  it('DELETE /job/{name}: 204; the job is gone, and its child takes its schedule (Chronos re-parents)', async () => {
    const del = await call('DELETE', `${S}/job/nightly-etl`);
    expect([del.status, del.text]).toEqual([204, '']);
    expect(await names()).toEqual(['report', 'sleeper']);
    const orphan = (await call('GET', `${S}/job/report`)).body;
    expect(orphan).toMatchObject({ schedule: LATER, scheduleTimeZone: 'UTC' });
    expect(orphan).not.toHaveProperty('parents');
  });

  it('a job that does not exist: 400 "Job \'<name>\' does not exist" on every route that names one, nothing changed', async () => {
    const missing = { message: "Job 'ghost' does not exist", status: 'Bad Request' };
    for (const [method, path] of [['GET', '/job/ghost'], ['PUT', '/job/ghost'], ['DELETE', '/job/ghost'], ['GET', '/job/stat/ghost'], ['DELETE', '/task/kill/ghost']] as const) {
      expect(await refused(method, `${S}${path}`)).toEqual(missing);
    }
  });
});

describe("Chronos 2.x's /scheduler/… beside /v1/scheduler/…", () => {
  it('the same API without /v1: a job posted there, listed, read and deleted there, and seen at /v1 too', async () => {
    const job = { ...etl, name: 'chronos-2x' };
    const posted = await call('POST', '/scheduler/iso8601', job);
    expect([posted.status, posted.text]).toEqual([204, '']);
    expect(((await call<Body[]>('GET', '/scheduler/jobs')).body).map((j) => j.name)).toContain('chronos-2x');
    expect((await call('GET', `${S}/job/chronos-2x`)).body).toMatchObject({ name: 'chronos-2x', schedule: LATER });
    expect((await call('GET', '/scheduler/job/chronos-2x')).body).toMatchObject({ name: 'chronos-2x' });
    expect((await call('DELETE', '/scheduler/job/chronos-2x')).status).toBe(204);
    expect(await names()).not.toContain('chronos-2x');
    // Nothing else gains a /scheduler twin: an unknown path under it is still the router's 404.
    expect((await call('GET', '/scheduler/nothing-here')).status).toBe(404);
  });
});
