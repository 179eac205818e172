/**
 * The offer book: every outstanding offer, indexed by framework and agent. An offer leaves the
 * book exactly once — used by an Accept, declined, or rescinded — so an offer id is good for
 * one Accept and its resources can never be handed out twice.
 */
import type { Timer } from '../common/clock';
import { SetIndex } from './set-index';
import { add, type Resources } from '../common/resources';
import type { Offer } from '../common/types';

export interface OfferRecord {
  readonly offer: Offer;
  readonly offeredAt: number;
  /**
   * When OFFERS carrying it went to the framework: the end of the allocation cycle that made
   * it, where `offeredAt` is the cycle's start. Offer-to-Accept is timed from here, so a slow
   * cycle counts as the allocator's time, not the framework's.
   */
  sentAt?: number;
  /** The offer-timeout timer, when offers expire. */
  expiry?: Timer;
}

export class OfferBook {
  private readonly byId = new Map<string, OfferRecord>();
  private readonly byFramework = new SetIndex();
  private readonly byAgent = new SetIndex();

  add(record: OfferRecord): void {
    const { id, frameworkId, agentId } = record.offer;
    if (this.byId.has(id)) throw new Error(`offer ${id} is already in the book`);
    this.byId.set(id, record);
    this.byFramework.add(frameworkId, id);
    this.byAgent.add(agentId, id);
  }

  get(offerId: string): OfferRecord | undefined {
    return this.byId.get(offerId);
  }

  /** Takes the offer out of the book and stops its expiry timer. */
  remove(offerId: string): OfferRecord | undefined {
    const record = this.byId.get(offerId);
    if (!record) return undefined;
    this.byId.delete(offerId);
    this.byFramework.delete(record.offer.frameworkId, offerId);
    this.byAgent.delete(record.offer.agentId, offerId);
    record.expiry?.cancel();
    return record;
  }

  all(): OfferRecord[] {
    return [...this.byId.values()];
  }

  ofFramework(frameworkId: string): OfferRecord[] {
    return this.lookup(this.byFramework.get(frameworkId));
  }

  onAgent(agentId: string): OfferRecord[] {
    return this.lookup(this.byAgent.get(agentId));
  }

  /** What an agent has out in offers: part of neither its used nor its free resources. */
  offeredOn(agentId: string): Resources {
    return this.onAgent(agentId).reduce<Resources>((sum, r) => add(sum, r.offer.resources), []);
  }

  /** What a framework holds in offers, by role: it counts towards its DRF share. */
  offeredTo(frameworkId: string): Map<string, Resources> {
    const out = new Map<string, Resources>();
    for (const { offer } of this.ofFramework(frameworkId)) {
      out.set(offer.role, add(out.get(offer.role) ?? [], offer.resources));
    }
    return out;
  }

  get size(): number {
    return this.byId.size;
  }

  private lookup(ids: ReadonlySet<string>): OfferRecord[] {
    return [...ids].map((id) => this.byId.get(id) as OfferRecord);
  }
}
