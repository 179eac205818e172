/**
 * Sorters decide who is asked first. The allocator keeps one sorter over roles and one per
 * role over that role's frameworks (Mesos `--role_sorter` / `--framework_sorter`), and only
 * ever talks to them through `Sorter`, so the fairness policy is swappable and testable alone.
 *
 * A sorter knows resources only as scalar quantities by name, summed over reservation roles:
 * that is all a dominant share needs, and keeping ranges and sets out makes an update O(names).
 */
import assert from 'node:assert/strict';
import type { Random } from '../../common/clock';
import { scalarTotals, type Resources } from '../../common/resources';

export interface Sorter {
  /** Adds a client with nothing allocated. `weight` (> 0, default 1) divides its share. */
  add(clientId: string, weight?: number): void;
  remove(clientId: string): void;
  has(clientId: string): boolean;
  /** The client now also holds `resources` (an offer made, a task launched). */
  allocated(clientId: string, resources: Resources): void;
  /** The client gave `resources` back. Giving back more than it holds is a bug. */
  unallocated(clientId: string, resources: Resources): void;
  /** Every client id, the one to serve first at the front. O(n log n): for tests and metrics. */
  sort(): string[];
  /**
   * The same order, lazily: the allocator's path, which usually stops at the first client.
   * Do not call `add`, `remove`, `allocated` or `unallocated` while walking it.
   */
  ordered(): Iterable<string>;
  /** The client's dominant share divided by its weight: 0 for nothing, 1 for the whole cluster. */
  share(clientId: string): number;
}

export interface SorterContext {
  /** The whole cluster's resources: the denominator of every share. */
  total: Resources;
  /** Used by the random sorter; the DRF sorter never touches it. */
  random: Random;
  /** Names left out of shares (Mesos `--fair_sharing_excluded_resource_names`). */
  excludedResourceNames?: readonly string[];
}

export type SorterFactory = (context: SorterContext) => Sorter;

export type SorterKind = 'drf' | 'random';

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

interface Client {
  readonly id: string;
  readonly weight: number;
  /** Scalar quantities held, indexed like `ShareBook.names`: only names that count towards shares. */
  readonly held: Float64Array;
  share: number;
  /** Where the client sits in the DRF heap. */
  pos: number;
}

/** Bookkeeping both sorters share: clients, their holdings and their dominant shares. */
abstract class ShareBook implements Sorter {
  protected readonly clients = new Map<string, Client>();
  /**
   * The names that count, and their cluster totals at the same index. A name the cluster has
   * none of never counts. Holdings are arrays over these: a change is a few array writes,
   * with no map to grow and nothing left for the collector.
   */
  private readonly index = new Map<string, number>();
  private readonly totals: number[] = [];

  constructor(context: SorterContext) {
    const excluded = new Set(context.excludedResourceNames ?? []);
    for (const [name, value] of scalarTotals(context.total)) {
      if (value > 0 && !excluded.has(name)) {
        this.index.set(name, this.totals.length);
        this.totals.push(value);
      }
    }
  }

  add(clientId: string, weight = 1): void {
    if (this.clients.has(clientId)) assert.fail(`sorter client '${clientId}' added twice`);
    if (!(Number.isFinite(weight) && weight > 0)) assert.fail(`weight of '${clientId}' must be a finite number > 0, got ${weight}`);
    const client: Client = { id: clientId, weight, held: new Float64Array(this.totals.length), share: 0, pos: -1 };
    this.clients.set(clientId, client);
    this.inserted(client);
  }

  remove(clientId: string): void {
    const client = this.get(clientId);
    this.removing(client);
    this.clients.delete(clientId);
  }

  has(clientId: string): boolean {
    return this.clients.has(clientId);
  }

  allocated(clientId: string, resources: Resources): void {
    this.change(this.get(clientId), resources, +1);
  }

  unallocated(clientId: string, resources: Resources): void {
    this.change(this.get(clientId), resources, -1);
  }

