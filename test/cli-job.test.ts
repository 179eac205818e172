/**
 * `agora job`, the built binary, against the jobs framework on a real cluster (master, Docker
 * agent, Redis): jobs added from Metronome and Chronos files (created, then replaced), listed
 * and shown; refusals by field with exit 1; `run --wait` exiting with the run's outcome; the
 * history with each run's output URL; a job with an active run removed only with --force; an
 * unreachable framework exit 1 and a wrong command line exit 2.
 */
import { authedFetch, base } from './support/http';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import type { HistoryJson, JobJson } from '../cli/jobs-client';
import { startCluster, type TestCluster } from './support/cluster';
import { runAgora } from './support/binary';
import { startTestJobs, type TestJobs } from './support/jobs';

jest.setTimeout(120_000);

const BIN = join(__dirname, '..', 'dist', 'cli', 'agora.js');

let cluster: TestCluster;
let t: TestJobs;
let dir: string;
let jobsAddr: string;

beforeAll(async () => {
  expect(existsSync(BIN)).toBe(true);   // built by `npm test` before jest runs
  cluster = await startCluster({ containerizer: 'docker', agents: 1 });
  t = await startTestJobs(cluster);
  jobsAddr = `127.0.0.1:${t.jobs.port}`;
  dir = mkdtempSync(join(tmpdir(), 'agora-cli-job-'));
});

