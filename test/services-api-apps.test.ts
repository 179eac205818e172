/**
 * The services framework's apps and tasks endpoints held to Marathon's published v2 contract
 * (v2/apps.raml, v2/tasks.raml and their types; the shapes are in support/marathon-shapes.ts).
 * Each endpoint is called on a real cluster (one process agent, Redis), and its status,
 * headers and answer are checked against the fields the contract requires, with their types.
 * What the code does not meet yet is an `it.todo` at the end of each group.
 */
import { eventually } from './support/cluster';
import {
  app, appWithCounts, arrayOf, datetime, errorBody, expectDeployment, expectShape, header, healthCheck, holdAfter, instanceIdOf, int, obj,
  small, str, task, taskFailure, waiting, type Json,
} from './support/marathon-shapes';
import { type TestServices, withServicesOnOneAgent } from './support/services';

jest.setTimeout(120_000);

let t: TestServices;

withServicesOnOneAgent((_, s) => { t = s; });

type Body = Json;
const done = async (deploymentId: string): Promise<void> => { await t.events.deploymentDone(deploymentId); };
const runningOf = async (appId: string): Promise<Body[]> =>
  ((await t.api.call<{ tasks: Body[] }>('GET', `/v2/apps${appId}/tasks`)).body.tasks ?? []).filter((x) => x.state === 'TASK_RUNNING');
/** What axios and browsers send: JSON first, text/plain after. */
const BROWSER_ACCEPT = 'application/json, text/plain, */*';
const inServiceRange = (p: unknown): void => {
  expect(p).toBeGreaterThanOrEqual(10000);
  expect(p).toBeLessThanOrEqual(20000);
};

