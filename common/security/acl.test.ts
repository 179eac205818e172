import fc from 'fast-check';
import {
  ACTIONS, ALL, OBJECT_FIELD, PermissionDenied, authorize, check, defaultAcls, groupsOf, isWithin,
  type Acls, type Action, type Decision, type Matcher, type Principal,
} from './acl';
import { AclError, parseAcls } from './acl-parse';

const web: Principal = { name: 'web', kind: 'framework' };
const services: Principal = { name: 'services', kind: 'framework' };
const jobs: Principal = { name: 'jobs', kind: 'framework' };
const alice: Principal = { name: 'alice', kind: 'operator', operatorRole: 'admin' };
const victor: Principal = { name: 'victor', kind: 'operator', operatorRole: 'viewer' };
const agent1: Principal = { name: 'agent-1', kind: 'agent' };

const allowed = (acls: unknown, action: Action, p: Principal, object?: string | typeof ALL): boolean =>
  authorize(parseAcls(acls), action, p, object).allowed;

describe('groups', () => {
  it('come from the kind: an admin operator is in operators and admins, a viewer in operators and viewers', () => {
    expect(groupsOf(alice)).toEqual(['operators', 'admins']);
    expect(groupsOf(victor)).toEqual(['operators', 'viewers']);
    expect(groupsOf({ name: 'o', kind: 'operator' })).toEqual(['operators']);
    expect(groupsOf(web)).toEqual(['frameworks']);
    expect(groupsOf(agent1)).toEqual(['agents']);
  });

  it('let a rule name principals by kind', () => {
    const acls = { run_tasks: [{ principals: { groups: ['frameworks'] }, users: { values: ['nobody'] } }] };
    expect(allowed(acls, 'run_tasks', web, 'nobody')).toBe(true);
    expect(allowed(acls, 'run_tasks', alice, 'nobody')).toBe(false);
    expect(allowed(acls, 'run_tasks', agent1, 'nobody')).toBe(false);
  });
});

