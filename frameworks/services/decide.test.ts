/**
 * The services framework's decisions, with no server and no runtime: a rolling restart
 * driven to its end by random offers, task starts, health verdicts and kill answers, checked
 * after every step against what Marathon's upgradeStrategy allows.
 */
import fc from 'fast-check';
import { parse } from '../../common/resources';
import type { Offer, TaskStatus } from '../../common/types';
import { parseApp } from './app';
import { evaluate, onStatus, place } from './decide';
import { applyChange, emptyState, type InstanceRecord, type ServicesState } from './model';
import { rollingBounds } from './rolling';
import { taskJson } from './views';

const T0 = 1_700_000_000_000;
const offer = (id: string): Offer => ({ id, frameworkId: 'fw', agentId: 'a1', hostname: 'h1', role: '*', attributes: {}, resources: parse('cpus:64;mem:65536;ports:[31000-32000]') });
const status = (taskId: string, state: TaskStatus['state'], healthy?: boolean): TaskStatus => ({
  taskId, state, message: '', source: 'SOURCE_AGENT', reason: 'REASON_UNKNOWN', agentId: 'a1', frameworkId: 'fw', uuid: 'u', timestampMs: 0, containerId: '',
  ...(healthy !== undefined ? { healthy } : {}),
});

/** An app of `n` healthy instances of configuration v1, now restarting to v2. */
function restarting(n: number, minimumHealthCapacity: number, maximumOverCapacity: number): ServicesState {
  const parsed = parseApp({ id: '/web', cmd: 'serve', cpus: 0.1, mem: 16, instances: n, upgradeStrategy: { minimumHealthCapacity, maximumOverCapacity }, healthChecks: [{ protocol: 'MESOS_TCP' }] });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.details));
  const s = emptyState();
  s.apps.set('/web', { app: parsed.app, version: 'v2', configVersion: 'v2' });
  for (let i = 0; i < n; i++) {
    const inst: InstanceRecord = {
      instanceId: `web.old${i}`, taskId: `web.old${i}`, appId: '/web', configVersion: 'v1', version: 'v1', agentId: 'a1', hostname: 'h1',
      attributes: {}, hostPorts: [], state: 'RUNNING', healthy: true, stagedAt: T0, startedAt: T0,
    };
    s.instances.set(inst.taskId, inst);
  }
  s.deployments.set('d1', { id: 'd1', version: 'v2', actions: [{ action: 'RestartApplication', app: '/web' }], original: {}, startedAt: T0 });
  return s;
}

type Move = { kind: 'offer' } | { kind: 'start' | 'healthy' | 'killed'; pick: number };
const move: fc.Arbitrary<Move> = fc.oneof(
  fc.record({ kind: fc.constant('offer' as const) }),
  fc.record({ kind: fc.constantFrom('start' as const, 'healthy' as const, 'killed' as const), pick: fc.nat() }),
);

