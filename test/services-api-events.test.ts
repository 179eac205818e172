/**
 * The services framework's event stream, its status endpoints and its refusals held to
 * Marathon's published v2 contract (v2/events.raml and docs/docs/event-bus.md, v2/info.raml,
 * v2/leader.raml, general/*.raml, api.raml's validators; the shapes are in
 * support/marathon-shapes.ts), on a real cluster (one process agent, Redis). What the code
 * does not meet yet is an `it.todo` at the end of each group.
 */
import { authHeaders } from '../common/security/client-config';
import { request } from './support/http';
import { frameFields, readEventFrames } from '../common/sse';
import type { MarathonEvent } from '../frameworks/services/events';
import { startServices } from '../frameworks/services/server';
import {
  app, arrayOf, bool, CONDITIONS, datetime, deploymentPlan, deploymentStep, errorBody, event, expectShape, header, healthCheck, instanceIdOf,
  int, marathonInfo, MESOS_TASK_STATES, metrics, obj, oneOf, pathId, small, str, type Json,
} from './support/marathon-shapes';
import { ServicesClient, type TestServices, withServicesOnOneAgent } from './support/services';

jest.setTimeout(120_000);

let t: TestServices;

withServicesOnOneAgent((_, s) => { t = s; });

type Body = Json;
const done = async (deploymentId: string): Promise<void> => { await t.events.deploymentDone(deploymentId); };

