/**
 * A secondary index: key → the set of ids filed under it. A key whose set empties is dropped,
 * so an index over frameworks or agents that come and go does not keep one empty set for
 * every id it ever saw.
 */
export class SetIndex {
  private readonly sets = new Map<string, Set<string>>();

  add(key: string, id: string): void {
    let set = this.sets.get(key);
    if (!set) this.sets.set(key, (set = new Set()));
    set.add(id);
  }

  delete(key: string, id: string): void {
    const set = this.sets.get(key);
    if (!set) return;
    set.delete(id);
    if (set.size === 0) this.sets.delete(key);
  }

  /** The ids under `key`; empty when there are none. */
  get(key: string): ReadonlySet<string> {
    return this.sets.get(key) ?? EMPTY;
  }

  /** How many keys have at least one id. */
  get keys(): number {
    return this.sets.size;
  }
}

const EMPTY: ReadonlySet<string> = new Set();
