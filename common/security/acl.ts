/**
 * Mesos-style ACLs: which principal may perform which action on which object. Pure: JSON in,
 * compiled and frozen `Acls` out (`parseAcls`, in acl-parse.ts), then decisions (`authorize`,
 * `check`). No I/O.
 *
 * Words: a *principal* is who asks (an operator, a framework or an agent, by name); a *group*
 * is a set of principals named after their kind (`admins`, `viewers`, `operators`,
 * `frameworks`, `agents`); an *action* is what they ask to do (`run_tasks`…); an *object* is
 * what the action is done to (a role, a unix user, a host path…; `ALL` means everything); a
 * *rule* is one entry of an action's list: a principals entity and an object entity.
 *
 * The matching rule implemented here (Mesos's local authorizer, `matches`/`allows` in
 * src/authorizer/local/authorizer.cpp):
 *   1. An action's rules are tried in order; the FIRST rule that matches decides, whatever
 *      follows it.
 *   2. A rule matches when its principals entity matches the principal AND its object entity
 *      matches the object. Principal-only actions (`privileged`, `host_network`) have no object
 *      entity: only the principals count.
 *   3. An entity matches: `ANY` anything; `NONE` anything too (so that it can refuse it);
 *      `values` a principal by name or an object by equality (`host_volumes`: a path at or
 *      under one of the values, whole components); `groups` a principal in one of the groups.
 *      The object `ALL` is matched by `ANY` and `NONE` only, never by `values`: to be granted
 *      everything you need a rule that grants everything.
 *   4. A matching rule allows, unless either of its entities is `NONE`: then it denies. So
 *      `{principals: {values: ['x']}, roles: {type: 'NONE'}}` reads "x may register with no
 *      role", and `{principals: {type: 'NONE'}, roles: {values: ['r']}}` "nobody may register
 *      with r"; both stop the search.
 *   5. When no rule matches, `permissive` decides. It defaults to false here (Mesos defaults
 *      to true): a missing rule should fail closed.
 *
 * `authorize` runs for every task of every Accept, so `parseAcls` does all the work it can:
 * values become Sets, each action's rules are indexed by the principal names and groups they
 * name (so a call tries only the rules that can be about its principal), every rule's verdict
 * and its explanation are built once, and a decision allocates nothing.
 */
import { AssertionError } from 'node:assert';
import { posix } from 'node:path';

export const ACTIONS = [
  'register_frameworks', 'run_tasks', 'teardown_frameworks', 'kill_tasks', 'update_weights',
  'mark_agent_gone', 'view', 'access_sandboxes', 'privileged', 'host_network', 'host_volumes',
] as const;
export type Action = (typeof ACTIONS)[number];

export type ObjectField = 'roles' | 'users' | 'framework_principals' | 'agents' | 'paths';

/** The name of each action's object field in the JSON; null for the principal-only actions. */
export const OBJECT_FIELD: Readonly<Record<Action, ObjectField | null>> = Object.freeze({
  register_frameworks: 'roles',
  run_tasks: 'users',
  teardown_frameworks: 'framework_principals',
  kill_tasks: 'framework_principals',
  update_weights: 'roles',
  mark_agent_gone: 'agents',
  view: 'framework_principals',
  access_sandboxes: 'users',
  privileged: null,
  host_network: null,
  host_volumes: 'paths',
});

/** The request concerns every object (e.g. `view` of the whole cluster state). */
export const ALL: unique symbol = Symbol('ALL');
export type AclObject = string | typeof ALL;

export const GROUPS = ['admins', 'viewers', 'operators', 'frameworks', 'agents'] as const;
export type Group = (typeof GROUPS)[number];

// One principal type for the whole folder: what a door authenticates is what the ACLs judge.
import type { Principal } from './credentials';
export type { Principal, PrincipalKind } from './credentials';

// Shared frozen arrays: groupsOf runs inside authorize and should not allocate.
const ADMIN_GROUPS: readonly Group[] = Object.freeze(['operators', 'admins'] as const);
const VIEWER_GROUPS: readonly Group[] = Object.freeze(['operators', 'viewers'] as const);
const OPERATOR_GROUPS: readonly Group[] = Object.freeze(['operators'] as const);
const FRAMEWORK_GROUPS: readonly Group[] = Object.freeze(['frameworks'] as const);
const AGENT_GROUPS: readonly Group[] = Object.freeze(['agents'] as const);