describe('/v2/apps and /v2/apps/{id} (v2/apps.raml)', () => {
  const id = '/contract/app';
  const definition = small(id, { labels: { tier: 'contract' }, healthChecks: [healthCheck] });
  /** The service port the app's one port definition (port 0 by default) was given. */
  let servicePort = 0;
  const portOf = async (appId: string): Promise<unknown> =>
    ((await t.api.call<{ app: Body }>('GET', `/v2/apps${appId}`)).body.app.portDefinitions as Body[])[0]?.port;

  it('POST /v2/apps: 201 with the app, a Location, and Marathon-Deployment-Id naming the deployment in its deployments; port 0 gets a service port', async () => {
    const created = await t.api.call<Body>('POST', '/v2/apps', definition);
    expect(created.status).toBe(201);
    expectShape(created.body, appWithCounts);
    const deploymentId = header(created, 'Marathon-Deployment-Id') as string;
    expect(created.body).toMatchObject({ id, instances: 1, cpus: 0.1, mem: 16, cmd: 'sleep 600', labels: { tier: 'contract' }, deployments: [{ id: deploymentId }] });
    expect(header(created, 'Location')).toMatch(/\/contract\/app$/);
    servicePort = (created.body.portDefinitions as Body[])[0]?.port as number;
    inServiceRange(servicePort);
    await done(deploymentId);
  });

  it('POST /v2/apps of an existing id: 409 with a message naming it', async () => {
    const again = await t.api.call<Body>('POST', '/v2/apps', definition);
    expect(again.status).toBe(409);
    expectShape(again.body, errorBody);
    expect(again.body.message).toBe('An app with id [/contract/app] already exists.');
  });

  it('an app id whose last segment is restart, tasks or versions: 422 at /id, nothing created', async () => {
    for (const word of ['restart', 'tasks', 'versions']) {
      const bad = await t.api.call<Body>('POST', '/v2/apps', small(`/contract/${word}`));
      expect(bad.status).toBe(422);
      expectShape(bad.body, obj({ message: str, details: arrayOf(obj({ path: str, errors: arrayOf(str) })) }));
      expect((bad.body.details as Body[]).map((d) => d.path)).toEqual(['/id']);
    }
    const ids = (await t.api.call<{ apps: Body[] }>('GET', '/v2/apps')).body.apps.map((a) => a.id);
    expect(ids).toEqual([id]);
  });

  it('a malformed definition: 422 with the JSON path of each wrong field and what was wrong there, nothing created', async () => {
    const bad = await t.api.call<Body>('POST', '/v2/apps', {
      id: '/contract/malformed', instances: 'two', container: { type: 'DOCKER', docker: { image: 5 }, portMappings: [{ containerPort: 80, hostPort: 70000 }] },
      networks: [{ mode: 'container/bridge' }], healthChecks: [{ protocol: 'HTTP', portIndex: 0 }],
    });
    expect(bad.status).toBe(422);
    expect(bad.body).toEqual({
      message: 'Object is not valid',
      details: [
        { path: '/instances', errors: ['expected a whole number, got "two"'] },
        { path: '/container/docker/image', errors: ['expected a string, got 5'] },
        { path: '/container/portMappings(0)/hostPort', errors: ['expected a port number 0-65535, got 70000'] },
        { path: '/healthChecks(0)/protocol', errors: ["'HTTP' is not MESOS_HTTP, MESOS_TCP or COMMAND (checks run by the agent: use MESOS_HTTP)"] },
      ],
    });
    const ids = (await t.api.call<{ apps: Body[] }>('GET', '/v2/apps')).body.apps.map((a) => a.id);
    expect(ids).toEqual([id]);
  });

  it('GET /v2/apps: {apps: AppInfo[]}, counts and deployments always, tasks with embed=apps.tasks; the id, cmd and label filters', async () => {
    const listed = await t.api.call<{ apps: Body[] }>('GET', '/v2/apps?embed=apps.tasks');
    expect(listed.status).toBe(200);
    expectShape(listed.body, obj({ apps: arrayOf(appWithCounts) }));
    const mine = listed.body.apps.find((a) => a.id === id) as Body;
    expect(mine).toMatchObject({ instances: 1, tasksRunning: 1, tasksHealthy: 1, tasksUnhealthy: 0, tasksStaged: 0, deployments: [] });
    expectShape(mine.tasks, arrayOf(task), '$.tasks');
    expect(mine.tasks).toEqual([expect.objectContaining({ appId: id, state: 'TASK_RUNNING', role: '*', healthCheckResults: [expect.objectContaining({ alive: true, consecutiveFailures: 0, firstSuccess: expect.stringMatching(/^\d{4}-/), lastSuccess: expect.stringMatching(/^\d{4}-/) })] })]);
    // The task id is the instance id (stringTypes.raml InstanceId), and health results name it.
    const [only] = mine.tasks as [Body];
    expect(only.id).toMatch(instanceIdOf(id));
    expect((only.healthCheckResults as Body[])[0]?.instanceId).toBe(only.id);

    const plain = await t.api.call<{ apps: Body[] }>('GET', '/v2/apps');
    expect(plain.body.apps.find((a) => a.id === id)).not.toHaveProperty('tasks');

    const ids = async (query: string): Promise<string[]> => (await t.api.call<{ apps: Body[] }>('GET', `/v2/apps?${query}`)).body.apps.map((a) => a.id as string);
    expect(await ids('id=contract/app')).toContain(id);
    expect(await ids('id=no-such-app')).toEqual([]);
    expect(await ids('cmd=sleep')).toContain(id);
    expect(await ids(`label=${encodeURIComponent('tier==contract')}`)).toContain(id);
    expect(await ids(`label=${encodeURIComponent('tier!=contract')}`)).not.toContain(id);
    expect(await ids('label=tier')).toContain(id);
  });

  it('GET /v2/apps/{id}: 200 {app: AppInfo} with its tasks unasked; an unknown id: 404 with the message', async () => {
    const shown = await t.api.call<{ app: Body }>('GET', `/v2/apps${id}`);
    expect(shown.status).toBe(200);
    expectShape(shown.body, obj({ app: appWithCounts }));
    expect(shown.body.app).toMatchObject({ id, tasksRunning: 1 });
    expectShape(shown.body.app, obj({ tasks: arrayOf(task) }), '$.app');
    expect(shown.body.app.tasks).toHaveLength(1);
    expect(shown.body.app).not.toHaveProperty('lastTaskFailure');   // none failed

    const embedded = await t.api.call<{ app: Body }>('GET', `/v2/apps${id}?embed=app.tasks&embed=app.counts&embed=app.deployments&embed=app.lastTaskFailure`);
    expectShape(embedded.body.app, obj({ tasks: arrayOf(task) }), '$.app');

    const missing = await t.api.call<Body>('GET', '/v2/apps/contract/nope');
    expect(missing.status).toBe(404);
    expectShape(missing.body, errorBody);
    expect(missing.body.message).toBe("App '/contract/nope' does not exist");
  });

  it('GET /v2/apps/{id} of an app whose task failed embeds lastTaskFailure unasked', async () => {
    const failing = '/contract/failing';
    const failed = t.events.next((e) => e.eventType === 'status_update_event' && e.appId === failing && e.taskStatus === 'TASK_FAILED');
    expect((await t.api.call('POST', '/v2/apps', small(failing, { cmd: 'exit 3' }))).status).toBe(201);
    const update = await failed;
    const shown = (await t.api.call<{ app: Body }>('GET', `/v2/apps${failing}`)).body.app;
    expectShape(shown, obj({ tasks: arrayOf(task), lastTaskFailure: taskFailure }), '$.app');
    expect(shown.lastTaskFailure).toMatchObject({ appId: failing, taskId: update.taskId, state: 'TASK_FAILED' });

    await done(expectDeployment(await t.api.call<Body>('DELETE', `/v2/apps${failing}`)));
  });

  it('a task not started yet: TASK_STAGING with stagedAt, and startedAt omitted (not null) until it runs', async () => {
    const staging = '/contract/staging';
    const hold = holdAfter(t.services.framework, (e) => e.eventType === 'status_update_event' && e.appId === staging && e.taskStatus === 'TASK_STAGING');
    let deploymentId = '';
    try {
      const created = await t.api.call<Body>('POST', '/v2/apps', small(staging));
      expect(created.status).toBe(201);
      deploymentId = header(created, 'Marathon-Deployment-Id') as string;
      await hold.held;
      const [staged] = (await t.api.call<{ tasks: Body[] }>('GET', `/v2/apps${staging}/tasks`)).body.tasks as [Body];
      expectShape(staged, task);
      expectShape(staged, obj({ stagedAt: datetime }));
      expect(staged.state).toBe('TASK_STAGING');
      expect(staged).not.toHaveProperty('startedAt');
    } finally {
      hold.release();
    }
    await done(deploymentId);
    const [started] = await runningOf(staging);
    expectShape(started, obj({ stagedAt: datetime, startedAt: datetime }));

    await done(expectDeployment(await t.api.call<Body>('DELETE', `/v2/apps${staging}`)));
  });

  it('PUT /v2/apps/{id} of an existing app: 200 with DeploymentResult and the header (partial by default); the service port kept', async () => {
    const deploymentId = expectDeployment(await t.api.call<Body>('PUT', `/v2/apps${id}`, { instances: 2 }));
    await done(deploymentId);
    const shown = await t.api.call<{ app: Body }>('GET', `/v2/apps${id}`);
    expect(shown.body.app).toMatchObject({ instances: 2, tasksRunning: 2, cmd: 'sleep 600', labels: { tier: 'contract' }, portDefinitions: [{ port: servicePort }] });
  });

  it('PATCH /v2/apps/{id}: 200 with DeploymentResult and the header; a port given 0 again keeps its service port', async () => {
    const deploymentId = expectDeployment(await t.api.call<Body>('PATCH', `/v2/apps${id}`, { env: { RELEASE: '2' }, portDefinitions: [{ port: 0 }] }));
    await done(deploymentId);
    expect((await t.api.call<{ app: Body }>('GET', `/v2/apps${id}`)).body.app).toMatchObject({ env: { RELEASE: '2' }, instances: 2 });
    expect(await portOf(id)).toBe(servicePort);
  });

  it('PATCH /v2/apps/{id} and PATCH /v2/apps of an unknown app: 404, nothing created', async () => {
    const one = await t.api.call<Body>('PATCH', '/v2/apps/contract/nope', { instances: 1, cmd: 'sleep 600' });
    expect(one.status).toBe(404);
    expectShape(one.body, errorBody);
    expect(one.body.message).toBe("App '/contract/nope' does not exist");
    const several = await t.api.call<Body>('PATCH', '/v2/apps', [{ id, instances: 2 }, { id: '/contract/nope', instances: 1, cmd: 'sleep 600' }]);
    expect(several.status).toBe(404);
    expectShape(several.body, errorBody);
    expect((await t.api.call('GET', '/v2/apps/contract/nope')).status).toBe(404);
    expect((await t.api.call<{ apps: Body[] }>('GET', '/v2/apps')).body.apps.map((a) => a.id)).toEqual([id]);
  });

  it('PUT /v2/apps/{id} of a new id creates the app: 201 with DeploymentResult and the header; its service port another', async () => {
    const deploymentId = expectDeployment(await t.api.call<Body>('PUT', '/v2/apps/contract/other', small('/contract/other')), 201);
    await done(deploymentId);
    const port = await portOf('/contract/other');
    inServiceRange(port);
    expect(port).not.toBe(servicePort);
  });

  it('PUT and PATCH /v2/apps change several apps in one deployment: 200 with DeploymentResult and the header', async () => {
    const put = expectDeployment(await t.api.call<Body>('PUT', '/v2/apps', [{ id, instances: 1 }, { id: '/contract/other', instances: 2 }]));
    await done(put);
    const patch = expectDeployment(await t.api.call<Body>('PATCH', '/v2/apps', [{ id: '/contract/other', instances: 1 }]));
    await done(patch);
    const apps = (await t.api.call<{ apps: Body[] }>('GET', '/v2/apps?id=contract')).body.apps;
    expect(apps.map((a) => [a.id, a.instances])).toEqual([[id, 1], ['/contract/other', 1]]);
  });

  it('a port mapping given servicePort 0 gets a service port of its own; service ports stay across updates, a lower one free or not', async () => {
    // Apps that wait for offers (3 cpus): only their definitions matter here.
    const container = { type: 'DOCKER', docker: { image: 'agora/busybox:latest' }, portMappings: [{ containerPort: 80, hostPort: 0, servicePort: 0 }] };
    const created: Record<string, unknown> = {};
    for (const [appId, extra] of [['/contract/low', {}], ['/contract/bridged', { networks: [{ mode: 'container/bridge' }], container }], ['/contract/hosted', {}]] as const) {
      const answer = await t.api.call<Body>('POST', '/v2/apps', waiting(appId, extra));
      expect(answer.status).toBe(201);
      expectShape(answer.body, app);
      created[appId] = appId === '/contract/bridged'
        ? ((answer.body.container as Body).portMappings as Body[])[0]?.servicePort
        : (answer.body.portDefinitions as Body[])[0]?.port;
      inServiceRange(created[appId]);
    }
    const taken = [servicePort, await portOf('/contract/other'), ...Object.values(created)];
    expect(new Set(taken).size).toBe(taken.length);

    // The lowest of them freed, both others given 0 again: each keeps its own.
    for (const higher of ['/contract/bridged', '/contract/hosted']) expect(Number(created['/contract/low'])).toBeLessThan(Number(created[higher]));
    await done(expectDeployment(await t.api.call<Body>('DELETE', '/v2/apps/contract/low')));
    expectDeployment(await t.api.call<Body>('PUT', '/v2/apps?force=true', [
      { id: '/contract/bridged', container }, { id: '/contract/hosted', portDefinitions: [{ port: 0 }] },
    ]));   // still waiting for offers: the deployment stays open
    const bridged = (await t.api.call<{ app: Body }>('GET', '/v2/apps/contract/bridged')).body.app;
    expect(((bridged.container as Body).portMappings as Body[])[0]?.servicePort).toBe(created['/contract/bridged']);
    expect(await portOf('/contract/hosted')).toBe(created['/contract/hosted']);

    for (const gone of ['/contract/bridged', '/contract/hosted']) await done(expectDeployment(await t.api.call<Body>('DELETE', `/v2/apps${gone}`)));
  });

  it('POST /v2/apps/{id}/restart: 200 with DeploymentResult and the header; an unknown app: 404', async () => {
    const before = (await runningOf(id)).map((x) => x.id);
    const deploymentId = expectDeployment(await t.api.call<Body>('POST', `/v2/apps${id}/restart`));
    await done(deploymentId);
    const after = (await runningOf(id)).map((x) => x.id);
    expect(after).toHaveLength(1);
    expect(after).not.toEqual(before);

    const missing = await t.api.call<Body>('POST', '/v2/apps/contract/nope/restart');
    expect(missing.status).toBe(404);
    expectShape(missing.body, errorBody);
  });

  it('GET /v2/apps/{id}/versions: {versions: datetime[]}; …/versions/{v}: the App as it was; an unknown version: 404', async () => {
    const listed = await t.api.call<{ versions: string[] }>('GET', `/v2/apps${id}/versions`);
    expect(listed.status).toBe(200);
    expectShape(listed.body, obj({ versions: arrayOf(datetime) }));
    const current = (await t.api.call<{ app: Body }>('GET', `/v2/apps${id}`)).body.app.version as string;
    expect(listed.body.versions).toContain(current);
    expect(listed.body.versions.length).toBeGreaterThanOrEqual(4);   // created, scaled, patched, scaled again, restarted

    const first = [...listed.body.versions].sort()[0] as string;
    const old = await t.api.call<Body>('GET', `/v2/apps${id}/versions/${first}`);
    expect(old.status).toBe(200);
    expectShape(old.body, app);
    expect(old.body).toMatchObject({ id, version: first, instances: 1, portDefinitions: [{ port: servicePort }] });
    expect(old.body).not.toHaveProperty('env.RELEASE');

    const none = await t.api.call<Body>('GET', `/v2/apps${id}/versions/2000-01-01T00:00:00.000Z`);
    expect(none.status).toBe(404);
    expectShape(none.body, errorBody);
    expect((await t.api.call<Body>('GET', '/v2/apps/contract/nope/versions')).status).toBe(404);
  });

  it('GET /v2/apps/{id}/tasks: TaskList in JSON; text/plain asked first: one tab-separated line per port, app, service port, host:port…', async () => {
    const listed = await t.api.call<{ tasks: Body[] }>('GET', `/v2/apps${id}/tasks`);
    expect(listed.status).toBe(200);
    expectShape(listed.body, obj({ tasks: arrayOf(task) }));
    const [only] = listed.body.tasks as [Body];
    expect(only).toMatchObject({ appId: id, state: 'TASK_RUNNING', host: '127.0.0.1', servicePorts: [servicePort] });
    expectShape(only, obj({ ports: arrayOf(int), stagedAt: datetime, startedAt: datetime, version: datetime, slaveId: str }));

    const text = await t.api.call('GET', `/v2/apps${id}/tasks`, undefined, { accept: 'text/plain' });
    expect(text.status).toBe(200);
    expect(header(text, 'content-type')).toMatch(/^text\/plain/);
    const [line] = text.text.trim().split('\n');
    const [name, port, ...endpoints] = (line as string).split('\t');
    expect(name).toBe('contract_app');
    expect(Number(port)).toBe(servicePort);
    expect(endpoints).toEqual([`127.0.0.1:${(only.ports as number[])[0]}`]);

    const browser = await t.api.call<{ tasks: Body[] }>('GET', `/v2/apps${id}/tasks`, undefined, { accept: BROWSER_ACCEPT });
    expect(header(browser, 'content-type')).toMatch(/^application\/json/);
    expect(browser.body.tasks.map((x) => x.id)).toEqual([only.id]);

    expect((await t.api.call<Body>('GET', '/v2/apps/contract/nope/tasks')).status).toBe(404);
  });

  it('DELETE /v2/apps/{id}/tasks/{taskId}: 200 {task: Task}, and the task is replaced; an unknown task: 404', async () => {
    const [victim] = await runningOf(id);
    const replaced = t.events.next((e) => e.eventType === 'status_update_event' && e.appId === id && e.taskStatus === 'TASK_RUNNING');
    const killed = await t.api.call<{ task: Body }>('DELETE', `/v2/apps${id}/tasks/${victim?.id as string}`);
    expect(killed.status).toBe(200);
    expectShape(killed.body, obj({ task }));
    expect(killed.body.task.id).toBe(victim?.id);
    expect((await replaced).taskId).not.toBe(victim?.id);

    const unknown = await t.api.call<Body>('DELETE', `/v2/apps${id}/tasks/contract_app.no-such-task`);
    expect(unknown.status).toBe(404);
    expectShape(unknown.body, errorBody);
    expect(unknown.body.message).toBe("Task 'contract_app.no-such-task' does not exist");
  });

  it('DELETE /v2/apps/{id}/tasks: 200 {tasks: Task[]}; with scale=True a DeploymentResult and the header', async () => {
    await eventually('one running task', async () => (await runningOf(id)).length === 1);
    const replaced = t.events.next((e) => e.eventType === 'status_update_event' && e.appId === id && e.taskStatus === 'TASK_RUNNING');
    const killed = await t.api.call<{ tasks: Body[] }>('DELETE', `/v2/apps${id}/tasks`);
    expect(killed.status).toBe(200);
    expectShape(killed.body, obj({ tasks: arrayOf(task) }));
    expect(killed.body.tasks).toHaveLength(1);
    await replaced;

    // Spelled as a Java client may: Marathon reads booleans with Boolean.valueOf, any case.
    const deploymentId = expectDeployment(await t.api.call<Body>('DELETE', '/v2/apps/contract/other/tasks?scale=True'));
    await done(deploymentId);
    expect((await t.api.call<{ app: Body }>('GET', '/v2/apps/contract/other')).body.app).toMatchObject({ instances: 0, tasksRunning: 0 });
  });

  it('DELETE /v2/apps/{id}: 200 with DeploymentResult and the header; then 404', async () => {
    for (const gone of [id, '/contract/other']) {
      const deploymentId = expectDeployment(await t.api.call<Body>('DELETE', `/v2/apps${gone}`));
      await done(deploymentId);
      expect((await t.api.call<Body>('GET', `/v2/apps${gone}`)).status).toBe(404);
    }
    const missing = await t.api.call<Body>('DELETE', '/v2/apps/contract/nope');
    expect(missing.status).toBe(404);
    expectShape(missing.body, errorBody);
  });

});

