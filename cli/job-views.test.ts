import { historyText, jobSummary, jobTable, nextRunText, runEndText, scheduleText, seconds, when } from './job-views';
import type { HistoryJson, JobJson, RunJson } from './jobs-client';

function jobOf(over: Partial<JobJson>): JobJson {
  return { id: 'nightly', run: { cmd: 'make report', cpus: 0.5, mem: 64, disk: 0 }, schedules: [], dependencies: [], activeRuns: [], ...over };
}

const cron = { id: 'default', cron: '0 2 * * *', timezone: 'Europe/Berlin', concurrencyPolicy: 'ALLOW', startingDeadlineSeconds: 900, enabled: true };

function runOf(over: Omit<Partial<RunJson>, 'agora'> & { agora?: Partial<RunJson['agora']> }): RunJson {
  const { agora, ...rest } = over;
  return {
    id: '20240501020000abcde', jobId: 'nightly', status: 'SUCCESS', createdAt: '2024-05-01T02:00:00.000Z', completedAt: '2024-05-01T02:00:04.500Z',
    ...rest,
    agora: {
      trigger: 'schedule', scheduledAt: '2024-05-01T02:00:00.000Z', startedAt: '2024-05-01T02:00:01.000Z', message: null, exitCode: 0,
      attempts: [{ attempt: 1, taskId: 'nightly.20240501020000abcde.1', agentId: 'a1', hostname: 'node-1', state: 'TASK_FINISHED', exitCode: 0, message: null }],
      logs: [{ attempt: 1, stdout: '/v1/jobs/nightly/runs/20240501020000abcde/logs?file=stdout&attempt=1', stderr: '/v1/jobs/nightly/runs/20240501020000abcde/logs?file=stderr&attempt=1' }],
      ...agora,
    },
  };
}

