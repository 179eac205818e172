/**
 * JSON bodies checked against a JSON Schema, one way for every API that reads one (the
 * Marathon, Metronome and Chronos APIs of the two frameworks). A schema is written with
 * TypeBox, so that the checked JSON has a static type, and compiled once by ajv into a plain
 * function. What is wrong comes back as details `{path, errors}`: one entry a place, in the
 * order the schema lists its fields, each error a sentence saying what would be right and what
 * was there (`expected a number, got "lots"`).
 *
 * A path is a JSON pointer, except that an index into a list is written `(i)` after the list
 * (`/container/portMappings(0)/hostPort`): Marathon writes paths so, and its clients read them.
 *
 * Two annotations a schema may carry (ajv knows them as annotations, they check nothing):
 * - `message`: the error to give instead of the generic one, for every keyword of that schema
 *   (a string) or per keyword (`{required: '…', pattern: '…'}`); `{value}` in it becomes the
 *   JSON of the value found. A property's message also words its `required` error.
 * - `hints`: for a string value a client brings from another dialect, what to use instead
 *   (`{HTTP: 'use MESOS_HTTP'}`); it is added to the error in parentheses.
 *
 * A union (`anyOf`) reports the errors of the branch whose type the value has, as if only that
 * branch had been written; `null` is never named in an error, because every API here takes a
 * `null` it allows as "not given".
 *
 * What a schema cannot say (an id's path rules, a cron string, a port index within range) is
 * checked by code after the schema, which adds to the same `Report`.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { Type, type SchemaOptions, type Static, type TSchema } from '@sinclair/typebox';

/** One place in a JSON body and what is wrong there (the `details` of an API's refusal). */
export interface Detail { path: string; errors: string[] }

export type Checked<T> = { ok: true; value: T } | { ok: false; details: Detail[] };

const ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strictTypes: true, strictTuples: true });
ajv.addKeyword({ keyword: 'message', schemaType: ['string', 'object'] });
ajv.addKeyword({ keyword: 'hints', schemaType: 'object' });

/** A field the API knows and refuses, with why: `{persistent: refused('persistent volumes are not supported: …')}`. */
export const refused = (message: string) => Type.Unsafe<never>({ not: {}, message });

/**
 * One of a few strings: an `enum`, so one error names them all (TypeBox's union of literals is
 * an `anyOf`, one error a literal). No `type`: a value of another type gets the same one error.
 */
export const choice = <const V extends readonly string[]>(values: V, options: SchemaOptions = {}) =>
  Type.Unsafe<V[number]>({ ...options, enum: [...values] });

/** `T`, or `null` for "not given". */
export const nullable = <T extends TSchema>(schema: T, options: SchemaOptions = {}) => Type.Union([schema, Type.Null()], options);

/** A compiled schema. */
export class JsonSchema<S extends TSchema> {
  private readonly validate: ValidateFunction;

  constructor(readonly schema: S) {
    this.validate = ajv.compile(schema);
  }

  /** The schema's verdict alone. */
  check(json: unknown): Checked<Static<S>> {
    const report = this.report(json);
    return report.ok ? { ok: true, value: json as Static<S> } : { ok: false, details: report.details };
  }

  /** What the schema found wrong, for code that checks what it cannot to add to. */
  report(json: unknown): Report {
    const report = new Report(this.schema);
    if (this.validate(json)) return report;
    for (const e of prunedUnions(this.validate.errors ?? [])) {
      // Past the places listed, the top-level field is enough to know which parts to skip.
      if (report.full) report.unlisted(topOf(e));
      else report.note(pathOf(json, e), () => explain(e));
    }
    return report;
  }
}

/**
 * The most places a report lists. A body can be a megabyte of wrong items; past this many the
 * answer only says there are more, and each further problem marks just its top-level field as
 * wrong (so the checks after the schema still skip that part) instead of being worded.
 */
export const MAX_LISTED_PLACES = 100;

/** Problems by path: the schema's first, then those of the checks that come after it. */
export class Report {
  private readonly byPath = new Map<string, string[]>();
  /** Every path with a problem, listed or not. */
  private readonly wrongPaths = new Set<string>();
  /** Every path that has a problem below it: `clean` answers in the depth of a path, not the number of problems. */
  private readonly above = new Set<string>();
  private more = false;

  constructor(private readonly schema: TSchema) {}

