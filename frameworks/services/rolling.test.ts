import fc from 'fast-check';
import { parseApp, type App } from './app';
import type { Instance } from './reconcile';
import { isHealthy, rollingBounds, rollingStep } from './rolling';

const app = (instances: number, minimumHealthCapacity: number, maximumOverCapacity: number, more: Record<string, unknown> = {}): App => {
  const r = parseApp({
    id: '/web', cmd: 'serve', instances, upgradeStrategy: { minimumHealthCapacity, maximumOverCapacity },
    healthChecks: [{ protocol: 'MESOS_TCP' }], ...more,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.details));
  return r.app;
};
const healthy = (id: string, launchedAt = 0): Instance => ({ id, state: 'RUNNING', healthy: true, launchedAt });
const olds = (n: number): Instance[] => Array.from({ length: n }, (_, i) => healthy(`old-${i}`, i));

describe('a rolling restart step', () => {
  it('computes the bounds as Marathon does, with one extra instance when they meet', () => {
    expect(rollingBounds(app(3, 1, 1))).toEqual({ minHealthy: 3, maxCapacity: 6 });
    expect(rollingBounds(app(3, 0.5, 0))).toEqual({ minHealthy: 2, maxCapacity: 3 });
    expect(rollingBounds(app(3, 1, 0))).toEqual({ minHealthy: 3, maxCapacity: 4 });
    expect(rollingBounds(app(10, 0.75, 0.2))).toEqual({ minHealthy: 8, maxCapacity: 12 });
  });

  it('with the defaults (1 / 1): launches all new instances at once and kills an old one per new healthy one', () => {
    const a = app(3, 1, 1);
    expect(rollingStep(a, olds(3), [])).toEqual({ launch: 3, kill: [], done: false });
    const fresh: Instance[] = [healthy('new-0', 10), { id: 'new-1', state: 'RUNNING', launchedAt: 11 }, { id: 'new-2', state: 'STAGING', launchedAt: 12 }];
    expect(rollingStep(a, olds(3), fresh)).toEqual({ launch: 0, kill: ['old-2'], done: false });
    expect(rollingStep(a, [], [healthy('new-0'), healthy('new-1'), healthy('new-2')])).toEqual({ launch: 0, kill: [], done: true });
  });

  it('with 0.5 / 0: kills down to the healthy floor at once, then replaces one at a time', () => {
    const a = app(4, 0.5, 0);
    expect(rollingStep(a, olds(4), [])).toEqual({ launch: 2, kill: ['old-3', 'old-2'], done: false });
    expect(rollingStep(a, olds(2), [healthy('new-0'), { id: 'new-1', state: 'STARTING', launchedAt: 1 }]))
      .toEqual({ launch: 1, kill: ['old-1'], done: false });   // the kill makes room for the last one
  });

  it('kills old instances that are not running or unhealthy before healthy ones, whatever the floor', () => {
    const a = app(3, 1, 0);
    const old: Instance[] = [healthy('old-ok', 1), { id: 'old-sick', state: 'RUNNING', healthy: false, launchedAt: 2 }, { id: 'old-staging', state: 'STAGING', launchedAt: 3 }];
    expect(rollingStep(a, old, [])).toEqual({ launch: 3, kill: ['old-staging', 'old-sick'], done: false });
  });

  it('never lets healthy instances fall below the floor nor instances exceed the capacity, and always finishes', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 8 }), fc.constantFrom(0, 0.25, 0.5, 0.75, 1), fc.constantFrom(0, 0.25, 0.5, 1),
      fc.array(fc.nat(), { minLength: 200, maxLength: 200 }),
      (n, minHC, maxOC, picks) => {
        const a = app(n, minHC, maxOC);
        const { minHealthy, maxCapacity } = rollingBounds(a);
        let old = olds(n);
        let fresh: Instance[] = [];
        let launched = 0;
        for (let t = 0; t < picks.length; t++) {
          const step = rollingStep(a, old, fresh);
          if (step.done) return true;
          old = old.filter((i) => !step.kill.includes(i.id));
          const healthyNow = old.filter((i) => isHealthy(a, i)).length + fresh.filter((i) => isHealthy(a, i)).length;
          if (healthyNow < Math.min(minHealthy, n)) return false;
          for (let k = 0; k < step.launch; k++) fresh.push({ id: `new-${launched++}`, state: 'STAGING', launchedAt: t });
          if (old.length + fresh.length > maxCapacity) return false;
          // One new instance moves on: STAGING → RUNNING → healthy, in an order the run picks.
          const moving = fresh.filter((i) => !isHealthy(a, i));
          const i = moving[(picks[t] ?? 0) % Math.max(1, moving.length)];
          if (i) fresh = fresh.map((f) => (f.id !== i.id ? f : f.state === 'RUNNING' ? { ...f, healthy: true } : { ...f, state: 'RUNNING' }));
        }
        return rollingStep(a, old, fresh).done;
      },
    ), { numRuns: 300 });
  });
});
