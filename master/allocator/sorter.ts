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
  /**
   * Client ids, the one to serve first at the front. The array may be the sorter's own: read
   * it, do not keep it, and do not call `allocated`/`unallocated` while iterating it.
   */
  sort(): readonly string[];
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
  /** Scalar quantities held, by resource name; only names that count towards shares. */
  readonly held: Map<string, number>;
  share: number;
}

/** Bookkeeping both sorters share: clients, their holdings and their dominant shares. */
abstract class ShareBook implements Sorter {
  protected readonly clients = new Map<string, Client>();
  /** Totals of the names that count. A name the cluster has none of never counts. */
  private readonly totals: ReadonlyMap<string, number>;

  constructor(context: SorterContext) {
    const excluded = new Set(context.excludedResourceNames ?? []);
    const totals = new Map<string, number>();
    for (const [name, value] of scalarTotals(context.total)) {
      if (value > 0 && !excluded.has(name)) totals.set(name, value);
    }
    this.totals = totals;
  }

  add(clientId: string, weight = 1): void {
    assert(!this.clients.has(clientId), `sorter client '${clientId}' added twice`);
    assert(Number.isFinite(weight) && weight > 0, `weight of '${clientId}' must be a finite number > 0, got ${weight}`);
    const client: Client = { id: clientId, weight, held: new Map(), share: 0 };
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

  abstract sort(): readonly string[];

  /** Called after a client joins, with share 0. */
  protected abstract inserted(client: Client): void;
  /** Called before a client leaves. */
  protected abstract removing(client: Client): void;
  /** Sets `client.share` to `share`, keeping whatever order the sorter maintains. */
  protected abstract reshare(client: Client, share: number): void;

  private get(clientId: string): Client {
    const client = this.clients.get(clientId);
    assert(client, `sorter has no client '${clientId}'`);
    return client;
  }

  private change(client: Client, resources: Resources, sign: 1 | -1): void {
    let touched = false;
    for (const r of resources) {
      if (r.kind !== 'scalar' || !this.totals.has(r.name)) continue;
      const next = round3((client.held.get(r.name) ?? 0) + sign * r.value);
      assert(next >= 0, `client '${client.id}' gave back more ${r.name} than it held`);
      client.held.set(r.name, next);
      touched = true;
    }
    if (!touched) return;
    const share = this.dominantShare(client);
    if (share !== client.share) this.reshare(client, share);
  }

  private dominantShare(client: Client): number {
    let max = 0;
    for (const [name, held] of client.held) {
      const total = this.totals.get(name) as number;
      if (held / total > max) max = held / total;
    }
    return max / client.weight;
  }
}

/**
 * Dominant Resource Fairness: the client with the smallest weighted dominant share first,
 * ties by id so a cycle is reproducible. The order is kept sorted and each change moves one
 * client by binary search, instead of re-sorting everyone per decision: re-sorting was the
 * dominant cost of a Mesos allocation cycle until MESOS-9249.
 */
export class DrfSorter extends ShareBook {
  private readonly order: Client[] = [];
  private readonly ids: string[] = [];

  sort(): readonly string[] {
    return this.ids;
  }

  protected inserted(client: Client): void {
    this.place(client);
  }

  protected removing(client: Client): void {
    this.unplace(client);
  }

  protected reshare(client: Client, share: number): void {
    this.unplace(client);
    client.share = share;
    this.place(client);
  }

  /** The first index whose client sorts at or after (share, id). */
  private lowerBound(share: number, id: string): number {
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.order[mid] as Client;
      if (c.share < share || (c.share === share && c.id < id)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private place(client: Client): void {
    const at = this.lowerBound(client.share, client.id);
    this.order.splice(at, 0, client);
    this.ids.splice(at, 0, client.id);
  }

  private unplace(client: Client): void {
    const at = this.lowerBound(client.share, client.id);
    assert(this.order[at] === client, `DRF order lost client '${client.id}'`);
    this.order.splice(at, 1);
    this.ids.splice(at, 1);
  }
}

/**
 * A weighted random order, drawn afresh on every `sort()`: a client of weight 2 tends to come
 * before one of weight 1. Useful when fairness over time matters less than spreading offers.
 */
export class RandomSorter extends ShareBook {
  private readonly random: Random;
  private uniform = true;

  constructor(context: SorterContext) {
    super(context);
    this.random = context.random;
  }

  sort(): string[] {
    const clients = [...this.clients.values()];
    if (this.uniform) {
      for (let i = clients.length - 1; i > 0; i--) {
        const j = Math.floor(this.random.next() * (i + 1));
        [clients[i], clients[j]] = [clients[j] as Client, clients[i] as Client];
      }
      return clients.map((c) => c.id);
    }
    // Exponential race: each client draws a finishing time of mean 1/weight; earliest first.
    const keyed = clients.map((c) => ({ id: c.id, at: -Math.log(1 - this.random.next()) / c.weight }));
    keyed.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
    return keyed.map((k) => k.id);
  }

  protected inserted(client: Client): void {
    if (client.weight !== 1) this.uniform = false;
  }

  protected removing(): void {}

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