/** The groups a principal belongs to, from its kind (and an operator's role). */
export function groupsOf(p: Principal): readonly Group[] {
  switch (p.kind) {
    case 'operator':
      return p.operatorRole === 'admin' ? ADMIN_GROUPS : p.operatorRole === 'viewer' ? VIEWER_GROUPS : OPERATOR_GROUPS;
    case 'framework': return FRAMEWORK_GROUPS;
    case 'agent': return AGENT_GROUPS;
  }
}

/** A compiled entity. `paths` holds normalised absolute path prefixes (host_volumes). */
export type Matcher =
  | { readonly kind: 'ANY' }
  | { readonly kind: 'NONE' }
  | { readonly kind: 'values'; readonly values: ReadonlySet<string> }
  | { readonly kind: 'groups'; readonly groups: ReadonlySet<Group> }
  | { readonly kind: 'paths'; readonly prefixes: readonly string[] };

/** Where a rule is: `run_tasks[1]`. */
export interface RuleRef {
  readonly action: Action;
  readonly index: number;
}

export type Decision =
  | { readonly allowed: true; readonly rule?: RuleRef }
  | { readonly allowed: false; readonly rule?: RuleRef; readonly why: string };

export interface AclRule {
  readonly ref: RuleRef;
  readonly principals: Matcher;
  /** `ANY` for the principal-only actions. */
  readonly object: Matcher;
  /** What this rule decides when it matches, built once by `parseAcls`. */
  readonly decision: Decision;
}

/**
 * An action's rules by whom they can match, each list in rule order, so that `authorize` tries
 * only the rules about the principal asking (a rule naming two principals is in both lists).
 */
export interface RuleIndex {
  readonly byName: ReadonlyMap<string, readonly AclRule[]>;
  readonly byGroup: ReadonlyMap<Group, readonly AclRule[]>;
  /** Rules whose principals are ANY or NONE. */
  readonly everyone: readonly AclRule[];
}

export interface Acls {
  readonly permissive: boolean;
  /** Every rule, in order, as written. */
  readonly rules: Readonly<Record<Action, readonly AclRule[]>>;
  readonly index: Readonly<Record<Action, RuleIndex>>;
  /** The decision when no rule matches. */
  readonly noMatch: Decision;
}

/** `run_tasks[1]`. */
export function ruleName(ref: RuleRef): string {
  return `${ref.action}[${ref.index}]`;
}

/**
 * The decision for `principal` doing `action` to `object`. `object` is required exactly for
 * the actions with an object field (a host_volumes object is an absolute normalised path,
 * see `cleanAbsolutePath`); getting that wrong is a bug in the caller, so it throws.
 */
export function authorize(acls: Acls, action: Action, principal: Principal, object?: AclObject): Decision {
  if ((OBJECT_FIELD[action] === null) !== (object === undefined)) {
    throw new AssertionError({
      message: OBJECT_FIELD[action] === null ? `${action} takes no object, got ${String(object)}` : `${action} needs an object (a ${OBJECT_FIELD[action]} entry or ALL)`,
    });
  }
  // The first matching rule overall is the earliest of each list's first match.
  const index = acls.index[action];
  let first = firstMatch(index.byName.get(principal.name), object, undefined);
  for (const g of groupsOf(principal)) first = firstMatch(index.byGroup.get(g), object, first);
  first = firstMatch(index.everyone, object, first);
  return first ? first.decision : acls.noMatch;
}

/** The first rule of `rules` that matches `object` and comes before `best`; else `best`. */
function firstMatch(rules: readonly AclRule[] | undefined, object: AclObject | undefined, best: AclRule | undefined): AclRule | undefined {
  if (!rules) return best;
  for (const rule of rules) {
    if (best && rule.ref.index >= best.ref.index) return best;
    if (object === undefined || objectMatches(rule.object, object)) return rule;
  }
  return best;
}

/** The JSON an entity is written as; `groups` is Agora's, and only for principals. */
export type EntityJson = { values: string[] } | { type: 'ANY' | 'NONE' } | { groups: Group[] };
export type RuleJson = { principals: EntityJson } & Partial<Record<ObjectField, EntityJson>>;
export type AclsJson = { permissive?: boolean } & Partial<Record<Action, RuleJson[]>>;

