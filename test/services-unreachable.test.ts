/**
 * An app's instance on an agent that goes silent (the `agora agent` process frozen with
 * SIGSTOP; its task keeps running, as behind a partition), with
 * `unreachableStrategy: {inactiveAfterSeconds: 60, expungeAfterSeconds: 600}` and the services
 * framework on a fake clock: no replacement before 60 s, one on the other agent after; when
 * the agent comes back the app has one instance too many, and the younger goes.
 */
import { spawn, type ChildProcess } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { FakeClock } from '../common/clock';
import { stopChild } from '../common/nats-server';
import { eventually, startCluster, type TestCluster } from './support/cluster';
import { startTestServices, type TestServices } from './support/services';

jest.setTimeout(120_000);
const BIN = join(__dirname, '..', 'dist', 'cli', 'agora.js');

let cluster: TestCluster;
let agent: ChildProcess;
let workDir: string;
let t: TestServices;
const clock = new FakeClock(Date.parse('2026-11-22T00:00:00Z'));

beforeAll(async () => {
  // Agent heartbeats every 200 ms, 3 may be missed: silence is noticed after 600 ms.
  cluster = await startCluster({ agents: 0, containerizer: 'process', masterOptions: { agentHeartbeatIntervalMs: 200, agentMaxMissedHeartbeats: 3 } });
  workDir = mkdtempSync(join(tmpdir(), 'agora-partitioned-'));
  agent = spawn(process.execPath, [BIN, 'agent', '--nats', cluster.nats.url, '--port', '0', '--host', '127.0.0.1',
    '--hostname', 'host-a', '--work-dir', workDir, '--containerizer', 'process', '--resources', 'cpus:1;mem:256;disk:100'],
  { stdio: 'ignore', env: { ...process.env, AGORA_LOG: 'warn' } });
  await eventually('the agent registered', async () => (await cluster.state()).agents.length === 1);
  t = await startTestServices(cluster, { clock });
});

afterAll(async () => {
  agent?.kill('SIGCONT');   // in case the test stopped half-way through the partition
  await t?.stop();
  if (agent) await stopChild(agent);
  await cluster?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

interface TaskJson { id: string; host: string; state: string }
const tasks = async (): Promise<TaskJson[]> => (await t.api.call<{ tasks: TaskJson[] }>('GET', '/v2/apps/partitioned/tasks')).body.tasks;

it('is replaced once inactive, and the extra instance goes when the agent returns', async () => {
  const app = { id: '/partitioned', instances: 1, cpus: 0.1, mem: 16, cmd: 'sleep 600', unreachableStrategy: { inactiveAfterSeconds: 60, expungeAfterSeconds: 600 } };
  const created = await t.api.call('POST', '/v2/apps', app);
  await t.events.deploymentDone(created.headers['marathon-deployment-id'] as string);
  const [original] = await tasks();
  expect(original).toMatchObject({ host: 'host-a', state: 'TASK_RUNNING' });
  await cluster.addAgent({ hostname: 'host-b' });

  agent.kill('SIGSTOP');
  await t.events.waitFor((e) => e.eventType === 'status_update_event' && e.taskId === original!.id && e.taskStatus === 'TASK_UNREACHABLE');
  expect(await tasks()).toEqual([expect.objectContaining({ id: original!.id, state: 'TASK_UNREACHABLE' })]);

  const replacement = t.events.next((e) => e.eventType === 'status_update_event' && e.appId === '/partitioned' && e.taskStatus === 'TASK_RUNNING');
  clock.advance(59_999);
  expect((await tasks()).map((x) => x.id)).toEqual([original!.id]);   // still counted: not inactive yet
  clock.advance(1);
  const fresh = await replacement;
  expect(fresh.host).toBe('host-b');

  // Back from the partition: two instances for one, and the younger (killSelection) is killed.
  agent.kill('SIGCONT');
  await t.events.waitFor((e) => e.eventType === 'status_update_event' && e.taskId === fresh.taskId && e.taskStatus === 'TASK_KILLED');
  await eventually('one instance left', async () => (await tasks()).length === 1);
  expect(await tasks()).toEqual([expect.objectContaining({ id: original!.id, host: 'host-a', state: 'TASK_RUNNING' })]);
});
