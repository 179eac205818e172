/**
 * The services framework on a real cluster (master, Docker agent, Redis): apps of busybox
 * httpd instances, deployed through Marathon's REST API.
 */
import Docker from 'dockerode';
import { get } from 'http';
import { FakeClock } from '../common/clock';
import type { MarathonEvent } from '../frameworks/services/events';
import { startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { startTestServices, type TestServices } from './support/services';

jest.setTimeout(120_000);

let cluster: TestCluster;
let t: TestServices;
/** The framework's clock: launch backoffs pass only when the test says so. */
const clock = new FakeClock(Date.parse('2026-11-22T00:00:00Z'));

beforeAll(async () => {
  cluster = await startCluster({ containerizer: 'docker' });
  t = await startTestServices(cluster, { clock });
});

afterAll(async () => {
  await t?.stop();
  await cluster?.stop();
});

/** A web server app: busybox httpd in a bridged container, its port 80 published on a host port. */
export function webApp(id: string, instances: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id, instances, cpus: 0.1, mem: 32,
    cmd: 'mkdir -p /tmp/www && echo "hello from $MESOS_TASK_ID" > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www',
    container: { type: 'DOCKER', docker: { image: TEST_IMAGE }, portMappings: [{ containerPort: 80, hostPort: 0 }] },
    networks: [{ mode: 'container/bridge' }],
    healthChecks: [{ protocol: 'MESOS_HTTP', path: '/', portIndex: 0, gracePeriodSeconds: 30, intervalSeconds: 1, timeoutSeconds: 2, delaySeconds: 0, maxConsecutiveFailures: 3 }],
    ...extra,
  };
}

function httpGet(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: '/' }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => { body += c.toString(); });
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

interface TaskJson { id: string; host: string; ports: number[]; state: string; healthCheckResults?: { alive: boolean }[] }

describe('an app of 3 httpd instances with a MESOS_HTTP health check', () => {
  it('becomes 3/3 healthy, each instance answering on its host port at 127.0.0.1, and is gone once deleted', async () => {
    const created = await t.api.call('POST', '/v2/apps', webApp('/web/hello', 3));
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe('/v2/apps/web/hello');
    const deploymentId = created.headers['marathon-deployment-id'] as string;
    expect(created.body).toMatchObject({ id: '/web/hello', instances: 3, deployments: [{ id: deploymentId }] });

    await t.events.deploymentDone(deploymentId);
    const app = await t.api.call<{ app: Record<string, unknown> & { tasks: TaskJson[] } }>('GET', '/v2/apps/web/hello?embed=app.tasks');
    expect(app.body.app).toMatchObject({ tasksRunning: 3, tasksHealthy: 3, tasksUnhealthy: 0, deployments: [] });
    const tasks = app.body.app.tasks;
    expect(tasks).toHaveLength(3);
    for (const task of tasks) {
      expect(task).toMatchObject({ state: 'TASK_RUNNING', host: '127.0.0.1', healthCheckResults: [{ alive: true }] });
      expect(await httpGet(task.ports[0] as number)).toBe(`hello from ${task.id}\n`);
    }
    // Service discovery: the same endpoints, in Marathon's text form and in Agora's JSON.
    const plain = await t.api.call('GET', '/v2/apps/web/hello/tasks', undefined, { accept: 'text/plain' });
    expect(plain.text.trim().split('\t').slice(2).sort()).toEqual(tasks.map((x) => `127.0.0.1:${x.ports[0]}`).sort());
    const found = await t.api.call<{ apps: { endpoints: { host: string; ports: number[]; healthy: boolean }[] }[] }>('GET', '/v1/discovery/web/hello');
    expect(found.body.apps[0]?.endpoints.map((e) => `${e.host}:${e.ports[0]}:${e.healthy}`).sort())
      .toEqual(tasks.map((x) => `127.0.0.1:${x.ports[0]}:true`).sort());

    const removed = await t.api.call<{ deploymentId: string }>('DELETE', '/v2/apps/web/hello');
    expect(removed.status).toBe(200);
    await t.events.deploymentDone(removed.body.deploymentId);
    expect((await t.api.call('GET', '/v2/apps/web/hello')).status).toBe(404);
    const state = await cluster.state();
    expect(state.tasks.filter((x) => x.id.startsWith('web_hello.') && x.state === 'TASK_RUNNING')).toEqual([]);
  });
});

