/**
 * Runs `fn` over `items` with at most `limit` calls in flight, in order of `items`; resolves
 * with the results in the same order, or rejects with the first failure once the calls
 * already started have settled. For bursts a server handles badly all at once (a Docker
 * engine removing hundreds of containers concurrently can deadlock: moby/moby#42545).
 */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  if (!(Number.isInteger(limit) && limit > 0)) throw new RangeError(`limit must be a whole number > 0, got ${limit}`);
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return out;
}