/** A raw `/v2/events` stream with a query, for what the recording stream does not show: headers and the event_type filter. */
function rawEvents(query: string): Promise<{ headers: Record<string, unknown>; events: { name: string; data: Json }[]; until: (n: number) => Promise<void>; close: () => void }> {
  return new Promise((resolve, reject) => {
    const events: { name: string; data: Json }[] = [];
    const waiters: { n: number; resolve: () => void }[] = [];
    const req = request({ host: '127.0.0.1', port: t.api.port, path: `/v2/events?${query}`, headers: { accept: 'text/event-stream', ...authHeaders() } }, (res) => {
      readEventFrames(res, (frame) => {
        const { event: name, data } = frameFields(frame);
        if (name !== undefined && data !== undefined) events.push({ name, data: JSON.parse(data) as Json });
        for (const w of waiters.filter((x) => events.length >= x.n)) w.resolve();
      });
      resolve({
        headers: res.headers, events,
        until: (n) => (events.length >= n ? Promise.resolve() : new Promise<void>((r) => { waiters.push({ n, resolve: r }); })),
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('/v2/events (v2/events.raml, event-bus.md)', () => {
  const id = '/contract/events';
  let filtered: Awaited<ReturnType<typeof rawEvents>>;
  const of = (type: string, match: (e: MarathonEvent) => boolean = () => true): MarathonEvent[] =>
    t.events.events.filter((e) => e.eventType === type && match(e));
  const mentions = (e: MarathonEvent): boolean => JSON.stringify(e.plan).includes(`"${id}"`);

  beforeAll(async () => {
    filtered = await rawEvents('event_type=deployment_success&event_type=app_terminated_event');
    const created = await t.api.call<Body>('POST', '/v2/apps', small(id, { healthChecks: [healthCheck] }));
    await done(header(created, 'Marathon-Deployment-Id') as string);
    const removed = await t.api.call<Body>('DELETE', `/v2/apps${id}`);
    await done(removed.body.deploymentId as string);
    await t.events.waitFor((e) => e.eventType === 'app_terminated_event' && e.appId === id);
    await filtered.until(3);
  });

  afterAll(() => filtered?.close());

  it('is text/event-stream, each event named by its type, and event_type= keeps only the types asked for', () => {
    expect(String(filtered.headers['content-type'])).toMatch(/^text\/event-stream/);
    expect(filtered.events.map((e) => e.name)).toEqual(['deployment_success', 'app_terminated_event', 'deployment_success']);
    for (const e of filtered.events) expect(e.data.eventType).toBe(e.name);
  });

  it('event_stream_attached: remoteAddress', () => {
    expectShape(of('event_stream_attached')[0], event('event_stream_attached', { remoteAddress: str }));
  });

  it('api_post_event: uri and appDefinition', () => {
    const [e] = of('api_post_event', (x) => (x.appDefinition as Body | undefined)?.id === id);
    expectShape(e, event('api_post_event', { clientIp: str, uri: str, appDefinition: app }));
    expect(e?.clientIp).toMatch(/127\.0\.0\.1$/);
    expect((e?.appDefinition as Body).version).toEqual(expect.any(String));
  });

  it('status_update_event: slaveId, taskId, taskStatus, message, appId, host, ports, ipAddresses, version', () => {
    const updates = of('status_update_event', (x) => x.appId === id);
    expect(updates.map((x) => x.taskStatus)).toEqual(expect.arrayContaining(['TASK_RUNNING', 'TASK_KILLED']));
    for (const e of updates) {
      expectShape(e, event('status_update_event', {
        slaveId: str, taskId: str, taskStatus: oneOf(...MESOS_TASK_STATES), message: str, appId: pathId, host: str,
        ports: arrayOf(int), ipAddresses: arrayOf(obj({ ipAddress: str, protocol: oneOf('IPv4', 'IPv6') })), version: datetime,
      }));
    }
  });

  it('instance_changed_event: instanceId, condition (a Condition name: Staging, Running, Killed…), runSpecId, agentId, host, runSpecVersion', () => {
    const changes = of('instance_changed_event', (x) => x.runSpecId === id);
    for (const e of changes) {
      expectShape(e, event('instance_changed_event', {
        instanceId: str, condition: oneOf(...CONDITIONS), runSpecId: pathId, agentId: str, host: str, runSpecVersion: datetime,
      }));
    }
    expect(changes.map((e) => e.condition)).toEqual(expect.arrayContaining(['Staging', 'Running', 'Killed']));
  });

  it('instance ids are "<app>.instance-<uuid>" (stringTypes.raml InstanceId), the same string as the task id', () => {
    const changes = of('instance_changed_event', (x) => x.runSpecId === id);
    for (const e of changes) expect(e.instanceId).toMatch(instanceIdOf(id));
    const taskIds = new Set(of('status_update_event', (x) => x.appId === id).map((x) => x.taskId));
    expect(new Set(changes.map((e) => e.instanceId))).toEqual(taskIds);
    const health = of('health_status_changed_event', (x) => x.appId === id);
    expect(health.length).toBeGreaterThan(0);
    for (const e of health) expect(taskIds).toContain(e.instanceId);
  });

  it('health_status_changed_event: appId, instanceId, version, alive', () => {
    const [e] = of('health_status_changed_event', (x) => x.appId === id);
    expectShape(e, event('health_status_changed_event', { appId: pathId, instanceId: str, version: datetime, alive: bool }));
    expect(e?.alive).toBe(true);
  });

  it('deployment_info and deployment_step_success: plan {id, steps, version} and nothing more, and currentStep (actions)', () => {
    for (const type of ['deployment_info', 'deployment_step_success']) {
      const mine = of(type, mentions);
      expect(mine.length).toBeGreaterThanOrEqual(2);   // the start and the stop
      for (const e of mine) expectShape(e, event(type, { plan: deploymentPlan, currentStep: deploymentStep }));
    }
  });

  it('deployment_success: id and plan {id, steps, version} and nothing more', () => {
    const mine = of('deployment_success', mentions);
    expect(mine).toHaveLength(2);
    for (const e of mine) {
      expectShape(e, event('deployment_success', { id: str, plan: deploymentPlan }));
      expect((e.plan as Body).id).toBe(e.id);
    }
  });

  it('app_terminated_event: appId', () => {
    expectShape(of('app_terminated_event', (x) => x.appId === id)[0], event('app_terminated_event', { appId: pathId }));
  });

  it('instance_health_changed_event: instanceId, runSpecId, runSpecVersion, healthy', () => {
    const [e] = of('instance_health_changed_event', (x) => x.runSpecId === id);
    expectShape(e, event('instance_health_changed_event', { instanceId: str, runSpecId: pathId, runSpecVersion: datetime, healthy: bool }));
    expect(e?.healthy).toBe(true);
  });

  it('event_stream_attached and event_stream_detached go to every open stream when a client comes or goes', async () => {
    const before = of('event_stream_attached').length;
    const other = await rawEvents('');
    await t.events.waitFor((e) => e.eventType === 'event_stream_attached' && of('event_stream_attached').indexOf(e) >= before);
    const detached = t.events.next((e) => e.eventType === 'event_stream_detached');
    other.close();
    expectShape(await detached, event('event_stream_detached', { remoteAddress: str }));
  });
});

describe('/v2/info, /v2/leader, /ping, /metrics (v2/info.raml, v2/leader.raml, general/*.raml)', () => {
  it('GET /v2/info: MarathonInfo and nothing more — name, version, buildref, elected, leader, frameworkId, marathon_config, zookeeper_config, http_config', async () => {
    const info = await t.api.call<Body>('GET', '/v2/info');
    expect(info.status).toBe(200);
    expectShape(info.body, marathonInfo);
    expect(info.body).toMatchObject({ elected: true, frameworkId: await t.services.subscribed, http_config: { http_port: t.api.port }, marathon_config: { features: [] } });
  });

  it('GET /v2/info before the first subscription: no frameworkId (omitted, not null)', async () => {
    // No master at this address: the framework keeps trying, and answers meanwhile.
    // Locked as the suite's cluster is, so the suite's clients (HTTPS, credentials) can ask it.
    const alone = await startServices({ master: '127.0.0.1:1', grpcAddress: '127.0.0.1:1', host: '127.0.0.1', port: 0, ...(t.security ? { security: t.security } : {}) });
    try {
      const info = await new ServicesClient(alone.port).call<Body>('GET', '/v2/info');
      expect(info.status).toBe(200);
      expectShape(info.body, marathonInfo);
      expect(info.body).not.toHaveProperty('frameworkId');
    } finally {
      await alone.stop();
    }
  });

  it('GET /v2/leader: {leader: "host:port"}', async () => {
    const leader = await t.api.call<Body>('GET', '/v2/leader');
    expect(leader.status).toBe(200);
    expectShape(leader.body, obj({ leader: str }));
    expect(leader.body.leader).toMatch(/^[^:]+:\d+$/);
  });

  it('GET /ping: 200, text/plain "pong" exactly; with Accept: application/json, "pong" as JSON', async () => {
    const pong = await t.api.call('GET', '/ping');
    expect(pong.status).toBe(200);
    expect(header(pong, 'content-type')).toMatch(/^text\/plain/);
    expect(pong.text).toBe('pong');

    const json = await t.api.call('GET', '/ping', undefined, { accept: 'application/json' });
    expect(json.status).toBe(200);
    expect(header(json, 'content-type')).toMatch(/^application\/json/);
    expect(json.text).toBe('"pong"');
  });

  it('GET /metrics: Marathon\'s JSON {version, counters, gauges, histograms, meters, timers}, the subscription a gauge', async () => {
    const answer = await t.api.call<Body>('GET', '/metrics');
    expect(answer.status).toBe(200);
    expect(header(answer, 'content-type')).toMatch(/^application\/json/);
    expectShape(answer.body, metrics);
    expect((answer.body.gauges as Body).agora_services_connected).toEqual({ value: 1 });
  });

  it('GET /metrics/prometheus: the Prometheus text exposition', async () => {
    const answer = await t.api.call('GET', '/metrics/prometheus');
    expect(answer.status).toBe(200);
    expect(header(answer, 'content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const lines = answer.text.split('\n');
    expect(lines).toEqual(expect.arrayContaining(['# TYPE agora_services_connected gauge', 'agora_services_connected 1']));
  });
});

describe('refusals in Marathon\'s error shape (api.raml jsonValidator, objectValidator)', () => {
  it('a body that is not JSON: 400 {message: "Invalid JSON", details}', async () => {
    const bad = await t.api.call<Body>('POST', '/v2/apps', '{"id": ');
    expect(bad.status).toBe(400);
    expectShape(bad.body, errorBody);
    expect(bad.body.message).toBe('Invalid JSON');
  });

  it('an invalid app: 422 {message: "Object is not valid", details: [{path, errors}]}, nothing created', async () => {
    const bad = await t.api.call<Body>('POST', '/v2/apps', small('/contract/bad', { cpus: -1 }));
    expect(bad.status).toBe(422);
    expectShape(bad.body, obj({ message: str, details: arrayOf(obj({ path: str, errors: arrayOf(str) })) }));
    expect(bad.body.message).toBe('Object is not valid');
    expect((bad.body.details as Body[]).map((d) => d.path)).toContain('/cpus');
    expect((await t.api.call('GET', '/v2/apps/contract/bad')).status).toBe(404);
  });
});