afterAll(async () => {
  await t?.stop();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function file(name: string, json: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof json === 'string' ? json : JSON.stringify(json));
  return path;
}

/** The built binary with `--jobs` (unless `env` names the framework): its exit code and output, stdin optional. */
function agora(argv: string[], o: { stdin?: string; env?: Record<string, string>; jobs?: boolean } = {}) {
  return runAgora(o.jobs === false ? argv : [...argv, '--jobs', jobsAddr], o);
}

async function fetchText(url: string): Promise<string> {
  const res = await authedFetch(url);
  const body = await res.text();
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${body}`);
  return body;
}

const ids = async () => (await t.api.call<{ id: string }[]>('GET', '/v1/jobs')).body.map((j) => j.id);
const echo = { id: 'cli-echo', description: 'says so', run: { cmd: 'echo cli-job-output', cpus: 0.1, mem: 32 } };

describe('agora job add, list and show', () => {
  it('adds a Metronome job from a file, then replaces it from stdin; list and show say what it is', async () => {
    const added = await agora(['job', 'add', file('echo.json', echo)]);
    expect([added.code, added.stdout]).toEqual([0, 'job cli-echo created\n']);

    const replaced = await agora(['job', 'add', '-'], {
      stdin: JSON.stringify({ ...echo, schedules: [{ id: 'default', cron: '0 3 * * *', timezone: 'Europe/Berlin', concurrencyPolicy: 'FORBID' }] }),
    });
    expect([replaced.code, replaced.stdout]).toEqual([0, 'job cli-echo replaced\n']);
    const stored = await t.api.call<JobJson>('GET', '/v1/jobs/cli-echo');
    expect(stored.body.schedules).toEqual([expect.objectContaining({ cron: '0 3 * * *', timezone: 'Europe/Berlin', concurrencyPolicy: 'FORBID' })]);

    const listed = await agora(['job', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^ID\s+SCHEDULE\s+NEXT RUN\s+LAST\s+STATE\s+ENABLED\s+CMD$/m);
    expect(listed.stdout).toMatch(/^cli-echo\s+0 3 \* \* \* Europe\/Berlin\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+-\s+idle\s+yes\s+echo cli-job-output$/m);
    expect(listed.stdout).not.toContain('OVERDUE');
    const json = JSON.parse((await agora(['job', 'list', '--json'])).stdout) as JobJson[];
    expect(json.map((j) => j.id)).toContain('cli-echo');

    const shown = await agora(['job', 'show', 'cli-echo']);
    expect(shown.stdout).toMatch(/^description\s+says so$/m);
    expect(shown.stdout).toMatch(/^cmd\s+echo cli-job-output$/m);
    expect(shown.stdout).toMatch(/^concurrency\s+FORBID, starting deadline 900s$/m);
    expect(shown.stdout).toMatch(/^runs\s+0 succeeded, 0 failed; last success -, last failure -$/m);
    expect(shown.stdout).toMatch(/\n\nno runs yet\n$/);
  });

  it('adds Chronos jobs: one on a repeating schedule to /iso8601, its child to /dependency', async () => {
    const parent = await agora(['job', 'add', file('nightly.json', { name: 'cli-nightly', command: 'echo night', schedule: 'R/2030-01-01T02:00:00Z/P1D', cpus: 0.1, mem: 32 })]);
    expect([parent.code, parent.stdout]).toEqual([0, 'job cli-nightly created (Chronos, /v1/scheduler/iso8601)\n']);
    const child = await agora(['job', 'add', file('after.json', { name: 'cli-after', command: 'echo after', parents: ['cli-nightly'], cpus: 0.1, mem: 32 })]);
    expect([child.code, child.stdout]).toEqual([0, 'job cli-after created (Chronos, /v1/scheduler/dependency)\n']);
    const again = await agora(['job', 'add', file('after.json', { name: 'cli-after', command: 'echo after again', parents: ['cli-nightly'], cpus: 0.1, mem: 32 })]);
    expect(again.stdout).toBe('job cli-after replaced (Chronos, /v1/scheduler/dependency)\n');

    const listed = (await agora(['job', 'list'], { jobs: false, env: { AGORA_JOBS: jobsAddr } })).stdout;
    expect(listed).toMatch(/^cli-nightly\s+R\/2030-01-01T02:00:00Z\/P1D UTC\s+2030-01-01T02:00:00Z\s+-\s+idle\s+yes\s+echo night$/m);
    expect(listed).toMatch(/^cli-after\s+after cli-nightly\s+-\s+-\s+idle\s+yes\s+echo after again$/m);
  });

  it('a refused definition: exit 1, each problem as path: error on its own line, nothing stored', async () => {
    const bad = await agora(['job', 'add', file('bad.json', { id: 'cli-bad', run: { cmd: 'true', cpus: -1, mem: 32 }, schedules: [{ id: 'default', cron: '61 * * * *' }] })]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^agora: job cli-bad was refused: Object is not valid$/m);
    expect(bad.stderr).toMatch(/^ {2}\/run\/cpus: must be at least 0\.01, got -1$/m);
    expect(bad.stderr).toMatch(/^ {2}\/schedules\(0\)\/cron: '61 \* \* \* \*' is not a cron expression: minute: 61 is outside 0-59$/m);

    const badChronos = await agora(['job', 'add', file('bad-chronos.json', { name: 'cli-bad', command: 'true', schedule: 'R/2030-01-01T00:00:00Z/PT1X' })]);
    expect(badChronos.code).toBe(1);
    expect(badChronos.stderr).toMatch(/^agora: job cli-bad was refused: /m);
    expect(badChronos.stderr).toMatch(/^ {2}\/schedule: /m);

    const neither = await agora(['job', 'add', '-'], { stdin: '{"command": "true"}' });
    expect([neither.code, neither.stderr]).toEqual([1, 'agora: the job definition on stdin is neither a Metronome job (id and run) nor a Chronos job (name)\n']);
    const notJson = await agora(['job', 'add', '-'], { stdin: '{"id": "cli-half"' });
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/^agora: the job definition on stdin is not JSON: /);
    expect(await ids()).not.toContain('cli-bad');
  });
});

describe('agora job run and history', () => {
  it('run --wait exits 0 once the run succeeded, naming its output, which history lists', async () => {
    const r = await agora(['job', 'run', 'cli-echo', '--wait']);
    expect(r.code).toBe(0);
    const runId = /^run (\S+) of job cli-echo started$/m.exec(r.stdout)?.[1];
    expect(runId).toBeDefined();
    expect(r.stderr).toContain(`waiting for run ${runId} to end`);
    expect(r.stdout).toMatch(new RegExp(`^run ${runId} of job cli-echo ended SUCCESS \\(exit 0\\) in \\d+(\\.\\d)?s$`, 'm'));
    const url = new RegExp(`^stdout: (https://${jobsAddr.replace(/\./g, '\\.')}/v1/jobs/cli-echo/runs/${runId}/logs\\?file=stdout&attempt=1)$`, 'm').exec(r.stdout)?.[1];
    expect(url).toBeDefined();
    expect(await fetchText(url!)).toBe('cli-job-output\n');

    const h = await agora(['job', 'history', 'cli-echo']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^job cli-echo: 1 succeeded, 0 failed; duration p50 \d+(\.\d)?s, p95 \d+(\.\d)?s; next run \S+Z$/m);
    expect(h.stdout).toMatch(/^RUN\s+STATE\s+TRIGGER\s+SCHEDULED\s+STARTED\s+ENDED\s+DURATION\s+EXIT\s+ATTEMPTS\s+AGENT\s+STDOUT$/m);
    expect(h.stdout).toMatch(new RegExp(`^${runId}\\s+SUCCESS\\s+manual\\s+-\\s+\\S+Z\\s+\\S+Z\\s+\\S+s\\s+0\\s+1\\s+127\\.0\\.0\\.1\\s+${url!.replace(/[.?]/g, '\\$&')}$`, 'm'));
    const json = JSON.parse((await agora(['job', 'history', 'cli-echo', '--json'])).stdout) as HistoryJson;
    expect(json.runs.map((x) => [x.id, x.status, x.agora.attempts[0]?.taskId])).toEqual([[runId, 'SUCCESS', `cli-echo.${runId}.1`]]);
    expect((await agora(['job', 'show', 'cli-echo'])).stdout).toMatch(/^runs\s+1 succeeded, 0 failed; /m);
  });

  it('run --wait exits 1 when the run fails, saying why; history shows the exit code and the reason', async () => {
    expect((await t.api.call('POST', '/v1/jobs', { id: 'cli-fail', run: { cmd: 'echo trying; exit 3', cpus: 0.1, mem: 32 } })).status).toBe(201);
    const r = await agora(['job', 'run', 'cli-fail', '--wait']);
    expect(r.code).toBe(1);
    const runId = /^run (\S+) of job cli-fail started$/m.exec(r.stdout)?.[1];
    expect(r.stdout).toMatch(new RegExp(`^run ${runId} of job cli-fail ended FAILED \\(exit 3\\) in \\S+s: attempt 1 ended TASK_FAILED`, 'm'));
    const h = await agora(['job', 'history', 'cli-fail']);
    expect(h.stdout).toMatch(new RegExp(`^${runId}\\s+FAILED\\s+manual\\s+.*\\s3\\s+1\\s+127\\.0\\.0\\.1\\s+https://\\S+$`, 'm'));
    expect(h.stdout).toMatch(new RegExp(`^${runId} FAILED: attempt 1 ended TASK_FAILED`, 'm'));
  });

  it('run without --wait returns once the run is made', async () => {
    const r = await agora(['job', 'run', 'cli-echo']);
    expect(r.code).toBe(0);
    const runId = /^run (\S+) of job cli-echo started\n$/.exec(r.stdout)?.[1];
    expect(runId).toBeDefined();
    expect((await t.events.run('cli-echo', (x) => x.runId === runId && x.state === 'SUCCESS')).exitCode).toBe(0);
  });
});

