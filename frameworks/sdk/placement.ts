/**
 * Where a task may run: an offer's agent checked against what the framework asks of its
 * attributes (rack, zone, os…) and its hostname. Pure. A refusal says which attribute and
 * why, in words fit for a decline reason, so the operator reading the offer log learns why
 * the work did not start there.
 */
import type { Offer } from '../../common/types';
import { InvalidArgumentError } from './errors';

/** What one attribute must be: exactly this value, one of these values, or matching this pattern. */
export type AttributeConstraint = string | readonly string[] | RegExp;

/**
 * What the agent must be, per attribute name — or `hostname`, for the agent's hostname. All
 * must hold; an agent without a named attribute matches nothing for it.
 *
 *   { zone: ['eu-west-1a', 'eu-west-1b'], rack: 'r7', hostname: /^web-/ }
 */
export type Constraints = Readonly<Record<string, AttributeConstraint>>;

/** The answer of `matchAttributes`: a match, or the reason there is none. */
export type Match = { ok: true } | { ok: false; reason: string };

/**
 * Whether `offer`'s agent satisfies every constraint. A pattern is tested as a RegExp, so
 * anchor it (`/^web-/`) to match whole names. When it does not match, `reason` names each
 * attribute that failed: `rack is 'r3' on h1, not 'r7'`.
 * Throws InvalidArgumentError for a constraint that is not a string, a list of strings or a
 * RegExp, or an empty list (which no agent could match).
 */
export function matchAttributes(offer: Pick<Offer, 'hostname' | 'attributes'>, constraints: Constraints): Match {
  const failures: string[] = [];
  for (const [name, wanted] of Object.entries(constraints)) {
    check(name, wanted);
    const value = name === 'hostname' ? offer.hostname : offer.attributes[name];
    if (value === undefined) {
      failures.push(`${offer.hostname} has no attribute ${name} (wanted ${describe(wanted)})`);
      continue;
    }
    if (!holds(wanted, value)) failures.push(`${name} is '${value}' on ${offer.hostname}, ${describeMiss(wanted)}`);
  }
  return failures.length === 0 ? { ok: true } : { ok: false, reason: failures.join('; ') };
}

function holds(wanted: AttributeConstraint, value: string): boolean {
  if (typeof wanted === 'string') return value === wanted;
  // search() ignores and restores lastIndex, so a /g or /y pattern gives the same answer every time
  if (wanted instanceof RegExp) return value.search(wanted) !== -1;
  return wanted.includes(value);
}

function describe(wanted: AttributeConstraint): string {
  if (typeof wanted === 'string') return `'${wanted}'`;
  if (wanted instanceof RegExp) return String(wanted);
  return wanted.length === 1 ? `'${wanted[0]}'` : `one of ${wanted.map((w) => `'${w}'`).join(', ')}`;
}

function describeMiss(wanted: AttributeConstraint): string {
  return wanted instanceof RegExp ? `which does not match ${String(wanted)}` : `not ${describe(wanted)}`;
}

function check(name: string, wanted: unknown): void {
  if (typeof wanted === 'string' || wanted instanceof RegExp) return;
  if (Array.isArray(wanted)) {
    if (wanted.length === 0) throw new InvalidArgumentError(`constraints.${name}`, 'an empty list matches no agent: give at least one value');
    const bad = wanted.find((w) => typeof w !== 'string');
    if (bad !== undefined) throw new InvalidArgumentError(`constraints.${name}`, `list items must be strings, got ${typeof bad}`);
    return;
  }
  throw new InvalidArgumentError(`constraints.${name}`, `must be a string, a list of strings or a RegExp, got ${wanted === null ? 'null' : typeof wanted}`);
}
