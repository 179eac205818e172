import { FakeClock } from '../common/clock';
import { EventLoopLag, SAMPLE_INTERVAL_MS } from './event-loop-lag';

/** A sampler on a fake clock, with a stopwatch the test moves: `stall` is how late the loop runs a timer. */
function sampler() {
  const clock = new FakeClock();
  let stopwatch = 0;
  const lag = new EventLoopLag({ clock, stopwatchMs: () => stopwatch });
  /** One sample period in which the loop was busy `stallMs` past the timer's due time. */
  const period = (stallMs: number) => {
    stopwatch += SAMPLE_INTERVAL_MS + stallMs;
    clock.advance(SAMPLE_INTERVAL_MS);
  };
  return { clock, lag, period };
}

describe('EventLoopLag', () => {
  it('observes how late each sampling timer fired, in seconds', () => {
    const { lag, period } = sampler();
    lag.start();
    period(0);
    period(3); // 3 ms late: the 5 ms bucket
    period(240); // a 240 ms stall: the 250 ms bucket
    const snap = lag.snapshot();
    expect(snap.count).toBe(3);
    expect(snap.sum).toBeCloseTo(0.243, 9);
    const under = (le: number) => snap.cumulative[snap.bounds.indexOf(le)];
    expect([under(0.0025), under(0.005), under(0.1), under(0.25)]).toEqual([1, 2, 2, 3]);
  });

  it('judges each sample against its own arming, so one stall is counted once', () => {
    const { lag, period } = sampler();
    lag.start();
    period(500);
    period(0);
    expect(lag.snapshot().sum).toBeCloseTo(0.5, 9);
    expect(lag.snapshot().count).toBe(2);
  });

  it('counts a timer that fires early on the stopwatch as no lag', () => {
    const { lag, period } = sampler();
    lag.start();
    period(-1);
    expect(lag.snapshot()).toMatchObject({ sum: 0, count: 1 });
  });

  it('samples nothing before start or after stop, and leaves no timer behind', () => {
    const { clock, lag, period } = sampler();
    period(0);
    lag.start();
    lag.start(); // idempotent: one timer, not two
    period(0);
    lag.stop();
    period(0);
    expect(lag.snapshot().count).toBe(1);
    expect(clock.pendingTimers()).toBe(0);
  });
});