describe('the matching rule', () => {
  it('first match wins: an allow before a deny allows, a deny before an allow denies', () => {
    const allow = { principals: { values: ['web'] }, users: { values: ['root'] } };
    const deny = { principals: { type: 'ANY' }, users: { type: 'NONE' } };
    expect(allowed({ run_tasks: [allow, deny] }, 'run_tasks', web, 'root')).toBe(true);
    expect(allowed({ run_tasks: [deny, allow] }, 'run_tasks', web, 'root')).toBe(false);
  });

  it('names the rule that decided', () => {
    const acls = parseAcls({ run_tasks: [
      { principals: { values: ['jobs'] }, users: { type: 'ANY' } },
      { principals: { values: ['web'] }, users: { type: 'NONE' } },
    ] });
    expect(authorize(acls, 'run_tasks', web, 'nobody')).toEqual({ allowed: false, rule: { action: 'run_tasks', index: 1 }, why: 'denied by run_tasks[1] (users: NONE)' });
    expect(authorize(acls, 'run_tasks', jobs, 'nobody')).toEqual({ allowed: true, rule: { action: 'run_tasks', index: 0 } });
  });

  it('when no rule matches, permissive decides, and it is false unless set', () => {
    const acls = { register_frameworks: [{ principals: { values: ['web'] }, roles: { values: ['web'] } }] };
    expect(authorize(parseAcls(acls), 'register_frameworks', jobs, 'jobs'))
      .toEqual({ allowed: false, why: 'no ACL rule allows it (permissive: false)' });
    expect(authorize(parseAcls({ ...acls, permissive: true }), 'register_frameworks', jobs, 'jobs')).toEqual({ allowed: true });
    expect(allowed({}, 'privileged', web)).toBe(false);
    expect(allowed({ permissive: true }, 'privileged', web)).toBe(true);
  });

  it('an object NONE denies its principals everything and stops the search, even under permissive', () => {
    const acls = { permissive: true, register_frameworks: [
      { principals: { values: ['web'] }, roles: { type: 'NONE' } },
      { principals: { values: ['web'] }, roles: { values: ['web'] } },
    ] };
    expect(allowed(acls, 'register_frameworks', web, 'web')).toBe(false);
    expect(allowed(acls, 'register_frameworks', jobs, 'web')).toBe(true); // no rule is about jobs
  });

  it('principals NONE means nobody may: the rule matches every principal and denies (Mesos\'s "no one else")', () => {
    const acls = { permissive: true, register_frameworks: [
      { principals: { values: ['web'] }, roles: { values: ['analytics'] } },
      { principals: { type: 'NONE' }, roles: { values: ['analytics'] } },
    ] };
    expect(allowed(acls, 'register_frameworks', web, 'analytics')).toBe(true);
    expect(allowed(acls, 'register_frameworks', jobs, 'analytics')).toBe(false);
    expect(allowed(acls, 'register_frameworks', jobs, 'other')).toBe(true);
  });

  it('ANY matches every principal and every object', () => {
    const acls = { kill_tasks: [{ principals: { type: 'ANY' }, framework_principals: { type: 'ANY' } }] };
    for (const p of [web, alice, victor, agent1]) expect(allowed(acls, 'kill_tasks', p, 'someone')).toBe(true);
  });

  it('ALL is matched by an ANY object only: values never grant everything', () => {
    const some = { view: [{ principals: { values: ['web'] }, framework_principals: { values: ['web', 'jobs'] } }] };
    const any = { view: [{ principals: { values: ['web'] }, framework_principals: { type: 'ANY' } }] };
    expect(allowed(some, 'view', web, 'jobs')).toBe(true);
    expect(allowed(some, 'view', web, ALL)).toBe(false);
    expect(allowed(any, 'view', web, ALL)).toBe(true);
  });

  it('a NONE object refuses ALL too, stopping the search', () => {
    const acls = { view: [
      { principals: { values: ['web'] }, framework_principals: { type: 'NONE' } },
      { principals: { type: 'ANY' }, framework_principals: { type: 'ANY' } },
    ] };
    expect(allowed(acls, 'view', web, ALL)).toBe(false);
    expect(allowed(acls, 'view', jobs, ALL)).toBe(true);
  });

  it('principal-only actions take no object; passing the wrong arity is a bug that throws', () => {
    const acls = parseAcls({ privileged: [{ principals: { values: ['web'] } }] });
    expect(authorize(acls, 'privileged', web).allowed).toBe(true);
    expect(() => authorize(acls, 'privileged', web, 'x')).toThrow(/privileged takes no object/);
    expect(() => authorize(acls, 'run_tasks', web)).toThrow(/run_tasks needs an object/);
  });
});

describe('host_volumes paths are prefixes, by whole components', () => {
  const acls = parseAcls({ host_volumes: [{ principals: { values: ['ops'] }, paths: { values: ['/data', '/srv/cache/'] } }] });
  const ops: Principal = { name: 'ops', kind: 'framework' };

  it.each([
    ['/data', true], ['/data/x', true], ['/data/x/y', true], ['/database', false], ['/dat', false], ['/', false],
    ['/srv/cache', true], ['/srv/cache/a', true], ['/srv/cached', false], ['/srv', false],
  ])('%s → %s', (path, expected) => {
    expect(authorize(acls, 'host_volumes', ops, path).allowed).toBe(expected);
  });

  it('a rule for / grants every path', () => {
    expect(allowed({ host_volumes: [{ principals: { values: ['ops'] }, paths: { values: ['/'] } }] }, 'host_volumes', ops, '/etc/shadow')).toBe(true);
  });

  it('isWithin compares components, not characters', () => {
    expect(isWithin('/data/x', '/data')).toBe(true);
    expect(isWithin('/data', '/data')).toBe(true);
    expect(isWithin('/database', '/data')).toBe(false);
    expect(isWithin('/x', '/')).toBe(true);
  });
});