describe('/v2/tasks (v2/tasks.raml)', () => {
  const id = '/contract/tasklist';

  beforeAll(async () => {
    const created = await t.api.call<Body>('POST', '/v2/apps', small(id, { instances: 2 }));
    await done(header(created, 'Marathon-Deployment-Id') as string);
  });

  afterAll(async () => {
    const removed = await t.api.call<Body>('DELETE', `/v2/apps${id}`);
    await done(removed.body.deploymentId as string);
  });

  it('GET /v2/tasks: TaskList of every app\'s tasks; status=running filters; text/plain asked first gives the discovery lines', async () => {
    const all = await t.api.call<{ tasks: Body[] }>('GET', '/v2/tasks');
    expect(all.status).toBe(200);
    expectShape(all.body, obj({ tasks: arrayOf(task) }));
    const mine = all.body.tasks.filter((x) => x.appId === id);
    expect(mine).toHaveLength(2);

    const running = await t.api.call<{ tasks: Body[] }>('GET', '/v2/tasks?status=running');
    expect(running.body.tasks.length).toBeGreaterThanOrEqual(2);
    expect(running.body.tasks.every((x) => x.state === 'TASK_RUNNING')).toBe(true);
    expect((await t.api.call<{ tasks: Body[] }>('GET', '/v2/tasks?status=staging')).body.tasks.every((x) => x.state === 'TASK_STAGING' || x.state === 'TASK_STARTING')).toBe(true);

    const text = await t.api.call('GET', '/v2/tasks', undefined, { accept: 'text/plain' });
    expect(header(text, 'content-type')).toMatch(/^text\/plain/);
    const line = text.text.split('\n').find((l) => l.startsWith('contract_tasklist\t'));
    const [, port, ...endpoints] = (line as string).split('\t');
    inServiceRange(Number(port));
    expect(Number(port)).toBe((mine[0]?.servicePorts as number[])[0]);
    expect(endpoints.sort()).toEqual(mine.map((x) => `${x.host as string}:${(x.ports as number[])[0]}`).sort());

    const browser = await t.api.call<{ tasks: Body[] }>('GET', '/v2/tasks', undefined, { accept: BROWSER_ACCEPT });
    expect(header(browser, 'content-type')).toMatch(/^application\/json/);
    expectShape(browser.body, obj({ tasks: arrayOf(task) }));
  });

  it('POST /v2/tasks/delete {ids}: 200 {tasks: Task[]} of the killed, replaced; with scale=true a DeploymentResult and the header', async () => {
    const [one] = (await t.api.call<{ tasks: Body[] }>('GET', `/v2/apps${id}/tasks`)).body.tasks as [Body];
    const replaced = t.events.next((e) => e.eventType === 'status_update_event' && e.appId === id && e.taskStatus === 'TASK_RUNNING');
    const killed = await t.api.call<{ tasks: Body[] }>('POST', '/v2/tasks/delete', { ids: [one.id] });
    expect(killed.status).toBe(200);
    expectShape(killed.body, obj({ tasks: arrayOf(task) }));
    expect(killed.body.tasks.map((x) => x.id)).toEqual([one.id]);
    await replaced;

    await eventually('two running tasks', async () => (await runningOf(id)).length === 2);
    const [two] = await runningOf(id);
    const deploymentId = expectDeployment(await t.api.call<Body>('POST', '/v2/tasks/delete?scale=true', { ids: [two?.id] }));
    await done(deploymentId);
    expect((await t.api.call<{ app: Body }>('GET', `/v2/apps${id}`)).body.app).toMatchObject({ instances: 1, tasksRunning: 1 });
  });

  it('POST /v2/tasks/delete without a list of ids: refused in the error shape', async () => {
    const bad = await t.api.call<Body>('POST', '/v2/tasks/delete', { ids: 'not-a-list' });
    expect([400, 422]).toContain(bad.status);
    expectShape(bad.body, errorBody);
  });

});