describe('a rolling update', () => {
  it('never drops below minimumHealthCapacity healthy instances, by the event stream, and ends with only new-version tasks', async () => {
    const strategy = { upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 } };   // floor ceil(3 × 0.5) = 2
    const created = await t.api.call('POST', '/v2/apps', webApp('/web/roll', 3, strategy));
    await t.events.deploymentDone(created.headers['marathon-deployment-id'] as string);
    const before = (await t.api.call<{ tasks: TaskJson[] }>('GET', '/v2/apps/web/roll/tasks')).body.tasks.map((x) => x.id);
    expect(before).toHaveLength(3);

    const from = t.events.events.length;
    const update = await t.api.call<{ deploymentId: string; version: string }>('PUT', '/v2/apps/web/roll', { env: { RELEASE: '2' } });
    expect(update.status).toBe(200);
    await t.events.deploymentDone(update.body.deploymentId);

    // Replay the stream: a task is healthy from its alive=true health event until it is killed or ends.
    const healthy = new Set(before);
    const seen: number[] = [];
    const ends = new Set(['TASK_KILLING', 'TASK_KILLED', 'TASK_FAILED', 'TASK_FINISHED', 'TASK_LOST', 'TASK_ERROR', 'TASK_GONE']);
    for (const e of t.events.events.slice(from) as (MarathonEvent & { taskId?: string; alive?: boolean; taskStatus?: string })[]) {
      if (e.eventType === 'health_status_changed_event' && e.taskId) {
        if (e.alive) healthy.add(e.taskId); else healthy.delete(e.taskId);
      } else if (e.eventType === 'status_update_event' && e.taskId && ends.has(e.taskStatus ?? '')) {
        healthy.delete(e.taskId);
      } else continue;
      seen.push(healthy.size);
    }
    expect(Math.min(...seen)).toBe(2);   // it used the room the floor gives, and no more
    const after = (await t.api.call<{ tasks: TaskJson[] & { version: string }[] }>('GET', '/v2/apps/web/roll/tasks')).body.tasks;
    expect(after).toHaveLength(3);
    expect(after.filter((x) => before.includes(x.id))).toEqual([]);
    expect(new Set(after.map((x) => (x as unknown as { version: string }).version))).toEqual(new Set([update.body.version]));
    expect([...healthy].sort()).toEqual(after.map((x) => x.id).sort());

    const removed = await t.api.call<{ deploymentId: string }>('DELETE', '/v2/apps/web/roll');
    await t.events.deploymentDone(removed.body.deploymentId);
  });
});

describe('a container killed from outside', () => {
  it('is replaced after the launch backoff, which grows with each failure in a row', async () => {
    const app = {
      id: '/crashy', instances: 1, cpus: 0.1, mem: 64, cmd: 'exec sleep 600', backoffSeconds: 10, backoffFactor: 2,
      container: { type: 'DOCKER', docker: { image: TEST_IMAGE } }, networks: [{ mode: 'container/bridge' }],
    };
    const created = await t.api.call('POST', '/v2/apps', app);
    await t.events.deploymentDone(created.headers['marathon-deployment-id'] as string);
    const docker = new Docker();

    const crash = async (expectedDelaySeconds: number): Promise<void> => {
      const [task] = (await t.api.call<{ tasks: TaskJson[] }>('GET', '/v2/apps/crashy/tasks')).body.tasks;
      const [container] = await docker.listContainers({ filters: { label: [`agora.task-id=${task!.id}`] } });
      await docker.getContainer(container!.Id).kill();
      await t.events.waitFor((e) => e.eventType === 'status_update_event' && e.taskId === task!.id && e.taskStatus === 'TASK_FAILED');
      const queue = await t.api.call<{ queue: { app: { id: string }; delay: { timeLeftSeconds: number; overdue: boolean } }[] }>('GET', '/v2/queue');
      expect(queue.body.queue.find((q) => q.app.id === '/crashy')?.delay).toEqual({ timeLeftSeconds: expectedDelaySeconds, overdue: false });
      const waiting = await t.api.call<{ app: { tasksRunning: number; tasksStaged: number; lastTaskFailure: { taskId: string; state: string } } }>('GET', '/v2/apps/crashy?embed=app.lastTaskFailure');
      expect(waiting.body.app).toMatchObject({ tasksRunning: 0, tasksStaged: 0, lastTaskFailure: { taskId: task!.id, state: 'TASK_FAILED' } });

      const replaced = t.events.next((e) => e.eventType === 'status_update_event' && e.appId === '/crashy' && e.taskStatus === 'TASK_RUNNING');
      clock.advance(expectedDelaySeconds * 1000 - 1);
      expect((await t.api.call<{ tasks: TaskJson[] }>('GET', '/v2/apps/crashy/tasks')).body.tasks).toEqual([]);   // not a millisecond early
      clock.advance(1);
      await replaced;
    };
    await crash(10);   // backoffSeconds
    await crash(20);   // × backoffFactor
    await crash(40);

    const removed = await t.api.call<{ deploymentId: string }>('DELETE', '/v2/apps/crashy');
    await t.events.deploymentDone(removed.body.deploymentId);
  });
});
