/**
 * Regular expressions that users hand us — the value of a LIKE or UNLIKE constraint, in an
 * app (Marathon) or a job (Chronos, Metronome) — matched against agents' hostnames and
 * attributes on every offer, in the framework's one shared process.
 *
 * They run on RE2 (re2js), never on JavaScript's RegExp: RegExp backtracks, so one app with
 * `(a+)+$` against a long attribute value would stall placement for every app (ReDoS). RE2
 * matches in time linear in the input, at the price of refusing what needs backtracking —
 * backreferences (`\1`) and lookaround (`(?=`, `(?!`, `(?<=`). Such a pattern is refused when
 * the app or job is submitted (`userPatternProblem`), so it never reaches an offer.
 *
 * Matching is Marathon's (Java's `Pattern.matches`): the whole value, not a part of it.
 */
import { RE2JS } from 're2js';

/** How many compiled patterns are kept: an app's constraint is checked on every offer. */
export const PATTERN_CACHE_SIZE = 1000;

type Compiled = { ok: true; re: RE2JS } | { ok: false; error: string };

// Insertion-ordered, so the first key is the least recently used (a hit is re-inserted).
const cache = new Map<string, Compiled>();

function compiled(source: string): Compiled {
  const hit = cache.get(source);
  if (hit !== undefined) {
    cache.delete(source);
    cache.set(source, hit);
    return hit;
  }
  let result: Compiled;
  try {
    result = { ok: true, re: RE2JS.compile(source) };
  } catch (err) {
    result = { ok: false, error: (err as Error).message };
  }
  if (cache.size >= PATTERN_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(source, result);
  return result;
}

/**
 * Why `source` cannot be a LIKE/UNLIKE pattern, in words for a 422, or undefined when it can.
 */
export function userPatternProblem(source: string): string | undefined {
  const c = compiled(source);
  if (c.ok) return undefined;
  return `'${source}' is not a regular expression RE2 accepts (matching runs in linear time: no backreferences, no lookahead or lookbehind): ${c.error}`;
}

/**
 * Whether `pattern` matches the whole of `value`. A pattern RE2 refuses matches nothing
 * (submission refuses such patterns; this only meets one stored before that check).
 */
export function fullMatch(pattern: string, value: string): boolean {
  const c = compiled(pattern);
  return c.ok && c.re.testExact(value);
}

/** How many compiled patterns are cached now (for tests of the bound). */
export function cachedPatternCount(): number {
  return cache.size;
}
