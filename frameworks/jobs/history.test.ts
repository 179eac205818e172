import { percentile, record, stats, type RunRecord } from './history';

const run = (i: number, state: RunRecord['state'], seconds: number): RunRecord => ({
  runId: `r${i}`, jobId: 'j', scheduledAt: i * 60_000, startedAt: i * 60_000, endedAt: i * 60_000 + seconds * 1000, state, attempts: [],
});

describe('run history', () => {
  it('keeps the newest runs up to the limit, and replaces a run recorded again', () => {
    let h: RunRecord[] = [];
    for (let i = 1; i <= 5; i++) h = record(h, run(i, 'SUCCESS', 1), 3);
    expect(h.map((r) => r.runId)).toEqual(['r3', 'r4', 'r5']);
    h = record(h, { ...run(4, 'FAILED', 2) }, 3);
    expect(h.map((r) => [r.runId, r.state])).toEqual([['r3', 'SUCCESS'], ['r4', 'FAILED'], ['r5', 'SUCCESS']]);
  });

  it('counts successes and errors, the last of each, and durations at p50 and p95 (nearest rank)', () => {
    const h = [...Array.from({ length: 19 }, (_, i) => run(i + 1, 'SUCCESS', i + 1)), run(20, 'FAILED', 100), { ...run(21, 'MISSED', 0), startedAt: undefined, endedAt: undefined }];
    expect(stats(h)).toEqual({ successCount: 19, errorCount: 1, lastSuccess: 19 * 60_000 + 19_000, lastError: 20 * 60_000 + 100_000, durationP50Seconds: 10, durationP95Seconds: 19 });
    expect(stats([])).toEqual({ successCount: 0, errorCount: 0 });
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 95)).toBe(4);
  });
});
