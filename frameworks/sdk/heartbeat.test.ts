import { FakeClock } from '../../common/clock';
import { HeartbeatWatch } from './heartbeat';

describe('the heartbeat watch', () => {
  const watch = () => {
    const clock = new FakeClock();
    const fired: number[] = [];
    return { clock, fired, w: new HeartbeatWatch(clock, (silentMs) => fired.push(silentMs)) };
  };

  it('fires once the connection has been silent for the whole timeout: 3 intervals of 200 ms = 600 ms', () => {
    const { clock, fired, w } = watch();
    w.start(600);
    clock.advance(599);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual([600]);
    clock.advance(10_000);
    expect(fired).toEqual([600]);   // once per start
    expect(w.watching).toBe(false);
  });

  it('counts silence from the last event: events every 200 ms keep it quiet, then 600 ms after the last one it fires', () => {
    const { clock, fired, w } = watch();
    w.start(600);
    for (let i = 0; i < 20; i++) { clock.advance(200); w.saw(); }
    expect(fired).toEqual([]);
    clock.advance(599);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual([600]);
  });

  it('keeps one timer however many events arrive', () => {
    const { clock, w } = watch();
    w.start(600);
    for (let i = 0; i < 1000; i++) { clock.advance(1); w.saw(); }
    expect(clock.pendingTimers()).toBe(1);
  });

  it('fires no more once stopped, and a new start watches from then with the new timeout', () => {
    const { clock, fired, w } = watch();
    w.start(600);
    clock.advance(300);
    w.stop();
    clock.advance(10_000);
    expect(fired).toEqual([]);
    expect(clock.pendingTimers()).toBe(0);
    w.start(90);
    clock.advance(90);
    expect(fired).toEqual([90]);
  });

  it('refuses a timeout that is not a positive number of ms', () => {
    const { w } = watch();
    expect(() => w.start(0)).toThrow('heartbeat timeout must be a positive number of ms, got 0');
    expect(() => w.start(Number.NaN)).toThrow(RangeError);
  });
});
