/**
 * Offer ids carry the epoch of the master that made them: `offer-e<epoch>-<uuid>`. An offer is
 * only good with the leader that made it (its book holds it), and an id that names another epoch
 * says at once why an Accept of it must fail — "made by the leader of epoch 3; this leader is
 * epoch 4" — instead of the bare "unknown": a framework that kept an offer across a master
 * failover learns what happened. The uuid keeps ids unique across restarts of one epoch (a master
 * without election always has epoch 1).
 */
import { randomUUID } from 'crypto';

export function newOfferId(epoch: number): string {
  return `offer-e${epoch}-${randomUUID()}`;
}

/** The whole shape, uuid included, so that an id of an older master (`offer-<uuid>`) is never misread. */
const SHAPE = /^offer-e(\d+)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The epoch an offer id names, or undefined for an id of another shape (an older master's, a made-up one). */
export function offerEpoch(offerId: string): number | undefined {
  const m = SHAPE.exec(offerId);
  const epoch = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(epoch) ? epoch : undefined;
}

/** Why an offer id cannot be this leader's, or undefined when it may be (its epoch, or no epoch in it). */
export function otherEpoch(offerId: string, epoch: number): string | undefined {
  const made = offerEpoch(offerId);
  if (made === undefined || made === epoch) return undefined;
  return `offer ${offerId} was made by the leader of epoch ${made}; this leader is epoch ${epoch}`;
}