describe('how agora job shows jobs and runs', () => {
  it('shows a job\'s image and its host volumes, host path → container path (mode), in order', () => {
    const history: HistoryJson = { runs: [], stats: { successCount: 0, errorCount: 0, lastSuccess: null, lastError: null, durationP50Seconds: null, durationP95Seconds: null }, nextRunAt: null };
    const run = { cmd: 'etl.sh', cpus: 0.5, mem: 64, disk: 0, docker: { image: 'busybox' },
      volumes: [{ containerPath: '/data', hostPath: '/srv/data', mode: 'RW' }, { containerPath: '/cache', hostPath: 'cache', mode: 'RO' }] };
    const lines = jobSummary(jobOf({ run }), history).split('\n');
    expect(lines).toContain('image        busybox');
    expect(lines).toContain('volumes      /srv/data → /data (RW), cache → /cache (RO)');
    expect(jobSummary(jobOf({}), history)).not.toMatch(/^volumes/m);
  });

  it('says what starts a job: its cron and zone (off when disabled), a Chronos interval, its parents, or a person', () => {
    expect(scheduleText(jobOf({ schedules: [cron] }))).toBe('0 2 * * * Europe/Berlin');
    expect(scheduleText(jobOf({ schedules: [{ ...cron, enabled: false }] }))).toBe('0 2 * * * Europe/Berlin (off)');
    expect(scheduleText(jobOf({}), { name: 'nightly', schedule: 'R/2024-01-01T00:00:00Z/P1D', scheduleTimeZone: '' })).toBe('R/2024-01-01T00:00:00Z/P1D UTC');
    expect(scheduleText(jobOf({ dependencies: [{ id: 'a' }, { id: 'b' }] }))).toBe('after a, b');
    expect(scheduleText(jobOf({}))).toBe('on demand');
  });

  it('marks a next run that has passed OVERDUE, as Chronos did', () => {
    const now = Date.parse('2024-05-01T12:00:00Z');
    expect(nextRunText('2024-05-01T13:00:00.000Z', now)).toBe('2024-05-01T13:00:00Z');
    expect(nextRunText('2024-05-01T11:00:00.000Z', now)).toBe('2024-05-01T11:00:00Z OVERDUE');
    expect(nextRunText(null, now)).toBe('-');
  });

  it('lists jobs with their next run, last result, state and whether they are enabled', () => {
    const out = jobTable([
      { job: jobOf({ schedules: [cron], historySummary: { successCount: 1, failureCount: 1, lastSuccessAt: '2024-05-01T02:00:04Z', lastFailureAt: '2024-04-30T02:00:04Z' } }), nextRunAt: '2024-05-02T00:00:00.000Z' },
      { job: jobOf({ id: 'report', dependencies: [{ id: 'nightly' }], activeRuns: [runOf({ status: 'ACTIVE' })] }) },
      { job: jobOf({ id: 'tick', run: { cpus: 1, mem: 32, disk: 0, docker: { image: 'busybox' } } }), chronos: { name: 'tick', schedule: 'R/2024-01-01T00:00:00Z/PT1M', disabled: true } },
    ], Date.parse('2024-05-01T12:00:00Z'));
    expect(out.split('\n')).toEqual([
      'ID       SCHEDULE                         NEXT RUN              LAST     STATE    ENABLED  CMD',
      'nightly  0 2 * * * Europe/Berlin          2024-05-02T00:00:00Z  success  idle     yes      make report',
      'report   after nightly                    -                     -        running  yes      make report',
      'tick     R/2024-01-01T00:00:00Z/PT1M UTC  -                     -        idle     no       busybox',
    ]);
  });

  it('prints the history with each run\'s output URL, why runs failed, and how to read the output', () => {
    const h: HistoryJson = {
      runs: [
        runOf({ id: 'r2', status: 'FAILED', agora: { exitCode: 3, message: 'attempt 1 ended TASK_FAILED: exit 3', trigger: 'manual', scheduledAt: null } }),
        runOf({}),
      ],
      stats: { successCount: 1, errorCount: 1, lastSuccess: null, lastError: null, durationP50Seconds: 3.5, durationP95Seconds: 75 },
      nextRunAt: null,
    };
    const lines = historyText('nightly', h, 'http://jobs:4400').split('\n');
    expect(lines[0]).toBe('job nightly: 1 succeeded, 1 failed; duration p50 3.5s, p95 1m 15s; next run -');
    expect(lines[2]).toMatch(/^RUN\s+STATE\s+TRIGGER\s+SCHEDULED\s+STARTED\s+ENDED\s+DURATION\s+EXIT\s+ATTEMPTS\s+AGENT\s+STDOUT$/);
    expect(lines[3]).toMatch(/^r2\s+FAILED\s+manual\s+-\s+2024-05-01T02:00:01Z\s+2024-05-01T02:00:04Z\s+3\.5s\s+3\s+1\s+node-1\s+http:\/\/jobs:4400\/v1\/jobs\/nightly\/runs\/20240501020000abcde\/logs\?file=stdout&attempt=1$/);
    expect(lines[4]).toMatch(/^20240501020000abcde\s+SUCCESS\s+schedule\s+2024-05-01T02:00:00Z\s/);
    expect(lines.slice(6)).toEqual([
      'r2 FAILED: attempt 1 ended TASK_FAILED: exit 3',
      '',
      'output: curl a STDOUT URL (file=stderr for stderr, attempt=N for an earlier attempt),',
      '        or agora logs <job>.<run>.<attempt> [--stderr], e.g. agora logs nightly.20240501020000abcde.1',
    ]);
  });

  it('reports a run\'s end with its exit code, how long it took, and why it failed', () => {
    expect(runEndText({ runId: 'r1', jobId: 'j', state: 'SUCCESS', exitCode: 0, startedAt: 1000, endedAt: 2500 })).toBe('run r1 of job j ended SUCCESS (exit 0) in 1.5s');
    expect(runEndText({ runId: 'r1', jobId: 'j', state: 'FAILED', exitCode: 3, startedAt: 0, endedAt: 61_000, message: 'attempt 1 ended TASK_FAILED' }))
      .toBe('run r1 of job j ended FAILED (exit 3) in 1m 1s: attempt 1 ended TASK_FAILED');
  });

  it('writes times in UTC to the second and durations for people', () => {
    expect(when('2024-05-01T02:00:04.512Z')).toBe('2024-05-01T02:00:04Z');
    expect(when(null)).toBe('-');
    expect([seconds(0.42), seconds(42.4), seconds(3725), seconds(null)]).toEqual(['0.4s', '42s', '1h 2m', '-']);
  });
});
