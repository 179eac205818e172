import { mapLimited } from './limit';

/** A call that stays open until the test releases it, so the number in flight can be seen. */
function gate() {
  let inFlight = 0;
  let most = 0;
  const waiting: (() => void)[] = [];
  const call = async (x: number): Promise<number> => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise<void>((resolve) => waiting.push(resolve));
    inFlight--;
    return x * 2;
  };
  const releaseAll = async (): Promise<void> => {
    while (waiting.length > 0) {
      waiting.splice(0).forEach((r) => r());
      await new Promise((r) => setImmediate(r));
    }
  };
  return { call, releaseAll, most: () => most, inFlight: () => inFlight };
}

describe('mapLimited', () => {
  it('never has more than `limit` calls in flight, and keeps the order of the results', async () => {
    const g = gate();
    const done = mapLimited([1, 2, 3, 4, 5, 6, 7], 3, g.call);
    await new Promise((r) => setImmediate(r));
    expect(g.inFlight()).toBe(3);
    await g.releaseAll();
    expect(await done).toEqual([2, 4, 6, 8, 10, 12, 14]);
    expect(g.most()).toBe(3);
  });

  it('stops starting calls after a failure and rejects with it', async () => {
    const started: number[] = [];
    const result = mapLimited([1, 2, 3, 4], 1, async (x) => {
      started.push(x);
      if (x === 2) throw new Error('two failed');
      return x;
    });
    await expect(result).rejects.toThrow('two failed');
    expect(started).toEqual([1, 2]);
  });

  it('refuses a limit that is not a whole number above 0', async () => {
    await expect(mapLimited([1], 0, async (x) => x)).rejects.toThrow(RangeError);
    expect(await mapLimited([], 4, async (x) => x)).toEqual([]);
  });
});
