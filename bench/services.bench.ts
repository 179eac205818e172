/**
 * One step of the services framework's runtime — a status update stored and looked past —
 * with thousands of apps running. Every step ends by looking at every app (its plan, its
 * backoff, its deployment), so this is what a busy cluster pays per update. Marathon
 * published no figure for this; the numbers stand alone.
 */
import { FakeClock } from '../common/clock';
import { logger } from '../common/log';
import { parse } from '../common/resources';
import type { Offer, TaskStatus } from '../common/types';
import { Commands } from '../frameworks/services/commands';
import { ServicesFramework } from '../frameworks/services/framework';
import type { InstanceRecord } from '../frameworks/services/model';
import { MemoryStore } from '../frameworks/services/store';
import { idleDriver as driver, stepMeasurement } from './framework-step';
import { timeAsync, type Bench, type Measurement } from './harness';

const T0 = Date.UTC(2026, 2, 1);
const AGENTS = 100;
const UPDATES = 200;

const offers = (): Offer[] => Array.from({ length: AGENTS }, (_, a) => ({
  id: `o-${a}`, frameworkId: 'fw', agentId: `agent-${a}`, hostname: `host-${a}`, role: '*', attributes: {},
  resources: parse('cpus:10000;mem:10000000;disk:10000000;ports:[31000-32000]'),
}));

/**
 * `apps` apps of one instance each, RUNNING and healthy, under a framework loaded from its
 * store. The apps are created and launched by the framework itself (one deployment, one round
 * of offers over 100 agents); their TASK_RUNNING is then committed to the store in one write
 * rather than as `apps` steps that each look at every app (that alone would take minutes at
 * 10k), and the framework is loaded again from that store, as after a restart. Its first step
 * sees the deployment's goal reached and ends it.
 */
async function cluster(apps: number): Promise<{ f: ServicesFramework; instances: InstanceRecord[] }> {
  const store = new MemoryStore();
  const clock = new FakeClock(T0);
  let n = 0;
  const options = { store, clock, log: logger('bench'), newId: () => String(++n).padStart(6, '0') };
  const setup = await ServicesFramework.load(options);
  await setup.attach(driver, 'fw');
  const defs = Array.from({ length: apps }, (_, i) => ({
    id: `/bench/app-${i}`, cmd: 'sleep 600', cpus: 0.01, mem: 32, instances: 1,
    healthChecks: [{ protocol: 'MESOS_HTTP', path: '/health', portIndex: 0 }],
  }));
  await new Commands(setup).putApps(defs, { force: false, partial: false });
  await setup.onOffers(offers());
  const staged = [...setup.state.instances.values()];
  if (staged.length !== apps) throw new Error(`${staged.length} of ${apps} instances launched`);
  await setup.stop();
  clock.advance(5000);
  await store.commit({ instances: staged.map((i) => ({ ...i, state: 'RUNNING', startedAt: clock.now(), healthy: true })) });
  const f = await ServicesFramework.load(options);
  await f.attach(driver, 'fw');
  const running = [...f.state.instances.values()].filter((i) => i.state === 'RUNNING');
  if (running.length !== apps || f.state.deployments.size !== 0) {
    throw new Error(`expected ${apps} running instances and no deployment, got ${running.length} and ${f.state.deployments.size}`);
  }
  return { f, instances: running };
}

async function step(apps: number): Promise<Measurement> {
  const { f, instances } = await cluster(apps);
  let k = 0;
  // A health flip each time (as the agent's checks report one), so every update is a real change to store.
  const update = (): TaskStatus => {
    // Unhealthy on the first pass over the instances, healthy again on the next, and so on.
    const i = instances[k % instances.length] as InstanceRecord;
    const healthy = Math.floor(k++ / instances.length) % 2 === 1;
    return {
      taskId: i.taskId, state: 'TASK_RUNNING', message: '', source: 'SOURCE_EXECUTOR', reason: 'REASON_TASK_HEALTH_CHECK_STATUS_UPDATED',
      agentId: i.agentId, frameworkId: 'fw', uuid: `u-${k}`, timestampMs: 0, containerId: '', healthy,
    };
  };
  const timed = await timeAsync(async () => { for (let i = 0; i < UPDATES; i++) await f.onUpdate(update()); return k; }, 5);
  await f.stop();
  return stepMeasurement('services', `status update steps, ${apps / 1000}k apps of 1 running instance`, { apps, agents: AGENTS, updates: UPDATES }, UPDATES, timed);
}

export const servicesBench: Bench = {
  name: 'services',
  description: 'the services runtime (200 status updates, each a health flip of a running instance and a step that stores it and '
    + 'looks at every app, with 1k and 10k apps of one instance on 100 agents, in-memory store); median of 5 after a warm-up',
  run: async () => [await step(1000), await step(10_000)],
};