describe('Marathon\'s conveniences on /v2/apps and /v2/tasks', () => {
  const web = '/conv/web';
  const batch = '/conv/batch';

  beforeAll(async () => {
    for (const def of [small(web, { labels: { tier: 'front', team: 'x' } }), small(batch, { cmd: 'sleep 601', labels: { tier: 'back' } })]) {
      await done(header(await t.api.call<Body>('POST', '/v2/apps', def), 'Marathon-Deployment-Id') as string);
    }
  });

  const ids = async (query: string): Promise<unknown[]> => (await t.api.call<{ apps: Body[] }>('GET', `/v2/apps?${query}`)).body.apps.map((a) => a.id);

  it('GET /v2/apps matches id and cmd case-insensitively, and labels by k, k==v, k!=v, k in (…), k notin (…)', async () => {
    expect(await ids('id=CONV/WE')).toEqual([web]);
    expect(await ids(`cmd=${encodeURIComponent('SLEEP 601')}`)).toEqual([batch]);
    expect(await ids(`id=conv&label=${encodeURIComponent('tier in (front, middle)')}`)).toEqual([web]);
    expect(await ids(`id=conv&label=${encodeURIComponent('tier notin (front)')}`)).toEqual([batch]);
    expect(await ids(`id=conv&label=${encodeURIComponent('team, tier==front')}`)).toEqual([web]);
    expect(await ids(`id=conv&label=${encodeURIComponent('tier!=front')}`)).toEqual([batch]);
  });

  it('GET /v2/apps/{group}/*: {"*": [apps]}; …/*/tasks: their tasks', async () => {
    const wild = await t.api.call<{ '*': Body[] }>('GET', '/v2/apps/conv/*');
    expect(wild.status).toBe(200);
    expect(wild.body['*'].map((a) => a.id)).toEqual([batch, web]);
    const tasks = await t.api.call<{ tasks: Body[] }>('GET', '/v2/apps/conv/*/tasks');
    expectShape(tasks.body, obj({ tasks: arrayOf(task) }));
    expect(tasks.body.tasks.map((x) => x.appId).sort()).toEqual([batch, web]);
  });

  it('embed=apps.failures brings tasks and the last failure; embed=apps.taskStats counts tasks by config and in total', async () => {
    const [failures] = (await t.api.call<{ apps: Body[] }>('GET', `/v2/apps?id=${web}&embed=apps.failures`)).body.apps;
    expect(failures?.tasks).toEqual([expect.objectContaining({ appId: web, state: 'TASK_RUNNING' })]);
    const [stats] = (await t.api.call<{ apps: Body[] }>('GET', `/v2/apps?id=${web}&embed=apps.taskStats`)).body.apps;
    const running = { stats: expect.objectContaining({ counts: { staged: 0, running: 1, healthy: 0, unhealthy: 0 } }) };
    expect(stats?.taskStats).toEqual({ startedAfterLastScaling: running, withLatestConfig: running, totalSummary: running });
  });

  it('GET /v2/tasks?status[]=…: several states at once', async () => {
    const both = await t.api.call<{ tasks: Body[] }>('GET', '/v2/tasks?status[]=running&status[]=staging');
    expect(both.body.tasks.filter((x) => String(x.appId).startsWith('/conv/')).length).toBe(2);
    expect(both.body.tasks.every((x) => ['TASK_RUNNING', 'TASK_STAGING', 'TASK_STARTING'].includes(x.state as string))).toBe(true);
    expect((await t.api.call<{ tasks: Body[] }>('GET', '/v2/tasks?status[]=staging')).body.tasks.filter((x) => x.state === 'TASK_RUNNING')).toEqual([]);
  });

  it('POST /v2/tasks/delete: an id that is no task id is a 400; a well-formed id of no task is skipped', async () => {
    const malformed = await t.api.call<Body>('POST', '/v2/tasks/delete', { ids: ['nodot'] });
    expect(malformed.status).toBe(400);
    expectShape(malformed.body, errorBody);
    const unknown = await t.api.call<{ tasks: Body[] }>('POST', '/v2/tasks/delete', { ids: ['conv_web.instance-gone'] });
    expect(unknown.status).toBe(200);
    expect(unknown.body.tasks).toEqual([]);
  });

  it('DELETE /v2/apps/{id}/tasks?host=*: kills on every host', async () => {
    const killed = await t.api.call<{ tasks: Body[] }>('DELETE', `/v2/apps${web}/tasks?host=*`);
    expect(killed.body.tasks).toHaveLength(1);
  });

  it('GET /v2/tasks lists tasks of apps that exist only: not those of a deleted app still being killed', async () => {
    const hold = holdAfter(t.services.framework, (e) => e.eventType === 'deployment_info' && JSON.stringify(e.plan).includes(batch));
    const removed = await t.api.call<Body>('DELETE', `/v2/apps${batch}`);
    await hold.held;
    try {
      expect((await t.api.call<{ tasks: Body[] }>('GET', `/v2/apps${batch}/tasks`)).body.tasks).toHaveLength(1);   // still there, going
      expect((await t.api.call<{ tasks: Body[] }>('GET', '/v2/tasks')).body.tasks.filter((x) => x.appId === batch)).toEqual([]);
    } finally {
      hold.release();
    }
    await done(removed.body.deploymentId as string);
  });
});