describe('the services decisions', () => {
  it('a rolling restart never runs more instances than maximumOverCapacity allows, nor fewer healthy than minimumHealthCapacity, and ends', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 6 }), fc.constantFrom(0, 0.5, 1), fc.constantFrom(0, 0.5, 1), fc.array(move, { maxLength: 120 }),
      (n, minHealth, overCapacity, moves) => {
        const s = restarting(n, minHealth, overCapacity);
        const { minHealthy, maxCapacity } = rollingBounds(s.apps.get('/web')!.app);
        let now = T0, ids = 0;
        const look = () => {
          for (let round = 0; round < 8; round++) {
            const ev = evaluate(s, now, 300_000);
            if (ev.commits.length === 0) return ev;
            for (const c of ev.commits) applyChange(s, c.change);
          }
          throw new Error('the look never settled');
        };
        const check = () => {
          const counted = [...s.instances.values()].filter((i) => !i.killRequested);
          expect(counted.length).toBeLessThanOrEqual(maxCapacity);
          const healthy = counted.filter((i) => i.state === 'RUNNING' && i.healthy === true).length;
          expect(healthy).toBeGreaterThanOrEqual(Math.min(minHealthy, n));
        };
        const act = (m: Move) => {
          now += 1000;
          const ev = look();
          check();
          if (m.kind === 'offer') {
            const p = place([offer(`o${now}`)], ev.wants, () => `i${++ids}`, now);
            if (p.commit) applyChange(s, p.commit.change);
            return;
          }
          const pool = [...s.instances.values()].filter((i) => (m.kind === 'killed' ? i.killRequested : m.kind === 'start' ? i.state === 'STAGING' : i.state === 'RUNNING' && i.healthy === undefined));
          const i = pool[m.pick % Math.max(1, pool.length)];
          if (!i) return;
          const out = onStatus(s, m.kind === 'killed' ? status(i.taskId, 'TASK_KILLED') : status(i.taskId, 'TASK_RUNNING', m.kind === 'healthy' ? true : undefined), now);
          if (out.commit) applyChange(s, out.commit.change);
        };
        moves.forEach(act);
        // Then everything goes well: offers come, tasks start healthy, kills are answered.
        for (let i = 0; i < 20 * (n + 2) && s.deployments.size > 0; i++) {
          act({ kind: 'offer' });
          for (const inst of [...s.instances.values()]) {
            if (inst.killRequested) act({ kind: 'killed', pick: [...s.instances.values()].filter((x) => x.killRequested).indexOf(inst) });
          }
          for (const inst of [...s.instances.values()].filter((x) => x.state !== 'RUNNING' || x.healthy !== true)) {
            if (!inst.killRequested) applyChange(s, onStatus(s, status(inst.taskId, 'TASK_RUNNING', true), now).commit!.change);
          }
          check();
        }
        look();
        expect(s.deployments.size).toBe(0);
        expect([...s.instances.values()].map((i) => i.configVersion)).toEqual(Array(n).fill('v2'));
      },
    ), { numRuns: 300 });
  });

  it('lists every instance whose kill was asked for as a kill, until its end is heard', () => {
    const s = restarting(2, 1, 1);
    s.deployments.clear();
    s.apps.clear();   // the app is deleted: both instances go
    const ev = evaluate(s, T0, 300_000);
    expect(ev.commits).toHaveLength(1);
    applyChange(s, ev.commits[0]!.change);
    const again = evaluate(s, T0 + 60_000, 300_000);
    expect(again.kills.map((k) => k.taskId).sort()).toEqual(['web.old0', 'web.old1']);
    expect(again.commits).toEqual([]);   // written once, sent until answered
    applyChange(s, onStatus(s, status('web.old0', 'TASK_KILLED'), T0).commit!.change);
    expect(evaluate(s, T0 + 70_000, 300_000).kills.map((k) => k.taskId)).toEqual(['web.old1']);
  });
});

describe('health check results', () => {
  const at = (ms: number, healthy: boolean, message = ''): TaskStatus => ({ ...status('web.old0', 'TASK_RUNNING', healthy), timestampMs: ms, message });

  it('keep firstSuccess, lastSuccess, lastFailure with its cause, and the failures since the last success, as Marathon shows them', () => {
    const s = restarting(1, 1, 1);
    const i = s.instances.get('web.old0')!;
    delete i.healthy;
    const report = (st: TaskStatus) => applyChange(s, onStatus(s, st, T0 + 1).commit!.change);
    report(at(T0 + 1000, true));
    report(at(T0 + 2000, false, 'connection refused'));
    report(at(T0 + 2000, false, 'connection refused'));   // the same update again: changes nothing
    report(at(T0 + 3000, false, 'timed out after 1 s'));
    expect(s.health.get('web.old0')).toEqual({
      firstSuccess: T0 + 1000, lastSuccess: T0 + 1000, lastFailure: T0 + 3000, lastFailureCause: 'timed out after 1 s', consecutiveFailures: 2,
    });
    report(at(T0 + 4000, true));
    expect(s.health.get('web.old0')).toMatchObject({ firstSuccess: T0 + 1000, lastSuccess: T0 + 4000, consecutiveFailures: 0 });
    const json = taskJson(s.instances.get('web.old0')!, s.apps.get('/web')!.app, '*', s.health.get('web.old0'));
    expect(json.healthCheckResults).toEqual([{
      alive: true, instanceId: 'web.old0', consecutiveFailures: 0,
      firstSuccess: new Date(T0 + 1000).toISOString(), lastSuccess: new Date(T0 + 4000).toISOString(),
      lastFailure: new Date(T0 + 3000).toISOString(), lastFailureCause: 'timed out after 1 s',
    }]);
  });
});
