/**
 * Decline filters: "framework F does not want these resources of agent A for role R until T".
 * Set by Decline and by the unused part of an Accept; cleared by Revive; gone when they
 * expire. The allocator reads them from the snapshot; this book only stores and prunes.
 */
import type { Filters } from '../common/types';
import { MAX_REFUSE_MS } from './config';
import type { OfferFilter } from './allocator/types';

/**
 * How long refused resources stay away. A filter shorter than the allocation interval would
 * be a no-op (MESOS-4302), so the interval is the floor; 365 days is the cap; a negative or
 * non-finite refuse time is not a wish anyone has, so it means the default.
 */
export function refuseMsFor(filters: Filters, defaultRefuseMs: number, allocationIntervalMs: number): number {
  const asked = filters.refuseMs;
  const refuse = asked === undefined || Number.isNaN(asked) || asked < 0 ? defaultRefuseMs : Math.min(asked, MAX_REFUSE_MS);
  return Math.max(refuse, allocationIntervalMs);
}

export class FilterBook {
  private filters: OfferFilter[] = [];

  add(filter: OfferFilter): void {
    this.filters.push(filter);
  }

  /** The filters still in force at `now`; expired ones are dropped for good. */
  active(now: number): readonly OfferFilter[] {
    this.filters = this.filters.filter((f) => f.expiresAt > now);
    return this.filters;
  }

  /** Revive: the framework wants offers for these roles again, whatever it declined. */
  clear(frameworkId: string, roles: ReadonlySet<string>): void {
    this.filters = this.filters.filter((f) => f.frameworkId !== frameworkId || !roles.has(f.role));
  }

  removeFramework(frameworkId: string): void {
    this.filters = this.filters.filter((f) => f.frameworkId !== frameworkId);
  }
}
