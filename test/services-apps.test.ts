/**
 * The services framework on a real cluster (master, Docker agent, Redis): apps of busybox
 * httpd instances, deployed through Marathon's REST API.
 */
import { get } from 'http';
import { startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { startTestServices, type TestServices } from './support/services';

jest.setTimeout(120_000);

let cluster: TestCluster;
let t: TestServices;

beforeAll(async () => {
  cluster = await startCluster({ containerizer: 'docker' });
  t = await startTestServices(cluster);
});

afterAll(async () => {
  await t?.stop();
  await cluster?.stop();
});

/** A web server app: busybox httpd in a bridged container, its port 80 published on a host port. */
export function webApp(id: string, instances: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id, instances, cpus: 0.1, mem: 32,
    cmd: 'mkdir -p /www && echo "hello from $MESOS_TASK_ID" > /www/index.html && exec httpd -f -p 80 -h /www',
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
