/**
 * Marathon's placement constraints, checked against one offer: may another instance of the app
 * run on this agent, given where its instances already run? Pure. When the answer is no, it
 * says which constraint and why, in words fit for `/v2/queue` ("why is my app not starting?").
 *
 * A constraint's field is `hostname` (also `@hostname`) or the name of an agent attribute
 * (`@region`, `@zone` read the `region` and `zone` attributes). An agent without the attribute
 * satisfies only UNLIKE. LIKE and UNLIKE patterns run on RE2 (`../shared/user-pattern.ts`), in
 * time linear in the value, however the pattern is written.
 */
import { fullMatch, userPatternProblem } from '../shared/user-pattern';
import type { Constraint } from './app';

/** Where an instance runs, or would: the agent's hostname and attributes. */
export interface Placement {
  hostname: string;
  attributes: Readonly<Record<string, string>>;
}

export type PlacementVerdict = { ok: true } | { ok: false; reason: string };

export function fieldValue(field: string, at: Placement): string | undefined {
  if (field === 'hostname' || field === '@hostname') return at.hostname;
  const name = field.startsWith('@') ? field.slice(1) : field;
  return at.attributes[name];
}

/** Every constraint holds for `offer`, given the app's instances already `placed`. */
export function checkConstraints(constraints: readonly Constraint[], offer: Placement, placed: readonly Placement[]): PlacementVerdict {
  for (const c of constraints) {
    const why = violation(c, offer, placed);
    if (why) return { ok: false, reason: `${describe(c)}: ${why}` };
  }
  return { ok: true };
}

const describe = (c: Constraint): string => `[${[c.field, c.operator, ...(c.value !== undefined ? [c.value] : [])].map((x) => JSON.stringify(x)).join(', ')}]`;

/** Why `offer` breaks `c`, or undefined when it does not. */
function violation(c: Constraint, offer: Placement, placed: readonly Placement[]): string | undefined {
  const value = fieldValue(c.field, offer);
  if (value === undefined) {
    return c.operator === 'UNLIKE' ? undefined : `agent ${offer.hostname} has no ${c.field} attribute`;
  }
  const others = placed.map((p) => fieldValue(c.field, p)).filter((v): v is string => v !== undefined);
  const here = others.filter((v) => v === value).length;
  switch (c.operator) {
    case 'UNIQUE':
      return here > 0 ? `an instance already runs where ${c.field} is ${value}` : undefined;
    case 'CLUSTER': {
      const want = c.value ?? others[0];
      return want !== undefined && value !== want ? `${c.field} is ${value}, the app runs where it is ${want}` : undefined;
    }
    case 'IS':
      return value !== c.value ? `${c.field} is ${value}, not ${c.value ?? ''}` : undefined;
    case 'LIKE':
    case 'UNLIKE': {
      // Only an app stored before patterns were checked on submission can get here with a
      // pattern RE2 refuses; holding its instances back says so, where matching nothing
      // would let UNLIKE place them anywhere.
      const pattern = c.value ?? '';
      const bad = userPatternProblem(pattern);
      if (bad !== undefined) return bad;
      const matches = fullMatch(pattern, value);
      if (c.operator === 'LIKE') return matches ? undefined : `${c.field} ${value} does not match ${pattern}`;
      return matches ? `${c.field} ${value} matches ${pattern}` : undefined;
    }
    case 'MAX_PER': {
      const max = Number(c.value);
      return here >= max ? `${here} instance${here === 1 ? '' : 's'} already run where ${c.field} is ${value} (at most ${max})` : undefined;
    }
    case 'GROUP_BY': {
      // Spread evenly: only a value with the fewest instances takes the next one. Values
      // not seen yet count 0, until as many values as the constraint names have been used.
      const counts = new Map<string, number>();
      for (const v of others) counts.set(v, (counts.get(v) ?? 0) + 1);
      const groups = c.value !== undefined ? Number(c.value) : 0;
      const fewest = counts.size < groups || !counts.has(value) ? 0 : Math.min(...counts.values());
      return here > fewest ? `${here} instance${here === 1 ? '' : 's'} already run where ${c.field} is ${value}, other ${c.field} values have ${fewest}` : undefined;
    }
  }
}