  add(path: string, error: string): void {
    this.note(path, () => error);
  }

  /** A problem whose words are made only if it is listed. */
  note(path: string, words: () => string): void {
    const list = this.byPath.get(path);
    if (list) list.push(words());
    else if (this.full) this.unlisted(path);
    else {
      this.byPath.set(path, [words()]);
      this.wrong(path);
    }
  }

  /** A problem past the places listed: only known, so that `clean` still says no there. */
  unlisted(path: string): void {
    this.more = true;
    this.wrong(path);
  }

  get ok(): boolean {
    return this.wrongPaths.size === 0;
  }

  /** As many places listed as a report lists. */
  get full(): boolean {
    return this.byPath.size >= MAX_LISTED_PLACES;
  }

  /**
   * Nothing is wrong at `path`, above it or below it: code after the schema may trust that part
   * to have its schema's type even when other parts are wrong, so that every problem is reported
   * at once.
   */
  clean(path: string): boolean {
    return this.wrongPaths.size === 0 || (!this.above.has(path) && !this.wrongAtOrAbove(path));
  }

  /** The clean items of a list at `path` (none when the list itself is wrong), each with its path, for checks item by item. */
  items<T>(list: readonly T[] | null | undefined, path: string): [T, string][] {
    if (!Array.isArray(list) || this.wrongAtOrAbove(path)) return [];
    return list.map((item, i): [T, string] => [item, `${path}(${i})`]).filter(([, at]) => this.clean(at));
  }

  /** The problems in the order the schema lists the fields (then as they were added); that there are more, at the end. */
  get details(): Detail[] {
    const ranked = [...this.byPath].map(([path, errors]) => ({ path, errors, rank: rankOf(this.schema, segmentsOf(path)) }));
    ranked.sort((a, b) => compareRanks(a.rank, b.rank));
    const listed = ranked.map(({ path, errors }) => ({ path, errors }));
    return !this.more ? listed : [...listed, { path: '/', errors: [`and more problems past these ${MAX_LISTED_PLACES} places, not listed`] }];
  }

  private wrong(path: string): void {
    if (this.wrongPaths.has(path)) return;
    this.wrongPaths.add(path);
    for (const a of ancestorsOf(path)) this.above.add(a);
  }

  private wrongAtOrAbove(path: string): boolean {
    if (this.wrongPaths.size === 0) return false;   // the usual case: a body that fits
    return this.wrongPaths.has(path) || ancestorsOf(path).some((a) => this.wrongPaths.has(a));
  }
}

/** The paths above one, nearest last: `/a(0)/b` → `/a`, `/a(0)` (the root `/` is above every path). */
function ancestorsOf(path: string): string[] {
  const out: string[] = ['/'];
  for (let i = 1; i < path.length; i++) if (path[i] === '/' || path[i] === '(') out.push(path.slice(0, i));
  return out;
}

type Segment = string | number;
type Schema = Record<string, unknown>;

const isRecord = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The error's place: its value's JSON pointer read against the body, so that a list's index is told from a key. */
function pathOf(json: unknown, e: ErrorObject): string {
  const segments = e.instancePath === '' ? [] : e.instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required') segments.push(String((e.params as { missingProperty: string }).missingProperty));
  let at: unknown = json;
  let path = '';
  for (const s of segments) {
    path += Array.isArray(at) ? `(${s})` : `/${s}`;
    at = isRecord(at) || Array.isArray(at) ? (at as Record<string, unknown>)[s] : undefined;
  }
  return path === '' ? '/' : path;
}

/** The top-level field an error is in (a body's root is an object, so no index). */
function topOf(e: ErrorObject): string {
  const [, first] = e.instancePath.split('/', 2);
  if (first !== undefined) return `/${first.replace(/~1/g, '/').replace(/~0/g, '~')}`;
  return e.keyword === 'required' ? `/${(e.params as { missingProperty: string }).missingProperty}` : '/';
}

/** A path written as `pathOf` writes it, back into keys and indexes (for ordering only). */
function segmentsOf(path: string): Segment[] {
  const out: Segment[] = [];
  for (const part of path.split('/').slice(1)) {
    let key = part;
    const indexes: number[] = [];
    for (let open = key.lastIndexOf('('); key.endsWith(')') && open >= 0 && /^\d+$/.test(key.slice(open + 1, -1)); open = key.lastIndexOf('(')) {
      indexes.unshift(Number(key.slice(open + 1, -1)));
      key = key.slice(0, open);
    }
    if (key !== '' || indexes.length === 0) out.push(key);
    out.push(...indexes);
  }
  return out;
}

