import { parseApp, type App } from './app';
import { failed, launchDelayMs, reconcile, type Instance } from './reconcile';

const app = (json: Record<string, unknown>): App => {
  const r = parseApp({ id: '/web', cmd: 'serve', ...json });
  if (!r.ok) throw new Error(JSON.stringify(r.details));
  return r.app;
};
const NOW = 1_000_000;
const running = (id: string, launchedAt: number, healthy?: boolean): Instance => ({ id, state: 'RUNNING', launchedAt, ...(healthy !== undefined ? { healthy } : {}) });

describe('the steady-state reconciler', () => {
  it('launches what is missing and does nothing when the count is right', () => {
    const a = app({ instances: 3 });
    expect(reconcile(a, [running('i1', 1)], undefined, NOW)).toEqual({ launch: 2, kill: [], expunge: [] });
    expect(reconcile(a, [running('i1', 1), running('i2', 2), { id: 'i3', state: 'STAGING', launchedAt: 3 }], undefined, NOW))
      .toEqual({ launch: 0, kill: [], expunge: [] });
  });

  it('scales down the least useful first: unreachable, not yet running, unhealthy, then by killSelection', () => {
    const instances: Instance[] = [
      running('healthy-old', 1, true), running('healthy-new', 5, true), running('unhealthy', 2, false),
      { id: 'staging', state: 'STAGING', launchedAt: 6 }, { id: 'lost', state: 'UNREACHABLE', launchedAt: 0, unreachableSince: NOW },
    ];
    const disabled = { unreachableStrategy: 'disabled' };
    expect(reconcile(app({ instances: 2, ...disabled }), instances, undefined, NOW).kill).toEqual(['lost', 'staging', 'unhealthy']);
    expect(reconcile(app({ instances: 1, ...disabled }), instances, undefined, NOW).kill).toEqual(['lost', 'staging', 'unhealthy', 'healthy-new']);
    expect(reconcile(app({ instances: 1, killSelection: 'OLDEST_FIRST', ...disabled }), instances, undefined, NOW).kill)
      .toEqual(['lost', 'staging', 'unhealthy', 'healthy-old']);
  });

  it('holds replacements back by the launch backoff: 1 s × 1.15 per further failure, at most 300 s', () => {
    const a = app({ instances: 1 });
    expect([1, 2, 3].map((n) => launchDelayMs(a, n))).toEqual([1000, 1150, 1322]);
    expect(launchDelayMs(a, 100)).toBe(300_000);
    expect(launchDelayMs(app({ backoffSeconds: 2, backoffFactor: 2, maxLaunchDelaySeconds: 10 }), 3)).toBe(8000);
    let backoff = failed(undefined, NOW);
    backoff = failed(backoff, NOW + 10);
    expect(reconcile(a, [], backoff, NOW + 500)).toEqual({ launch: 0, kill: [], expunge: [], delayedUntil: NOW + 10 + 1150 });
    expect(reconcile(a, [], backoff, NOW + 10 + 1150)).toEqual({ launch: 1, kill: [], expunge: [] });
  });

  it('starts the failure count again when a failure comes long after the last delay ran out', () => {
    const a = app({ instances: 1 });   // backoff 1 s × 1.15, at most 300 s
    const many = { failures: 100, lastFailureAt: NOW };   // its delay: the 300 s maximum
    expect(failed(many, NOW + 300_000 + 300_000, a)).toEqual({ failures: 101, lastFailureAt: NOW + 600_000 });
    expect(failed(many, NOW + 300_000 + 300_001, a)).toEqual({ failures: 1, lastFailureAt: NOW + 600_001 });
    expect(failed(many, NOW + 7 * 24 * 3600_000)).toEqual({ failures: 101, lastFailureAt: NOW + 7 * 24 * 3600_000 });   // without the app: only counts
  });

  it('replaces an unreachable instance after inactiveAfterSeconds and forgets it after expungeAfterSeconds', () => {
    const a = app({ instances: 1, unreachableStrategy: { inactiveAfterSeconds: 60, expungeAfterSeconds: 600 } });
    const lost: Instance = { id: 'lost', state: 'UNREACHABLE', launchedAt: 0, unreachableSince: NOW };
    expect(reconcile(a, [lost], undefined, NOW + 59_999)).toEqual({ launch: 0, kill: [], expunge: [] });
    expect(reconcile(a, [lost], undefined, NOW + 60_000)).toEqual({ launch: 1, kill: [], expunge: [] });
    expect(reconcile(a, [lost, running('new', NOW + 60_000)], undefined, NOW + 300_000)).toEqual({ launch: 0, kill: [], expunge: [] });
    expect(reconcile(a, [lost, running('new', NOW + 60_000)], undefined, NOW + 600_000)).toEqual({ launch: 0, kill: [], expunge: ['lost'] });
    // Marathon's defaults (0 / 0): replaced and forgotten at once; "disabled": kept for good.
    expect(reconcile(app({ instances: 1 }), [lost], undefined, NOW)).toEqual({ launch: 1, kill: [], expunge: ['lost'] });
    expect(reconcile(app({ instances: 1, unreachableStrategy: 'disabled' }), [lost], undefined, NOW + 10 ** 9)).toEqual({ launch: 0, kill: [], expunge: [] });
  });

  it('scales to zero by killing every instance', () => {
    expect(reconcile(app({ instances: 0 }), [running('a', 1), running('b', 2)], undefined, NOW).kill).toEqual(['b', 'a']);
  });
});
