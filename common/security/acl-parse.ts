/**
 * ACL JSON (the shape in this folder's README) compiled into frozen `Acls` for acl.ts to
 * decide with: every value checked, with an `AclError` naming the bad part by its path
 * (`run_tasks[2].users`); values become Sets, path prefixes are cleaned, each action's rules
 * are indexed by the principal names and groups they name, and every rule's verdict and its
 * explanation are built once, so that a decision allocates nothing.
 */
import {
  ACTIONS, cleanAbsolutePath, GROUPS, OBJECT_FIELD, ruleName,
  type AclRule, type Acls, type Action, type Decision, type Group, type Matcher, type RuleIndex, type RuleRef,
} from './acl';

/** ACL JSON that `parseAcls` refuses: `path` names the bad part (`run_tasks[2].users`). */
export class AclError extends Error {
  override readonly name = 'AclError';
  constructor(readonly path: string, readonly problem: string) {
    super(path ? `ACLs: ${path}: ${problem}` : `ACLs: ${problem}`);
  }
}

const ENTITY_HELP = `{"values": [...]}, {"type": "ANY"} or {"type": "NONE"}`;
const PRINCIPALS_HELP = `{"values": [...]}, {"groups": [...]}, {"type": "ANY"} or {"type": "NONE"}`;
// Mesos names an action differently: say so rather than only "unknown".
const MESOS_NAMES: Readonly<Record<string, Action>> = { shutdown_frameworks: 'teardown_frameworks' };

/** Compiles ACL JSON (the shape in this folder's README) into frozen `Acls`; throws AclError. */
export function parseAcls(json: unknown): Acls {
  if (!isRecord(json)) throw new AclError('', `must be a JSON object like {"permissive": false, "run_tasks": [...]}, got ${shape(json)}`);
  let permissive = false;
  const rules = Object.fromEntries(ACTIONS.map((a) => [a, Object.freeze([] as AclRule[])])) as Record<Action, readonly AclRule[]>;
  for (const [key, value] of Object.entries(json)) {
    if (key === 'permissive') {
      if (typeof value !== 'boolean') throw new AclError(key, `must be true or false, got ${shape(value)}`);
      permissive = value;
    } else if (!isAction(key)) {
      const mesos = MESOS_NAMES[key] ? ` (Mesos's ${key} is ${MESOS_NAMES[key]} here)` : '';
      throw new AclError(key, `unknown action${mesos}; the keys are permissive, ${ACTIONS.join(', ')}`);
    } else if (!Array.isArray(value)) {
      throw new AclError(key, `must be an array of rules, got ${shape(value)}`);
    } else {
      rules[key] = Object.freeze(value.map((raw, index) => parseRule({ action: key, index }, raw)));
    }
  }
  const noMatch: Decision = permissive
    ? Object.freeze({ allowed: true })
    : Object.freeze({ allowed: false, why: 'no ACL rule allows it (permissive: false)' });
  const index = Object.fromEntries(ACTIONS.map((a) => [a, indexRules(rules[a])])) as Record<Action, RuleIndex>;
  return Object.freeze({ permissive, rules: Object.freeze(rules), index: Object.freeze(index), noMatch });
}

function indexRules(rules: readonly AclRule[]): RuleIndex {
  const byName = new Map<string, AclRule[]>();
  const byGroup = new Map<Group, AclRule[]>();
  const everyone: AclRule[] = [];
  const add = <K>(map: Map<K, AclRule[]>, key: K, rule: AclRule): void => {
    const list = map.get(key);
    if (list) list.push(rule); else map.set(key, [rule]);
  };
  for (const rule of rules) {
    const p = rule.principals;
    if (p.kind === 'values') for (const name of p.values) add(byName, name, rule);
    else if (p.kind === 'groups') for (const g of p.groups) add(byGroup, g, rule);
    else everyone.push(rule);
  }
  return Object.freeze({ byName, byGroup, everyone: Object.freeze(everyone) });
}