describe('agora job remove', () => {
  it('refuses a job with an active run unless --force, which stops the run', async () => {
    expect((await t.api.call('POST', '/v1/jobs', { id: 'cli-sleep', run: { cmd: 'sleep 600', cpus: 0.1, mem: 32 } })).status).toBe(201);
    expect((await agora(['job', 'run', 'cli-sleep'])).code).toBe(0);
    const refused = await agora(['job', 'remove', 'cli-sleep']);
    expect([refused.code, refused.stderr]).toEqual([1, "agora: job cli-sleep: Job 'cli-sleep' has 1 active run: wait for it to end, or add --force to stop it\n"]);
    expect(await ids()).toContain('cli-sleep');

    const removed = await agora(['job', 'remove', 'cli-sleep', '--force']);
    expect([removed.code, removed.stdout]).toEqual([0, 'job cli-sleep removed (its active runs stopped)\n']);
    expect(await ids()).not.toContain('cli-sleep');
    expect((await agora(['job', 'list'])).stdout).not.toContain('cli-sleep');
  });

  it('a job others depend on is refused, naming them; an unknown job is exit 1', async () => {
    const refused = await agora(['job', 'remove', 'cli-nightly']);
    expect([refused.code, refused.stderr]).toEqual([1, "agora: job cli-nightly: Job 'cli-nightly' cannot be deleted: 'cli-after' depends on it\n"]);
    const unknown = await agora(['job', 'show', 'cli-nope']);
    expect([unknown.code, unknown.stderr]).toEqual([1, `agora: Job 'cli-nope' does not exist at the jobs framework ${base(jobsAddr)} (see agora job list)\n`]);
  });
});

describe('the agora binary\'s exit codes for job', () => {
  it('an unreachable framework: exit 1, naming the address', async () => {
    const port = await closedPort();
    for (const argv of [['job', 'list'], ['job', 'run', 'x', '--wait'], ['job', 'add', file('echo.json', echo)]]) {
      const r = await agora([...argv, '--jobs', `127.0.0.1:${port}`], { jobs: false });
      expect([argv, r.code]).toEqual([argv, 1]);
      expect(r.stderr).toMatch(new RegExp(`^agora: cannot reach the jobs framework at https://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    }
  });

  it('a wrong command line: exit 2 with what was wrong and the usage text', async () => {
    const cases: [string[], string][] = [
      [['job'], 'agora job needs a subcommand: add, list, show, run, history or remove'],
      [['job', 'launch'], "unknown subcommand 'agora job launch'"],
      [['job', 'add'], 'agora job add needs one job definition'],
      [['job', 'run'], 'agora job run needs one job id'],
      [['job', 'history', 'a', 'b'], 'agora job history needs one job id'],
      [['job', 'list', '--watch'], 'unknown flag --watch'],
      [['job', 'remove', 'x', '--wait'], 'unknown flag --wait'],
    ];
    for (const [argv, message] of cases) {
      const r = await agora(argv, { jobs: false });
      expect([argv, r.code]).toEqual([argv, 2]);
      expect(r.stderr).toContain(`agora: ${message}`);
      expect(r.stderr).toContain('job run <id> [--wait]');
    }
  });
});

/** A port nothing listens on: one the system just handed out and took back. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
