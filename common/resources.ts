/**
 * Resource arithmetic: the one place that knows how cpus, mem, ports and friends add up.
 *
 * A `Resources` value is a normalized list: at most one entry per (name, role), scalars
 * rounded to three decimals (Mesos's fixed point, so 0.1 + 0.2 is 0.3), ranges sorted,
 * merged and non-overlapping, sets sorted without duplicates, empty entries dropped.
 * Every function here returns normalized values and never mutates its arguments.
 */

export type Range = readonly [begin: number, end: number];

export type Resource =
  | { readonly name: string; readonly role: string; readonly kind: 'scalar'; readonly value: number }
  | { readonly name: string; readonly role: string; readonly kind: 'ranges'; readonly ranges: readonly Range[] }
  | { readonly name: string; readonly role: string; readonly kind: 'set'; readonly items: readonly string[] };

export type Resources = readonly Resource[];

/** The role of resources that are not reserved for anyone. */
export const UNRESERVED = '*';

export class ResourceError extends Error {
  override readonly name = 'ResourceError';
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

const keyOf = (r: Resource): string => `${r.name}\u0000${r.role}`;

function isEmpty1(r: Resource): boolean {
  switch (r.kind) {
    case 'scalar': return r.value <= 0;
    case 'ranges': return r.ranges.length === 0;
    case 'set': return r.items.length === 0;
  }
}

export function mergeRanges(ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].filter(([b, e]) => b <= e).sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [b, e] of sorted) {
    const last = out[out.length - 1];
    if (last && b <= last[1] + 1) last[1] = Math.max(last[1], e);
    else out.push([b, e]);
  }
  return out;
}

function subtractRanges(from: readonly Range[], take: readonly Range[]): Range[] {
  let out: Range[] = mergeRanges(from);
  for (const [tb, te] of mergeRanges(take)) {
    const next: Range[] = [];
    for (const [b, e] of out) {
      if (te < b || tb > e) { next.push([b, e]); continue; }
      if (b < tb) next.push([b, tb - 1]);
      if (e > te) next.push([te + 1, e]);
    }
    out = next;
  }
  return out;
}

function combine(a: Resource, b: Resource): Resource {
  if (a.kind !== b.kind) {
    throw new ResourceError(`resource '${a.name}' is a ${a.kind} in one place and a ${b.kind} in another`);
  }
  switch (a.kind) {
    case 'scalar': return { ...a, value: round3(a.value + (b as typeof a).value) };
    case 'ranges': return { ...a, ranges: mergeRanges([...a.ranges, ...(b as typeof a).ranges]) };
    case 'set': return { ...a, items: [...new Set([...a.items, ...(b as typeof a).items])].sort() };
  }
}

function normalize1(r: Resource): Resource {
  const role = r.role === '' ? UNRESERVED : r.role;
  switch (r.kind) {
    case 'scalar': return { name: r.name, role, kind: 'scalar', value: round3(r.value) };
    case 'ranges': return { name: r.name, role, kind: 'ranges', ranges: mergeRanges(r.ranges) };
    case 'set': return { name: r.name, role, kind: 'set', items: [...new Set(r.items)].sort() };
  }
}

/** Code-unit order by name, then role: the same on every machine, whatever its locale. */
const byKey = (a: Resource, b: Resource): number => {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.role !== b.role) return a.role < b.role ? -1 : 1;
  return 0;
};

/**
 * Whether `rs` is already what `normalize` would return. Most values passed around are
 * (everything here returns normalized values), and checking is a scan that allocates
 * nothing: the allocator's hot loop spent most of its time re-normalizing normalized values.
 */
export function isNormalizedResources(rs: Resources): boolean {
  for (let i = 0; i < rs.length; i++) {
    const r = rs[i]!;
    if (r.role === '' || isEmpty1(r)) return false;
    if (i > 0 && byKey(rs[i - 1]!, r) >= 0) return false;
    switch (r.kind) {
      case 'scalar':
        if (round3(r.value) !== r.value) return false;
        break;
      case 'ranges':
        for (let k = 0; k < r.ranges.length; k++) {
          const [b, e] = r.ranges[k]!;
          if (b > e || (k > 0 && r.ranges[k - 1]![1] + 1 >= b)) return false;
        }
        break;
      case 'set':
        for (let k = 1; k < r.items.length; k++) if (!(r.items[k - 1]! < r.items[k]!)) return false;
        break;
    }
  }
  return true;
}