function parseRule(ref: RuleRef, raw: unknown): AclRule {
  const at = ruleName(ref);
  const field = OBJECT_FIELD[ref.action];
  const fields = field ? ['principals', field] : ['principals'];
  const example = field ? `{"principals": {...}, "${field}": {...}}` : `{"principals": {...}}`;
  if (!isRecord(raw)) throw new AclError(at, `a rule must be an object like ${example}, got ${shape(raw)}`);
  for (const key of Object.keys(raw)) {
    if (!fields.includes(key)) throw new AclError(`${at}.${key}`, `unknown field; a ${ref.action} rule has ${fields.join(' and ')}`);
  }
  for (const key of fields) {
    if (raw[key] === undefined) {
      throw new AclError(`${at}.${key}`, `missing; give ${key === 'principals' ? PRINCIPALS_HELP : ENTITY_HELP} (an absent entity is not read as ANY)`);
    }
  }
  const principals = parseEntity(raw.principals, `${at}.principals`, 'principals');
  const object = field ? parseEntity(raw[field], `${at}.${field}`, field === 'paths' ? 'paths' : 'values') : ANY;
  const ruleRef = Object.freeze({ ...ref });
  const none = principals.kind === 'NONE' ? 'principals' : object.kind === 'NONE' ? field : undefined;
  const decision: Decision = none
    ? Object.freeze({ allowed: false, rule: ruleRef, why: `denied by ${at} (${none}: NONE)` })
    : Object.freeze({ allowed: true, rule: ruleRef });
  return Object.freeze({ ref: ruleRef, principals, object, decision });
}

const ANY: Matcher = Object.freeze({ kind: 'ANY' });
const NONE: Matcher = Object.freeze({ kind: 'NONE' });
const ENTITY_KINDS = ['values', 'type', 'groups'];

function parseEntity(raw: unknown, at: string, mode: 'principals' | 'values' | 'paths'): Matcher {
  const help = mode === 'principals' ? PRINCIPALS_HELP : ENTITY_HELP;
  if (!isRecord(raw)) throw new AclError(at, `must be one of ${help}, got ${shape(raw)}`);
  for (const key of Object.keys(raw)) {
    if (!ENTITY_KINDS.includes(key)) throw new AclError(`${at}.${key}`, `unknown field; an entity is one of ${help}`);
  }
  const kinds = ENTITY_KINDS.filter((k) => raw[k] !== undefined);
  if (kinds.length !== 1) {
    throw new AclError(at, `an entity is exactly one of ${help}; this one has ${kinds.length ? kinds.join(' and ') : 'none'}`);
  }
  if (raw.type !== undefined) {
    if (raw.type === 'ANY') return ANY;
    if (raw.type === 'NONE') return NONE;
    throw new AclError(`${at}.type`, `must be "ANY" or "NONE", got ${shape(raw.type)}`);
  }
  if (raw.groups !== undefined) {
    if (mode !== 'principals') throw new AclError(`${at}.groups`, `groups name principals only; give ${ENTITY_HELP}`);
    const groups = nonEmptyStrings(raw.groups, `${at}.groups`, 'group names');
    groups.forEach((g, i) => {
      if (!(GROUPS as readonly string[]).includes(g)) throw new AclError(`${at}.groups[${i}]`, `unknown group '${g}'; the groups are ${GROUPS.join(', ')}`);
    });
    return Object.freeze({ kind: 'groups', groups: new Set(groups as Group[]) });
  }
  const values = nonEmptyStrings(raw.values, `${at}.values`, mode === 'paths' ? 'absolute paths' : 'names');
  if (mode !== 'paths') return Object.freeze({ kind: 'values', values: new Set(values) });
  const prefixes = values.map((v, i) => {
    const clean = cleanAbsolutePath(v);
    if (clean === undefined) throw new AclError(`${at}.values[${i}]`, `'${v}' is not an absolute path; host_volumes paths are prefixes like /srv/data`);
    return clean;
  });
  return Object.freeze({ kind: 'paths', prefixes: Object.freeze(prefixes) });
}

function nonEmptyStrings(raw: unknown, at: string, what: string): string[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new AclError(at, `must be a non-empty array of ${what}, got ${shape(raw)}; to match nothing, use {"type": "NONE"}`);
  }
  raw.forEach((v, i) => {
    if (typeof v !== 'string' || v === '') throw new AclError(`${at}[${i}]`, `must be a non-empty string, got ${shape(v)}`);
  });
  return raw as string[];
}

function isAction(key: string): key is Action {
  return (ACTIONS as readonly string[]).includes(key);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** A short picture of a bad value for an error message. */
function shape(x: unknown): string {
  if (Array.isArray(x)) return x.length ? 'an array' : 'an empty array';
  if (x === null || typeof x !== 'object') return JSON.stringify(x) ?? String(x);
  return 'an object';
}
