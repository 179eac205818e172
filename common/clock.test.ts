import { MAX_TIMEOUT_MS, systemClock } from './clock';

describe('systemClock.setTimeout', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('waits the whole of a delay longer than Node takes (40 days), instead of firing at once', () => {
    const fired = jest.fn();
    const days40 = 40 * 24 * 3600 * 1000;
    expect(days40).toBeGreaterThan(MAX_TIMEOUT_MS);
    systemClock.setTimeout(fired, days40);
    jest.advanceTimersByTime(days40 - 1);
    expect(fired).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it('cancels a long wait in any of its pieces', () => {
    const fired = jest.fn();
    const timer = systemClock.setTimeout(fired, 3 * MAX_TIMEOUT_MS);
    jest.advanceTimersByTime(MAX_TIMEOUT_MS + 5);
    timer.cancel();
    jest.advanceTimersByTime(3 * MAX_TIMEOUT_MS);
    expect(fired).not.toHaveBeenCalled();
  });
});