/** A refusal, naming who asked, for what, and which rule (or the lack of one) refused it. */
export class PermissionDenied extends Error {
  override readonly name = 'PermissionDenied';
  constructor(
    readonly principal: Principal,
    readonly action: Action,
    readonly object: AclObject | undefined,
    readonly rule: RuleRef | undefined,
    readonly why: string,
  ) {
    super(`principal '${principal.name}' may not ${action}${describeObject(action, object)}: ${why}`);
  }
}

/** Throws PermissionDenied unless `authorize` allows. */
export function check(acls: Acls, action: Action, principal: Principal, object?: AclObject): void {
  const d = authorize(acls, action, principal, object);
  if (!d.allowed) throw new PermissionDenied(principal, action, object, d.rule, d.why);
}

/**
 * `p` as a host_volumes object: normalised, without a trailing slash. Undefined for a relative
 * path or one with NUL, which no rule should be asked about.
 */
export function cleanAbsolutePath(p: string): string | undefined {
  if (!posix.isAbsolute(p) || p.includes('\0')) return undefined;
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}

/** Whether the clean absolute `path` is `prefix` or lies under it, by whole components: /data holds /data/x, not /database. */
export function isWithin(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  return path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47 /* '/' */);
}

function objectMatches(m: Matcher, object: AclObject): boolean {
  switch (m.kind) {
    case 'ANY': case 'NONE': return true;
    case 'values': return object !== ALL && m.values.has(object);
    case 'paths': return object !== ALL && m.prefixes.some((prefix) => isWithin(object, prefix));
    case 'groups': return false;
  }
}

const OBJECT_WORDS: Readonly<Record<Action, readonly [preposition: string, noun: string] | null>> = {
  register_frameworks: ['with', 'role'],
  run_tasks: ['as', 'user'],
  teardown_frameworks: ['of', 'framework principal'],
  kill_tasks: ['of', 'framework principal'],
  update_weights: ['of', 'role'],
  mark_agent_gone: ['for', 'agent'],
  view: ['of', 'framework principal'],
  access_sandboxes: ['of', 'user'],
  privileged: null,
  host_network: null,
  host_volumes: ['for', 'host path'],
};

/** " as user 'root'", " of every framework principal", or "" for a principal-only action. */
function describeObject(action: Action, object: AclObject | undefined): string {
  const words = OBJECT_WORDS[action];
  if (!words || object === undefined) return '';
  return object === ALL ? ` ${words[0]} every ${words[1]}` : ` ${words[0]} ${words[1]} '${object}'`;
}

export interface DefaultAclsOptions {
  /** Principals that are admins by name, besides every operator in the admins group. */
  admins?: string[];
  /** Each framework principal and the roles it may register with. */
  frameworks: { principal: string; roles: string[] }[];
  /** The unprivileged user frameworks' tasks run as; 'nobody' when not given. */
  defaultUser?: string;
}

/**
 * The ACLs `agora up` writes, least privilege: admins may do everything; viewers may view
 * everything; each framework may register with its own roles, run tasks as the default user,
 * and view, kill the tasks of and tear down itself. Nothing else, and permissive is false.
 */
export function defaultAcls(o: DefaultAclsOptions): AclsJson {
  const any = { type: 'ANY' } as const;
  const admins: EntityJson[] = [{ groups: ['admins'] }, ...(o.admins?.length ? [{ values: [...o.admins] }] : [])];
  const grantAdmins = (action: Action): RuleJson[] => {
    const field = OBJECT_FIELD[action];
    return admins.map((principals) => (field ? { principals, [field]: any } : { principals }));
  };
  const own = (field: ObjectField, objects: (f: { principal: string; roles: string[] }) => string[]): RuleJson[] =>
    o.frameworks.filter((f) => objects(f).length > 0)
      .map((f) => ({ principals: { values: [f.principal] }, [field]: { values: objects(f) } }));
  const self = (f: { principal: string }): string[] => [f.principal];
  const acls: AclsJson = { permissive: false };
  for (const action of ACTIONS) acls[action] = grantAdmins(action);
  acls.view?.push({ principals: { groups: ['viewers'] }, framework_principals: any }, ...own('framework_principals', self));
  acls.register_frameworks?.push(...own('roles', (f) => [...f.roles]));
  acls.run_tasks?.push(...own('users', () => [o.defaultUser || 'nobody']));
  acls.kill_tasks?.push(...own('framework_principals', self));
  acls.teardown_frameworks?.push(...own('framework_principals', self));
  return acls;
}