  share(clientId: string): number {
    return this.get(clientId).share;
  }

  abstract sort(): string[];
  abstract ordered(): Iterable<string>;

  /** Called after a client joins, with share 0. */
  protected abstract inserted(client: Client): void;
  /** Called before a client leaves. */
  protected abstract removing(client: Client): void;
  /** Sets `client.share` to `share`, keeping whatever order the sorter maintains. */
  protected abstract reshare(client: Client, share: number): void;

  // Hot path (twice per offer decision): messages are built only when a check fails.
  private get(clientId: string): Client {
    const client = this.clients.get(clientId);
    if (!client) assert.fail(`sorter has no client '${clientId}'`);
    return client;
  }

  private change(client: Client, resources: Resources, sign: 1 | -1): void {
    let touched = false;
    const held = client.held;
    for (let i = 0; i < resources.length; i++) {
      const r = resources[i] as Resources[number];
      if (r.kind !== 'scalar') continue;
      const k = this.index.get(r.name);
      if (k === undefined) continue;
      const next = round3((held[k] as number) + sign * r.value);
      if (next < 0) assert.fail(`client '${client.id}' gave back more ${r.name} than it held`);
      held[k] = next;
      touched = true;
    }
    if (!touched) return;
    const share = this.dominantShare(client);
    if (share !== client.share) this.reshare(client, share);
  }

  private dominantShare(client: Client): number {
    let max = 0;
    const held = client.held;
    for (let k = 0; k < held.length; k++) {
      const s = (held[k] as number) / (this.totals[k] as number);
      if (s > max) max = s;
    }
    return max / client.weight;
  }
}

const before = (a: Client, b: Client): boolean => a.share < b.share || (a.share === b.share && a.id < b.id);

/**
 * Dominant Resource Fairness: the client with the smallest weighted dominant share first,
 * ties by id so a cycle is reproducible.
 *
 * Clients sit in a binary min-heap keyed by (share, id). A share change moves one client in
 * O(log n), and `ordered()` walks the heap best-first, so the allocator pays for the clients
 * it looks at, usually one, and never for a full sort per decision: re-sorting was the
 * dominant cost of a Mesos allocation cycle until MESOS-9249.
 */
export class DrfSorter extends ShareBook {
  private readonly heap: Client[] = [];
  /** Bumped on every change, so a walk that outlives a change fails instead of lying. */
  private version = 0;

  sort(): string[] {
    return [...this.heap].sort((a, b) => (before(a, b) ? -1 : 1)).map((c) => c.id);
  }

  *ordered(): Generator<string, void, undefined> {
    const heap = this.heap;
    const version = this.version;
    if (heap.length === 0) return;
    yield (heap[0] as Client).id;
    // Best-first walk: a small heap of the indices whose parents were already yielded.
    const frontier: number[] = [];
    const push = (i: number): void => {
      if (i >= heap.length) return;
      frontier.push(i);
      for (let k = frontier.length - 1; k > 0;) {
        const parent = (k - 1) >> 1;
        if (!before(heap[frontier[k] as number] as Client, heap[frontier[parent] as number] as Client)) break;
        [frontier[k], frontier[parent]] = [frontier[parent] as number, frontier[k] as number];
        k = parent;
      }
    };
    push(1);
    push(2);
    while (frontier.length > 0) {
      assert(this.version === version, 'DRF sorter changed while its order was being walked');
      const i = frontier[0] as number;
      const last = frontier.pop() as number;
      if (frontier.length > 0) {
        frontier[0] = last;
        for (let k = 0; ;) {
          const l = 2 * k + 1;
          const r = l + 1;
          let m = k;
          if (l < frontier.length && before(heap[frontier[l] as number] as Client, heap[frontier[m] as number] as Client)) m = l;
          if (r < frontier.length && before(heap[frontier[r] as number] as Client, heap[frontier[m] as number] as Client)) m = r;
          if (m === k) break;
          [frontier[k], frontier[m]] = [frontier[m] as number, frontier[k] as number];
          k = m;
        }
      }
      yield (heap[i] as Client).id;
      push(2 * i + 1);
      push(2 * i + 2);
    }
  }

