import { parseApp, type App } from './app';
import { deploy, rollbackTargets, sameConfig } from './deploy';
import { applyChange, emptyState, type InstanceRecord, type ServicesState } from './model';
import { appDefinition } from './views';
import { actionDone, planApp } from './plan';

const app = (json: Record<string, unknown>): App => {
  const r = parseApp({ id: '/web', cmd: 'serve', ...json });
  if (!r.ok) throw new Error(JSON.stringify(r.details));
  return r.app;
};
let n = 0;
const opts = (force = false) => ({ force, version: `2026-01-01T00:00:0${n}.000Z`, deploymentId: `d${++n}`, now: n });

function deployed(s: ServicesState, a: App | null, o = opts(), extra: { restart?: boolean } = {}) {
  const r = deploy(s, [{ appId: '/web', app: a, ...extra }], o);
  if (!r.ok) throw new Error(`conflict with ${r.conflicts.map((d) => d.id).join(', ')}`);
  applyChange(s, r.change);
  return r.deployment;
}

const instance = (taskId: string, configVersion: string, extra: Partial<InstanceRecord> = {}): InstanceRecord => ({
  instanceId: taskId, taskId, appId: '/web', configVersion, version: configVersion, agentId: 'a', hostname: 'h', attributes: {},
  hostPorts: [], state: 'RUNNING', stagedAt: 1, ...extra,
});

describe('deployments from app changes', () => {
  beforeEach(() => { n = 0; });

  it('starts a new app, scales on a change of instances alone, restarts on any other change', () => {
    const s = emptyState();
    const start = deployed(s, app({ instances: 2 }));
    expect(start.actions).toEqual([{ action: 'StartApplication', app: '/web' }]);
    const v1 = s.apps.get('/web')!;
    expect(v1.configVersion).toBe(v1.version);
    s.deployments.clear();

    const scale = deployed(s, app({ instances: 5 }));
    expect(scale.actions).toEqual([{ action: 'ScaleApplication', app: '/web' }]);
    expect(s.apps.get('/web')).toMatchObject({ configVersion: v1.configVersion, app: { instances: 5 } });
    expect(s.apps.get('/web')!.version).not.toBe(v1.version);
    s.deployments.clear();

    const change = deployed(s, app({ instances: 5, env: { A: '1' } }));
    expect(change.actions).toEqual([{ action: 'RestartApplication', app: '/web' }]);
    expect(s.apps.get('/web')!.configVersion).toBe(change.version);
    s.deployments.clear();

    const restart = deployed(s, s.apps.get('/web')!.app, opts(), { restart: true });
    expect(restart.actions).toEqual([{ action: 'RestartApplication', app: '/web' }]);
  });

  it('refuses a change to an app held by a deployment, unless forced, which cancels that deployment', () => {
    const s = emptyState();
    const first = deployed(s, app({ instances: 2 }));
    const refused = deploy(s, [{ appId: '/web', app: app({ instances: 3 }) }], opts());
    expect(refused).toEqual({ ok: false, conflicts: [first] });
    const forced = deploy(s, [{ appId: '/web', app: app({ instances: 3 }) }], opts(true));
    if (!forced.ok) throw new Error('forced deployments go through');
    expect(forced.change.deleteDeployments).toEqual([first.id]);
    // What a rollback of the forced one restores is where the cancelled one started: no app.
    expect(forced.deployment.original).toEqual({ '/web': null });
  });

  it('resets the launch backoff on a new config, not on a scale', () => {
    const s = emptyState();
    deployed(s, app({ instances: 1 }));
    s.deployments.clear();
    s.backoffs.set('/web', { failures: 3, lastFailureAt: 10 });
    deployed(s, app({ instances: 2 }));
    expect(s.backoffs.get('/web')).toEqual({ failures: 3, lastFailureAt: 10 });
    s.deployments.clear();
    deployed(s, app({ instances: 2, cmd: 'serve --v2' }));
    expect(s.backoffs.has('/web')).toBe(false);
  });

  it('rolls back to the apps as they were: a restart goes back to the old config, a start is undone by a stop', () => {
    const s = emptyState();
    deployed(s, app({ instances: 2 }));
    const v1 = s.apps.get('/web')!;
    s.deployments.clear();
    const upgrade = deployed(s, app({ instances: 2, env: { RELEASE: '2' } }));
    const back = deploy(s, rollbackTargets(upgrade), opts(true));
    if (!back.ok) throw new Error('a rollback is forced');
    applyChange(s, back.change);
    expect(back.deployment.actions).toEqual([{ action: 'RestartApplication', app: '/web' }]);
    expect(s.apps.get('/web')).toMatchObject({ app: v1.app, configVersion: v1.configVersion });
    // Instances still on the old config count as current again; the new one goes.
    const plan = planApp(s.apps.get('/web'), [instance('old-1', v1.configVersion), instance('old-2', v1.configVersion), instance('new-1', upgrade.version)], undefined, true, 100);
    expect(plan).toEqual({ launch: 0, kill: ['new-1'], expunge: [] });

    const fresh = emptyState();
    const start = deployed(fresh, app({ instances: 1 }));
    const undo = deploy(fresh, rollbackTargets(start), opts(true));
    if (!undo.ok) throw new Error('a rollback is forced');
    expect(undo.deployment.actions).toEqual([{ action: 'StopApplication', app: '/web' }]);
    expect(undo.change.deleteApps).toEqual(['/web']);
  });

  it('compares definitions whatever their key order', () => {
    const a = app({ instances: 1, env: { A: '1', B: '2' } });
    const b = { ...app({ instances: 4, env: { B: '2', A: '1' } }) };
    expect(sameConfig(a, b)).toBe(true);
    expect(sameConfig(a, app({ instances: 1, env: { A: '1' } }))).toBe(false);
  });
});

