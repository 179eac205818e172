/**
 * Two `agora master --ha` processes on one NATS and one Redis: one leads, the other is a
 * standby that says who leads and sends callers there. The leader is SIGKILLed with an SDK
 * framework's task running: the standby takes over in a higher epoch, the agent registers with
 * it, the framework follows it (the old address refuses, the survivor's standby had named the
 * leader), and the task keeps running under the same id — nothing relaunched. The killed
 * master, started again, stands by for the new leader.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startAgent, type AgentHandle } from '../agent/agent';
import { freePort, startNatsServer, stopChild, type NatsServer } from '../common/nats-server';
import { getJson, grpcAddress, masterAt } from '../common/operator-client';
import { startRedisServer, type RedisServer } from '../common/redis-server';
import { subscribe, task, type Scheduler } from '../frameworks/sdk';
import { eventually } from './support/cluster';
import { EventLog } from './support/events';
import { leaderOf, masterHealth, spawnHaMaster, type MasterProcess } from './support/ha-masters';
import { doorFetch } from './support/http';
import { testSecurity, type TestSecurity } from './support/security';

jest.setTimeout(120_000);

let sec: TestSecurity;
let nats: NatsServer;
let redis: RedisServer;
let agent: AgentHandle;
let workDir: string;
let s: Scheduler | undefined;
const masters: MasterProcess[] = [];

const spawnMaster = (m: Omit<MasterProcess, 'child'>): MasterProcess => spawnHaMaster(m, { nats, redis, sec });
const health = masterHealth;

beforeAll(async () => {
  sec = await testSecurity();
  [nats, redis] = await Promise.all([startNatsServer({ securityDir: sec.dir }), startRedisServer()]);
  for (let i = 0; i < 2; i++) masters.push(spawnMaster({ http: await freePort(), grpc: await freePort() }));
  workDir = mkdtempSync(join(tmpdir(), 'agora-failover-'));
});

afterAll(async () => {
  s?.close();
  await agent?.stop();
  for (const m of masters) await stopChild(m.child);
  await nats?.stop();
  await redis?.stop();
  rmSync(workDir, { recursive: true, force: true });
  sec?.remove();
});

it('replaces a SIGKILLed leader with its standby in a higher epoch, and the running task keeps its id', async () => {
  const first = await leaderOf(masters);
  const standby = masters.find((m) => m !== first.leader)!;
  await eventually('the standby knows the leader', async () => (await health(standby))?.leader === `127.0.0.1:${first.leader.http}`);
  expect(await health(standby)).toMatchObject({ status: 'ok', role: 'standby', epoch: first.h.epoch, leader: `127.0.0.1:${first.leader.http}` });
  const redirect = await doorFetch(`https://127.0.0.1:${standby.http}/api/v1/state`, { redirect: 'manual', headers: { authorization: sec.header('admin') } });
  expect(redirect.status).toBe(307);
  expect(redirect.headers.get('location')).toBe(`https://127.0.0.1:${first.leader.http}/api/v1/state`);
  // The CLI's and the SDK's HTTP client follow it: asked of the standby, answered by the leader.
  const viaStandby = masterAt('127.0.0.1', standby.http, sec.identity('admin'));
  expect((await getJson<{ master: { httpPort: number } }>(viaStandby, '/api/v1/state')).master.httpPort).toBe(first.leader.http);
  expect(await grpcAddress(viaStandby)).toBe(`127.0.0.1:${first.leader.grpc}`);

  const doors = sec.open();
  agent = await startAgent({
    natsUrl: nats.url, workDir, containerizer: 'process', httpHost: '127.0.0.1', httpPort: 0, hostname: '127.0.0.1', resources: 'cpus:1;mem:256;disk:100',
    security: doors, identity: sec.identity('local-agent'),
  });
  await agent.registered;
  // The framework is given the standby first: it is sent to the leader.
  s = await subscribe({
    grpcAddress: `127.0.0.1:${standby.grpc}`, framework: { name: 'ha-test', failoverTimeoutMs: 600_000 },
    reconnect: { initialDelayMs: 100, maxDelayMs: 1000, grpcAddresses: [`127.0.0.1:${first.leader.grpc}`] },
  });
  const log = new EventLog(s);
  const offer = await log.offer();
  await s.launch(offer, [task({ id: 'steady', command: 'sleep 600', cpus: 0.1, mem: 32, process: true }, offer)]);
  await log.status('steady', 'TASK_RUNNING');
  const frameworkId = s.frameworkId;

  first.leader.child.kill('SIGKILL');
  const second = await leaderOf([standby]);
  expect(second.h.epoch).toBeGreaterThan(first.h.epoch as number);
  expect(second.h.pid).toBe(standby.child.pid);

  // Nothing replaced: the new leader learns the task from the agent, the framework hears it running.
  await eventually('the new leader has the task from the agent', async () => {
    const state = await (await doorFetch(`https://127.0.0.1:${standby.http}/api/v1/state`, { headers: { authorization: sec.header('admin') } })).json() as { tasks: { id: string; state: string }[] };
    return state.tasks.some((t) => t.id === 'steady' && t.state === 'TASK_RUNNING');
  }, 600);
  await eventually('the framework is subscribed to the new leader', async () => s!.connected, 600);
  expect(s.frameworkId).toBe(frameworkId);
  expect(log.events.filter((e) => e.type === 'UPDATE' && e.status.taskId === 'steady').map((e) => e.type === 'UPDATE' && e.status.state))
    .not.toContain('TASK_KILLED');

  // The killed master comes back as a standby of the new leader.
  const restarted = spawnMaster({ http: first.leader.http, grpc: first.leader.grpc });
  masters.push(restarted);
  await eventually('the restarted master stands by', async () => (await health(restarted))?.role === 'standby', 600);
  expect(await health(restarted)).toMatchObject({ leader: `127.0.0.1:${standby.http}`, epoch: second.h.epoch });
  doors.close();
});