  protected inserted(client: Client): void {
    this.version++;
    client.pos = this.heap.length;
    this.heap.push(client);
    this.up(client.pos);
  }

  protected removing(client: Client): void {
    this.version++;
    const at = client.pos;
    assert(this.heap[at] === client, `DRF heap lost client '${client.id}'`);
    const last = this.heap.pop() as Client;
    if (last === client) return;
    this.heap[at] = last;
    last.pos = at;
    this.down(this.up(at));
  }

  protected reshare(client: Client, share: number): void {
    this.version++;
    const grew = share > client.share;
    client.share = share;
    if (grew) this.down(client.pos);
    else this.up(client.pos);
  }

  /** Moves the client at `i` towards the root while it sorts before its parent; returns where it ended. */
  private up(i: number): number {
    const heap = this.heap;
    const c = heap[i] as Client;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as Client;
      if (!before(c, p)) break;
      heap[i] = p;
      p.pos = i;
      i = parent;
    }
    heap[i] = c;
    c.pos = i;
    return i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const c = heap[i] as Client;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= heap.length) break;
      const r = l + 1;
      const child = r < heap.length && before(heap[r] as Client, heap[l] as Client) ? r : l;
      const ch = heap[child] as Client;
      if (!before(ch, c)) break;
      heap[i] = ch;
      ch.pos = i;
      i = child;
    }
    heap[i] = c;
    c.pos = i;
  }
}

/**
 * A weighted random order, drawn afresh on every walk: a client of weight 2 tends to come
 * before one of weight 1. Useful when fairness over time matters less than spreading offers.
 */
export class RandomSorter extends ShareBook {
  private readonly random: Random;
  /** Every client, in whatever order the last walk left them: walks permute it in place. */
  private readonly pool: Client[] = [];
  private uniform = true;

  constructor(context: SorterContext) {
    super(context);
    this.random = context.random;
  }

  sort(): string[] {
    return [...this.ordered()];
  }

  *ordered(): Generator<string, void, undefined> {
    const pool = this.pool;
    if (this.uniform) {
      // Fisher–Yates, one draw per client actually looked at.
      for (let i = 0; i < pool.length; i++) {
        const j = i + Math.floor(this.random.next() * (pool.length - i));
        [pool[i], pool[j]] = [pool[j] as Client, pool[i] as Client];
        yield (pool[i] as Client).id;
      }
      return;
    }
    // Exponential race: each client draws a finishing time of mean 1/weight; earliest first.
    const keyed = pool.map((c) => ({ id: c.id, at: -Math.log(1 - this.random.next()) / c.weight }));
    for (let i = 0; i < keyed.length; i++) {
      let m = i;
      for (let k = i + 1; k < keyed.length; k++) if ((keyed[k] as { at: number }).at < (keyed[m] as { at: number }).at) m = k;
      [keyed[i], keyed[m]] = [keyed[m] as { id: string; at: number }, keyed[i] as { id: string; at: number }];
      yield (keyed[i] as { id: string }).id;
    }
  }

  protected inserted(client: Client): void {
    this.pool.push(client);
    if (client.weight !== 1) this.uniform = false;
  }

  protected removing(client: Client): void {
    this.pool.splice(this.pool.indexOf(client), 1);
  }

  protected reshare(client: Client, share: number): void {
    client.share = share;
  }
}

export const drfSorter: SorterFactory = (context) => new DrfSorter(context);
export const randomSorter: SorterFactory = (context) => new RandomSorter(context);

/** The factory for a `--role_sorter` / `--framework_sorter` style flag value. */
export function sorterFactory(kind: SorterKind): SorterFactory {
  switch (kind) {
    case 'drf': return drfSorter;
    case 'random': return randomSorter;
  }
}