describe('parseAcls refuses bad JSON with an AclError naming where', () => {
  const rule = { principals: { type: 'ANY' }, users: { type: 'ANY' } };
  it.each([
    ['not an object', [], '', /must be a JSON object/],
    ['permissive not a boolean', { permissive: 'no' }, 'permissive', /true or false/],
    ['an unknown action', { launch_tasks: [] }, 'launch_tasks', /unknown action; the keys are permissive, register_frameworks/],
    ['a Mesos name', { shutdown_frameworks: [] }, 'shutdown_frameworks', /Mesos's shutdown_frameworks is teardown_frameworks here/],
    ['rules not an array', { run_tasks: rule }, 'run_tasks', /array of rules/],
    ['a rule not an object', { run_tasks: [rule, 'x'] }, 'run_tasks[1]', /a rule must be an object/],
    ['an unknown field', { run_tasks: [{ ...rule, roles: { type: 'ANY' } }] }, 'run_tasks[0].roles', /a run_tasks rule has principals and users/],
    ['an object field on a principal-only action', { privileged: [{ principals: { type: 'ANY' }, images: { type: 'ANY' } }] }, 'privileged[0].images', /has principals$/],
    ['a missing object entity', { run_tasks: [rule, rule, { principals: { type: 'ANY' } }] }, 'run_tasks[2].users', /missing; .* not read as ANY/],
    ['missing principals', { run_tasks: [{ users: { type: 'ANY' } }] }, 'run_tasks[0].principals', /missing/],
    ['an entity with two kinds', { run_tasks: [{ ...rule, users: { type: 'ANY', values: ['x'] } }] }, 'run_tasks[0].users', /exactly one of .*; this one has values and type/],
    ['an entity with no kind', { run_tasks: [{ ...rule, users: {} }] }, 'run_tasks[0].users', /this one has none/],
    ['an unknown entity field', { run_tasks: [{ ...rule, users: { value: ['x'] } }] }, 'run_tasks[0].users.value', /unknown field/],
    ['a type other than ANY or NONE', { run_tasks: [{ ...rule, users: { type: 'SOME' } }] }, 'run_tasks[0].users.type', /"ANY" or "NONE"/],
    ['an empty values array', { run_tasks: [{ ...rule, users: { values: [] } }] }, 'run_tasks[0].users.values', /non-empty array .* use \{"type": "NONE"\}/],
    ['a non-string value', { run_tasks: [{ ...rule, users: { values: ['a', 7] } }] }, 'run_tasks[0].users.values[1]', /non-empty string, got 7/],
    ['an unknown group', { run_tasks: [{ ...rule, principals: { groups: ['frameworks', 'root'] } }] }, 'run_tasks[0].principals.groups[1]', /unknown group 'root'; the groups are admins, viewers/],
    ['groups on an object', { run_tasks: [{ ...rule, users: { groups: ['admins'] } }] }, 'run_tasks[0].users.groups', /principals only/],
    ['a relative host_volumes path', { host_volumes: [{ principals: { type: 'ANY' }, paths: { values: ['/ok', 'data'] } }] }, 'host_volumes[0].paths.values[1]', /'data' is not an absolute path/],
  ])('%s', (_what, json, path, message) => {
    let error: unknown;
    try { parseAcls(json); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(AclError);
    expect((error as AclError).path).toBe(path);
    expect((error as AclError).message).toMatch(message);
  });
});

describe('PermissionDenied and check', () => {
  const acls = parseAcls({ run_tasks: [
    { principals: { type: 'ANY' }, users: { values: ['nobody'] } },
    { principals: { values: ['web'] }, users: { type: 'NONE' } },
  ] });

  it('says who may not do what to what, and which rule refused', () => {
    let error: unknown;
    try { check(acls, 'run_tasks', web, 'root'); } catch (e) { error = e; }
    expect(error).toBeInstanceOf(PermissionDenied);
    expect(error).toMatchObject({ principal: web, action: 'run_tasks', object: 'root', rule: { action: 'run_tasks', index: 1 } });
    expect((error as Error).message).toBe("principal 'web' may not run_tasks as user 'root': denied by run_tasks[1] (users: NONE)");
  });

  it('or that no rule allows it', () => {
    expect(() => check(acls, 'view', web, ALL)).toThrow("principal 'web' may not view of every framework principal: no ACL rule allows it (permissive: false)");
    expect(() => check(acls, 'privileged', web)).toThrow("principal 'web' may not privileged: no ACL rule allows it (permissive: false)");
  });

  it('returns quietly when allowed', () => {
    expect(() => check(acls, 'run_tasks', web, 'nobody')).not.toThrow();
  });
});

describe('the default ACLs of agora up', () => {
  const acls = parseAcls(defaultAcls({ frameworks: [{ principal: 'services', roles: ['services'] }, { principal: 'jobs', roles: ['jobs', 'batch'] }] }));

  it('let an admin do every action to every object', () => {
    for (const action of ACTIONS) {
      const object = OBJECT_FIELD[action] === null ? undefined : action === 'host_volumes' ? '/etc' : 'anything';
      expect(authorize(acls, action, alice, object).allowed).toBe(true);
      if (object !== undefined) expect(authorize(acls, action, alice, ALL).allowed).toBe(true);
    }
  });

  it('let named admins do everything too', () => {
    const named = parseAcls(defaultAcls({ admins: ['root-ops'], frameworks: [] }));
    const ops: Principal = { name: 'root-ops', kind: 'operator' };
    expect(authorize(named, 'privileged', ops).allowed).toBe(true);
    expect(authorize(named, 'mark_agent_gone', ops, 'agent-1').allowed).toBe(true);
  });

  it('let a viewer view everything and do nothing else', () => {
    expect(authorize(acls, 'view', victor, ALL).allowed).toBe(true);
    expect(authorize(acls, 'kill_tasks', victor, 'services').allowed).toBe(false);
    expect(authorize(acls, 'update_weights', victor, 'services').allowed).toBe(false);
    expect(authorize(acls, 'access_sandboxes', victor, 'nobody').allowed).toBe(false);
  });

  it("let framework 'services' register with role services, but not jobs nor *", () => {
    expect(authorize(acls, 'register_frameworks', services, 'services').allowed).toBe(true);
    expect(authorize(acls, 'register_frameworks', services, 'jobs').allowed).toBe(false);
    expect(authorize(acls, 'register_frameworks', services, '*').allowed).toBe(false);
    expect(authorize(acls, 'register_frameworks', jobs, 'batch').allowed).toBe(true);
  });

  it('let a framework run tasks as nobody but not as root', () => {
    expect(authorize(acls, 'run_tasks', services, 'nobody').allowed).toBe(true);
    expect(authorize(acls, 'run_tasks', services, 'root').allowed).toBe(false);
    const custom = parseAcls(defaultAcls({ frameworks: [{ principal: 'services', roles: [] }], defaultUser: 'agora' }));
    expect(authorize(custom, 'run_tasks', services, 'agora').allowed).toBe(true);
    expect(authorize(custom, 'run_tasks', services, 'nobody').allowed).toBe(false);
  });

  it("let a framework kill, tear down and view its own, not another's", () => {
    for (const action of ['kill_tasks', 'teardown_frameworks', 'view'] as const) {
      expect(authorize(acls, action, services, 'services').allowed).toBe(true);
      expect(authorize(acls, action, services, 'jobs').allowed).toBe(false);
    }
    expect(authorize(acls, 'view', services, ALL).allowed).toBe(false);
  });

  it('give a framework nothing else: no privileged, host network, host volumes, weights, agents or sandboxes', () => {
    expect(authorize(acls, 'privileged', services).allowed).toBe(false);
    expect(authorize(acls, 'host_network', services).allowed).toBe(false);
    expect(authorize(acls, 'host_volumes', services, '/srv').allowed).toBe(false);
    expect(authorize(acls, 'update_weights', services, 'services').allowed).toBe(false);
    expect(authorize(acls, 'mark_agent_gone', services, 'agent-1').allowed).toBe(false);
    expect(authorize(acls, 'access_sandboxes', services, 'nobody').allowed).toBe(false);
    expect(authorize(acls, 'run_tasks', agent1, 'nobody').allowed).toBe(false);
  });
});

describe('properties', () => {
  const name = fc.constantFrom('web', 'jobs', 'root', 'nobody', 'x');
  const principal = fc.record({
    name,
    kind: fc.constantFrom('operator' as const, 'framework' as const, 'agent' as const),
    operatorRole: fc.constantFrom('admin' as const, 'viewer' as const, undefined),
  }).map(({ operatorRole, ...p }): Principal => (operatorRole ? { ...p, operatorRole } : p));
  const entity = fc.oneof(
    fc.constant({ type: 'ANY' }), fc.constant({ type: 'NONE' }), fc.record({ values: fc.uniqueArray(name, { minLength: 1 }) }),
  );
  const principals = fc.oneof(entity, fc.record({ groups: fc.uniqueArray(fc.constantFrom('admins', 'viewers', 'operators', 'frameworks', 'agents'), { minLength: 1 }) }));
  const rule = fc.record({ principals, users: entity });
  const object = fc.oneof(name, fc.constant(ALL));

  it('a leading {principals: ANY, users: ANY} rule allows everything, whatever follows', () => {
    fc.assert(fc.property(fc.array(rule), fc.boolean(), principal, object, (rest, permissive, p, o) => {
      const acls = parseAcls({ permissive, run_tasks: [{ principals: { type: 'ANY' }, users: { type: 'ANY' } }, ...rest] });
      expect(authorize(acls, 'run_tasks', p, o).allowed).toBe(true);
    }));
  });

  it('adding rules after the rule that matched never changes the decision', () => {
    fc.assert(fc.property(fc.array(rule), fc.array(rule), fc.boolean(), principal, object, (rules, more, permissive, p, o) => {
      const before = authorize(parseAcls({ permissive, run_tasks: rules }), 'run_tasks', p, o);
      fc.pre(before.rule !== undefined);
      expect(authorize(parseAcls({ permissive, run_tasks: [...rules, ...more] }), 'run_tasks', p, o)).toEqual(before);
    }));
  });

  it('the index decides as a scan of every rule in order would (Mesos\'s loop, the reference)', () => {
    const matches = (m: Matcher, p: Principal | undefined, o: string | typeof ALL | undefined): boolean => {
      switch (m.kind) {
        case 'ANY': case 'NONE': return true;
        case 'values': return p ? m.values.has(p.name) : o !== ALL && m.values.has(o as string);
        case 'groups': return !!p && groupsOf(p).some((g) => m.groups.has(g));
        case 'paths': return o !== ALL && m.prefixes.some((prefix) => isWithin(o as string, prefix));
      }
    };
    const scan = (acls: Acls, p: Principal, o: string | typeof ALL): Decision =>
      acls.rules.run_tasks.find((r) => matches(r.principals, p, undefined) && matches(r.object, undefined, o))?.decision ?? acls.noMatch;
    fc.assert(fc.property(fc.array(rule, { maxLength: 30 }), fc.boolean(), principal, object, (rules, permissive, p, o) => {
      const acls = parseAcls({ permissive, run_tasks: rules });
      expect(authorize(acls, 'run_tasks', p, o)).toBe(scan(acls, p, o));
    }), { numRuns: 500 });
  });

  it('a parsed ACL cannot be changed', () => {
    const acls = parseAcls({ run_tasks: [{ principals: { type: 'ANY' }, users: { type: 'ANY' } }] });
    expect(Object.isFrozen(acls) && Object.isFrozen(acls.rules) && Object.isFrozen(acls.rules.run_tasks)).toBe(true);
  });
});