describe('a restart and unreachable instances', () => {
  it('replaces a new instance gone inactive, and forgets one past expungeAfterSeconds', () => {
    const rec = { app: app({ instances: 2, unreachableStrategy: { inactiveAfterSeconds: 60, expungeAfterSeconds: 600 } }), version: 'v2', configVersion: 'v2' };
    const lost = (id: string, since: number) => instance(id, 'v2', { state: 'UNREACHABLE', unreachableSince: since });
    const now = 1_000_000;
    expect(planApp(rec, [instance('a', 'v2'), lost('b', now - 59_999)], undefined, true, now)).toEqual({ launch: 0, kill: [], expunge: [] });
    expect(planApp(rec, [instance('a', 'v2'), lost('b', now - 60_000)], undefined, true, now)).toEqual({ launch: 1, kill: [], expunge: [] });
    expect(planApp(rec, [instance('a', 'v2'), lost('b', now - 600_000)], undefined, true, now)).toEqual({ launch: 1, kill: [], expunge: ['b'] });
  });
});

describe('what a deployment waits for', () => {
  const rec = { app: app({ instances: 2, healthChecks: [{ protocol: 'COMMAND', command: { value: 'true' } }] }), version: 'v2', configVersion: 'v2' };

  it('a start or scale: the desired number, all healthy, none on its way out', () => {
    const a = { action: 'ScaleApplication' as const, app: '/web' };
    expect(actionDone(a, rec, [instance('1', 'v2', { healthy: true }), instance('2', 'v2', { healthy: true })])).toBe(true);
    expect(actionDone(a, rec, [instance('1', 'v2', { healthy: true }), instance('2', 'v2')])).toBe(false);
    expect(actionDone(a, rec, [instance('1', 'v2', { healthy: true }), instance('2', 'v2', { healthy: true }), instance('3', 'v2', { killRequested: true })])).toBe(false);
  });

  it('a restart: only new-config instances, all healthy, and the old ones gone, not just asked to go', () => {
    const a = { action: 'RestartApplication' as const, app: '/web' };
    const fresh = [instance('1', 'v2', { healthy: true }), instance('2', 'v2', { healthy: true })];
    expect(actionDone(a, rec, fresh)).toBe(true);
    expect(actionDone(a, rec, [...fresh, instance('old', 'v1', { healthy: true, killRequested: true })])).toBe(false);
  });

  it('a stop: no instance left', () => {
    const a = { action: 'StopApplication' as const, app: '/web' };
    expect(actionDone(a, undefined, [instance('1', 'v1', { killRequested: true })])).toBe(false);
    expect(actionDone(a, undefined, [])).toBe(true);
  });
});

describe('an app definition written back', () => {
  it('reads back to the same app (what a partial update merges onto)', () => {
    const a = app({
      instances: 3, constraints: [['hostname', 'UNIQUE'], ['rack', 'GROUP_BY', '2']], env: { A: '1' },
      healthChecks: [{ protocol: 'COMMAND', command: { value: 'true' } }, { protocol: 'MESOS_TCP', portIndex: 0 }],
      unreachableStrategy: 'disabled', taskKillGracePeriodSeconds: 7,
    });
    const again = parseApp(JSON.parse(JSON.stringify(appDefinition(a))));
    expect(again).toEqual({ ok: true, app: a });
  });
});
