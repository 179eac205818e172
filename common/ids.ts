import { randomUUID } from 'crypto';

/** A new unique id with a readable prefix, e.g. `offer-5f0c…`. */
export function newId(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}