/** Merges entries with the same (name, role), drops empty ones, sorts by name then role. */
export function normalize(rs: Resources): Resources {
  if (isNormalizedResources(rs)) return rs;
  const byKeyMap = new Map<string, Resource>();
  for (const raw of rs) {
    const r = normalize1(raw);
    const prev = byKeyMap.get(keyOf(r));
    byKeyMap.set(keyOf(r), prev ? combine(prev, r) : r);
  }
  return [...byKeyMap.values()].filter((r) => !isEmpty1(r)).sort(byKey);
}

export function add(a: Resources, b: Resources): Resources {
  return normalize([...a, ...b]);
}

/** a − b. Subtracting what is not there is a caller's bug, so check `contains` first. */
export function subtract(a: Resources, b: Resources): Resources {
  const out = new Map(normalize(a).map((r) => [keyOf(r), r] as const));
  for (const r of normalize(b)) {
    const have = out.get(keyOf(r));
    if (!have) continue;
    if (have.kind !== r.kind) throw new ResourceError(`resource '${r.name}' is a ${have.kind}, not a ${r.kind}`);
    switch (have.kind) {
      case 'scalar': out.set(keyOf(r), { ...have, value: round3(have.value - (r as typeof have).value) }); break;
      case 'ranges': out.set(keyOf(r), { ...have, ranges: subtractRanges(have.ranges, (r as typeof have).ranges) }); break;
      case 'set': {
        const gone = new Set((r as typeof have).items);
        out.set(keyOf(r), { ...have, items: have.items.filter((i) => !gone.has(i)) });
        break;
      }
    }
  }
  return normalize([...out.values()]);
}

/**
 * Whether every part of `inner` is also in `outer`, role by role. A walk over the two sorted
 * lists; no maps, no re-sorting: the allocator asks this for every decline filter it passes.
 */
export function contains(outer: Resources, inner: Resources): boolean {
  return containsNormalized(normalize(outer), normalize(inner));
}

/**
 * `contains` for two values the caller knows are normalized (`isNormalizedResources`), without
 * checking again: the allocator's filter test, once per filter it passes.
 */
export function containsNormalized(o: Resources, inner: Resources): boolean {
  let j = 0;
  for (let i = 0; i < inner.length; i++) {
    const r = inner[i] as Resource;
    while (j < o.length && byKey(o[j]!, r) < 0) j++;
    const h = o[j];
    if (!h || byKey(h, r) !== 0 || h.kind !== r.kind) return false;
    switch (h.kind) {
      case 'scalar': if (round3(h.value - (r as typeof h).value) < 0) return false; break;
      case 'ranges': if (!sortedRangesContain(h.ranges, (r as typeof h).ranges)) return false; break;
      case 'set': if (!sortedItemsContain(h.items, (r as typeof h).items)) return false; break;
    }
  }
  return true;
}

/** Both merged and sorted (normalized): one pass. */
function sortedRangesContain(outer: readonly Range[], inner: readonly Range[]): boolean {
  let i = 0;
  for (const [b, e] of inner) {
    while (i < outer.length && outer[i]![1] < b) i++;
    const o = outer[i];
    if (!o || o[0] > b || e > o[1]) return false;
  }
  return true;
}

function sortedItemsContain(outer: readonly string[], inner: readonly string[]): boolean {
  let i = 0;
  for (const item of inner) {
    while (i < outer.length && outer[i]! < item) i++;
    if (outer[i] !== item) return false;
  }
  return true;
}

export function isEmpty(rs: Resources): boolean {
  return normalize(rs).length === 0;
}

export function equals(a: Resources, b: Resources): boolean {
  return contains(a, b) && contains(b, a);
}

/** The total of a scalar over all roles, 0 when absent. */
export function scalar(rs: Resources, name: string): number {
  let sum = 0;
  for (const r of rs) if (r.name === name && r.kind === 'scalar') sum += r.value;
  return round3(sum);
}

