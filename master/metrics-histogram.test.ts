import fc from 'fast-check';
import { exposition, histogramFamily } from './metrics';
import { emptySnapshot, Histogram, LATENCY_BUCKETS_SECONDS } from './metrics-histogram';

describe('Histogram', () => {
  it('puts a value in the first bucket whose bound is at least it: bounds are inclusive (le)', () => {
    const h = new Histogram([0.1, 1, 10]);
    for (const v of [0, 0.1, 0.10001, 1, 9.99, 10, 10.5, 1e9]) h.observe(v);
    // ≤0.1: 0, 0.1; ≤1: +0.10001, 1; ≤10: +9.99, 10; above: 10.5, 1e9.
    expect(h.snapshot()).toEqual({ bounds: [0.1, 1, 10], cumulative: [2, 4, 6], sum: 0 + 0.1 + 0.10001 + 1 + 9.99 + 10 + 10.5 + 1e9, count: 8 });
  });

  it('keeps cumulative counts non-decreasing, each the number of values at or under its bound, the last the count', () => {
    fc.assert(fc.property(fc.array(fc.double({ min: -1, max: 100, noNaN: true })), (values) => {
      const h = new Histogram(LATENCY_BUCKETS_SECONDS);
      for (const v of values) h.observe(v);
      const snap = h.snapshot();
      snap.bounds.forEach((b, i) => expect(snap.cumulative[i]).toBe(values.filter((v) => v <= b).length));
      for (let i = 1; i < snap.cumulative.length; i++) expect(snap.cumulative[i]).toBeGreaterThanOrEqual(snap.cumulative[i - 1] as number);
      expect(snap.count).toBe(values.length);
      expect(snap.sum).toBeCloseTo(values.reduce((a, v) => a + v, 0), 6);
    }));
  });

  it('times elapsed milliseconds in seconds, a backwards step as 0', () => {
    const h = new Histogram([0.001, 1]);
    h.observeElapsedMs(1_000, 1_250); // 0.25 s
    h.observeElapsedMs(5_000, 4_000); // the clock stepped back: 0, not -1
    expect(h.snapshot()).toEqual({ bounds: [0.001, 1], cumulative: [1, 2], sum: 0.25, count: 2 });
  });

  it('refuses NaN and bounds that are empty, unordered, repeated or infinite', () => {
    expect(() => new Histogram([1]).observe(NaN)).toThrow('cannot observe NaN');
    expect(() => new Histogram([])).toThrow('at least one bucket bound');
    expect(() => new Histogram([1, 0.5])).toThrow('must increase strictly, got 1 then 0.5');
    expect(() => new Histogram([1, 1])).toThrow('must increase strictly');
    expect(() => new Histogram([1, Infinity])).toThrow('must be finite');
  });

  it('hands a scrape a snapshot that later observations do not move', () => {
    const h = new Histogram([1]);
    h.observe(0.5);
    const snap = h.snapshot();
    h.observe(0.5);
    expect(snap).toEqual({ bounds: [1], cumulative: [1], sum: 0.5, count: 1 });
  });

  it('buckets latencies from 0.5 ms to 10 s', () => {
    expect(LATENCY_BUCKETS_SECONDS).toEqual([0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
    expect(new Histogram().bounds).toEqual(LATENCY_BUCKETS_SECONDS);
  });
});

describe('histogramFamily', () => {
  it('writes cumulative _bucket lines in increasing le, then +Inf (the count), _sum and _count', () => {
    const h = new Histogram([0.0005, 0.25, 10]);
    for (const v of [0.0001, 0.2, 0.3, 20]) h.observe(v);
    expect(exposition([histogramFamily('x_seconds', 'How long x took.', h.snapshot())])).toBe([
      '# HELP x_seconds How long x took.',
      '# TYPE x_seconds histogram',
      'x_seconds_bucket{le="0.0005"} 1',
      'x_seconds_bucket{le="0.25"} 2',
      'x_seconds_bucket{le="10"} 3',
      'x_seconds_bucket{le="+Inf"} 4',
      'x_seconds_sum 20.5001',
      'x_seconds_count 4',
      '',
    ].join('\n'));
  });

  it('writes every bucket of an empty histogram, so the series exist before the first event', () => {
    const text = exposition([histogramFamily('y_seconds', 'y.', emptySnapshot())]);
    expect(text.split('\n').filter((l) => l.startsWith('y_seconds_bucket{'))).toHaveLength(LATENCY_BUCKETS_SECONDS.length + 1);
    expect(text).toContain('y_seconds_bucket{le="+Inf"} 0\ny_seconds_sum 0\ny_seconds_count 0\n');
  });
});