/** Where a path falls in the schema's order: each key's place among its object's properties, each index itself. */
function rankOf(schema: TSchema, segments: Segment[]): number[] {
  const rank: number[] = [];
  let s: unknown = schema;
  for (const seg of segments) {
    const here = branchWith(s, seg);
    if (typeof seg === 'number') {
      rank.push(seg);
      s = here?.items;
    } else {
      const keys = Object.keys(isRecord(here?.properties) ? here.properties : {});
      const i = keys.indexOf(seg);
      rank.push(i < 0 ? keys.length : i);
      s = i < 0 ? undefined : (here?.properties as Schema)[seg];
    }
  }
  return rank;
}

/** The schema itself, or the branch of its union that has the key (or the index). */
function branchWith(s: unknown, seg: Segment): Schema | undefined {
  if (!isRecord(s)) return undefined;
  if (!Array.isArray(s.anyOf)) return s;
  const has = (b: unknown) => isRecord(b) && (typeof seg === 'number' ? b.items !== undefined : isRecord(b.properties) && seg in b.properties);
  return (s.anyOf as unknown[]).find(has) as Schema | undefined;
}

function compareRanks(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

/** Keywords that say the value is not of a branch's kind at all (rather than wrong inside it). */
const MISFIT = new Set(['type', 'const', 'enum']);

/**
 * A failed union keeps the errors of the branch the value fits (its type, constant or choice),
 * or, when it fits none, one error for the union: the only branch but `null`'s errors, or the
 * union's own. `if` errors only repeat their branch's and go.
 *
 * ajv lists a failed union's branch errors just before the union's own error, so each union
 * looks back over its own errors only: the work is the number of errors times the unions'
 * nesting, not errors times unions (a body of 60,000 wrong list items stays linear).
 */
function prunedUnions(errors: ErrorObject[]): ErrorObject[] {
  const dropped = new Uint8Array(errors.length);
  const unions = [...errors.keys()].filter((k) => errors[k]!.keyword === 'anyOf')
    .sort((a, b) => errors[a]!.schemaPath.length - errors[b]!.schemaPath.length);
  for (const k of unions) {
    if (dropped[k]) continue;
    const u = errors[k]!;
    const prefix = `${u.schemaPath}/`;
    const byBranch: number[][] = (u.schema as unknown[]).map(() => []);
    for (let i = k - 1; i >= 0 && errors[i]!.schemaPath.startsWith(prefix); i--) byBranch[parseInt(errors[i]!.schemaPath.slice(prefix.length), 10)]?.push(i);
    const misfit = (i: number): boolean => errors[i]!.instancePath === u.instancePath && MISFIT.has(errors[i]!.keyword);
    const fits = byBranch.find((list) => list.length > 0 && !list.some(misfit));
    const only = onlyNotNull(u.schema as Schema[]);
    const kept = fits ?? (only !== undefined && !hasMessage(u.parentSchema) ? byBranch[only] : undefined);
    for (const list of byBranch) if (list !== kept) for (const i of list) dropped[i] = 1;
    if (kept) dropped[k] = 1;
  }
  return errors.filter((e, i) => !dropped[i] && e.keyword !== 'if');
}

/** The one branch of a union that is not `null`, if there is exactly one (`nullable(T)`). */
function onlyNotNull(branches: Schema[]): number | undefined {
  let only: number | undefined;
  for (const [b, schema] of branches.entries()) {
    if (schema.type === 'null') continue;
    if (only !== undefined) return undefined;
    only = b;
  }
  return only;
}

const hasMessage = (s: unknown): boolean => isRecord(s) && s.message !== undefined;

/** The error in words: the schema's own message where it has one, else the generic one; a hint after. */
function explain(e: ErrorObject): string {
  const text = messageOf(e) ?? generic(e);
  const hints = isRecord(e.parentSchema) && isRecord(e.parentSchema.hints) ? e.parentSchema.hints : {};
  const hint = typeof e.data === 'string' ? hints[e.data] : undefined;
  return `${text.replace(/\{value\}/g, () => show(e.data))}${typeof hint === 'string' ? ` (${hint})` : ''}`;
}

function messageOf(e: ErrorObject): string | undefined {
  const pick = (m: unknown, keyword: string): string | undefined =>
    typeof m === 'string' ? m : isRecord(m) && typeof m[keyword] === 'string' ? m[keyword] : undefined;
  const own = isRecord(e.parentSchema) ? e.parentSchema.message : undefined;
  if (e.keyword !== 'required') return pick(own, e.keyword);
  // A missing property is worded by its parent's `required` message, else by the property's own.
  const missing = (e.params as { missingProperty: string }).missingProperty;
  const properties = isRecord(e.parentSchema) && isRecord(e.parentSchema.properties) ? e.parentSchema.properties : {};
  return (isRecord(own) ? pick(own, 'required') : undefined) ?? pick((properties[missing] as Schema | undefined)?.message, 'required');
}

/** The longest value an error quotes: a whole body sent where a string belongs is not echoed back. */
const MAX_SHOWN = 80;

/**
 * A value as JSON, cut at `MAX_SHOWN` (a number JSON cannot write, which only code can give, as
 * itself); `quoted` writes a string in single quotes instead, as the errors naming a choice do.
 */
const show = (v: unknown): string => cut(typeof v === 'number' && !Number.isFinite(v) ? String(v) : JSON.stringify(v) ?? 'nothing');
const quoted = (v: unknown): string => (typeof v === 'string' ? `'${cut(v)}'` : show(v));
const cut = (text: string): string => (text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text);

/** "A or B", "A, B or C", "one of A, B, C, D". */
function choices(values: readonly unknown[]): string {
  const words = values.map((v) => (typeof v === 'string' ? v : show(v)));
  if (words.length > 3) return `one of ${words.join(', ')}`;
  return words.length === 1 ? words[0] as string : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1] as string}`;
}

const TYPE_WORDS: Record<string, string> = {
  integer: 'a whole number', number: 'a number', string: 'a string', boolean: 'true or false', object: 'an object', array: 'a list', null: 'null',
};

/** What a schema (a union's branch) takes, in words. */
function kindOf(s: unknown): string {
  if (!isRecord(s)) return 'something else';
  if (s.const !== undefined) return show(s.const);
  const types = ([] as unknown[]).concat(s.type ?? []).filter((t) => t !== 'null');
  return types.map((t) => TYPE_WORDS[String(t)] ?? String(t)).join(' or ') || 'something else';
}

function generic(e: ErrorObject): string {
  const p = e.params as { limit?: number; type?: string | string[]; allowedValues?: unknown[]; allowedValue?: unknown; pattern?: string };
  const got = (): string => show(e.data);
  const count = Array.isArray(e.data) || typeof e.data === 'string' ? e.data.length : 0;
  switch (e.keyword) {
    case 'type': return `expected ${kindOf({ type: p.type })}, got ${got()}`;
    case 'minimum': return `must be at least ${p.limit}, got ${got()}`;
    case 'maximum': return `must be at most ${p.limit}, got ${got()}`;
    case 'exclusiveMinimum': return `must be above ${p.limit}, got ${got()}`;
    case 'exclusiveMaximum': return `must be below ${p.limit}, got ${got()}`;
    case 'minLength': return p.limit === 1 ? 'must not be empty' : `must be at least ${p.limit} characters long, got ${count}`;
    case 'maxLength': return `must be at most ${p.limit} characters long, got ${count}`;
    case 'pattern': return `${quoted(e.data)} does not match ${p.pattern}`;
    case 'enum': return `${quoted(e.data)} is not ${choices(p.allowedValues ?? [])}`;
    case 'const': return `must be ${show(p.allowedValue)}, got ${got()}`;
    case 'minItems': return `expected at least ${p.limit} item${p.limit === 1 ? '' : 's'}, got ${count}`;
    case 'maxItems': return `expected at most ${p.limit} item${p.limit === 1 ? '' : 's'}, got ${count}`;
    case 'minProperties': return `expected at least ${p.limit} field${p.limit === 1 ? '' : 's'}`;
    case 'required': return 'is required';
    case 'not': return 'is not allowed here';
    case 'anyOf': return `expected ${(e.schema as Schema[]).filter((b) => b.type !== 'null').map(kindOf).join(' or ')}, got ${got()}`;
    default: return e.message ?? 'is not valid';
  }
}