/** All ranges of a resource over all roles, merged. */
export function ranges(rs: Resources, name: string): Range[] {
  return mergeRanges(rs.flatMap((r) => (r.name === name && r.kind === 'ranges' ? r.ranges : [])));
}

/** The same resources with every entry moved to another role (an allocation to `role`). */
export function withRole(rs: Resources, role: string): Resources {
  return normalize(rs.map((r) => ({ ...r, role })));
}

/** Only the entries usable by `role`: unreserved ones and those reserved for it. */
export function usableBy(rs: Resources, role: string): Resources {
  return rs.filter((r) => r.role === UNRESERVED || r.role === role);
}

/** The scalar totals by name, over all roles: the view DRF shares are computed from. */
export function scalarTotals(rs: Resources): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rs) if (r.kind === 'scalar') out.set(r.name, round3((out.get(r.name) ?? 0) + r.value));
  return out;
}

export function scalarResource(name: string, value: number, role = UNRESERVED): Resource {
  return { name, role, kind: 'scalar', value: round3(value) };
}

export function rangesResource(name: string, rs: readonly Range[], role = UNRESERVED): Resource {
  return { name, role, kind: 'ranges', ranges: mergeRanges(rs) };
}

export function setResource(name: string, items: readonly string[], role = UNRESERVED): Resource {
  return { name, role, kind: 'set', items: [...new Set(items)].sort() };
}

/**
 * Parses the agent flag syntax: `cpus:4;mem:2048;ports:[31000-32000,8080-8080];disks:{a,b}`,
 * with an optional role as `cpus(prod):2`. Throws a ResourceError naming the bad part.
 */
export function parse(text: string): Resources {
  const out: Resource[] = [];
  for (const part of text.split(';').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-zA-Z_][\w.-]*)(?:\(([^)]+)\))?\s*:\s*(.+)$/.exec(part);
    if (!m) throw new ResourceError(`cannot parse resource '${part}': expected name:value, e.g. cpus:2 or ports:[31000-32000]`);
    const [, name, role = UNRESERVED, value] = m as unknown as [string, string, string | undefined, string];
    if (value.startsWith('[')) {
      if (!value.endsWith(']')) throw new ResourceError(`ranges of '${name}' must end with ']': '${value}'`);
      const rs: Range[] = value.slice(1, -1).split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
        const rm = /^(\d+)\s*-\s*(\d+)$/.exec(s);
        if (!rm) throw new ResourceError(`bad range '${s}' in '${name}': expected begin-end, e.g. 31000-32000`);
        const b = Number(rm[1]); const e = Number(rm[2]);
        if (b > e) throw new ResourceError(`bad range '${s}' in '${name}': begin is after end`);
        return [b, e] as const;
      });
      out.push(rangesResource(name, rs, role));
    } else if (value.startsWith('{')) {
      if (!value.endsWith('}')) throw new ResourceError(`set of '${name}' must end with '}': '${value}'`);
      out.push(setResource(name, value.slice(1, -1).split(',').map((s) => s.trim()).filter(Boolean), role));
    } else {
      const n = Number(value);
      if (!Number.isFinite(n) || n < 0) throw new ResourceError(`bad scalar '${value}' for '${name}': expected a number ≥ 0`);
      if (name === 'gpus' && !Number.isInteger(n)) throw new ResourceError(`gpus must be whole, got ${value}`);
      out.push(scalarResource(name, n, role));
    }
  }
  return normalize(out);
}

/** The inverse of `parse`, for logs, the CLI and error messages. */
export function format(rs: Resources): string {
  return normalize(rs).map((r) => {
    const head = r.role === UNRESERVED ? r.name : `${r.name}(${r.role})`;
    switch (r.kind) {
      case 'scalar': return `${head}:${r.value}`;
      case 'ranges': return `${head}:[${r.ranges.map(([b, e]) => `${b}-${e}`).join(',')}]`;
      case 'set': return `${head}:{${r.items.join(',')}}`;
    }
  }).join(';');
}
