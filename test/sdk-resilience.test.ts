/**
 * An SDK framework outlives its master: the master (registry in a real redis-server) is
 * stopped and a new one started on the same ports and the same Redis; the framework, with
 * `reconnect`, subscribes again under its id, reconciles, and still has its task, RUNNING
 * on the agent that never stopped — and can still kill it.
 */
import { once } from 'events';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePort, startNatsServer, type NatsServer } from '../common/nats-server';
import { startRedisServer, type RedisServer } from '../common/redis-server';
import type { MasterStateView } from '../common/operator-types';
import { startAgent, type AgentHandle } from '../agent/agent';
import { startMaster, type MasterHandle, type StartMasterOptions } from '../master/server';
import { subscribe, task, type Scheduler } from '../frameworks/sdk';
import { EventLog } from './support/events';
import { eventually } from './support/cluster';

describe('an SDK framework across a master restart', () => {
  let nats: NatsServer;
  let redis: RedisServer;
  let master: MasterHandle | undefined;
  let agent: AgentHandle;
  let workDir: string;
  let options: StartMasterOptions;
  let s: Scheduler;
  let log: EventLog;

  const state = async (): Promise<MasterStateView> => (await fetch(`http://127.0.0.1:${options.httpPort}/api/v1/state`)).json() as Promise<MasterStateView>;

  beforeAll(async () => {
    [nats, redis] = await Promise.all([startNatsServer(), startRedisServer()]);
    options = {
      natsUrl: nats.url, host: '127.0.0.1', httpPort: await freePort(), grpcPort: await freePort(), redisUrl: redis.url,
      allocationIntervalMs: 100, agentHeartbeatIntervalMs: 300,
    };
    master = await startMaster(options);
    workDir = mkdtempSync(join(tmpdir(), 'agora-sdk-restart-'));
    agent = await startAgent({
      natsUrl: nats.url, workDir, containerizer: 'process', httpHost: '127.0.0.1', httpPort: 0, hostname: '127.0.0.1', resources: 'cpus:1;mem:256;disk:100',
    });
    await agent.registered;
    s = await subscribe({
      grpcAddress: `127.0.0.1:${options.grpcPort}`, framework: { name: 'resilient', failoverTimeoutMs: 60_000 },
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
    });
    log = new EventLog(s);
  });
  afterAll(async () => {
    s?.close();
    await agent?.stop();
    await master?.stop();
    await nats?.stop();
    await redis?.stop();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('subscribes again under its id, reconciles, keeps its running task and can still kill it', async () => {
    const offer = await log.offer();
    await s.launch(offer, [task({ id: 'steady', command: 'sleep 600', cpus: 0.1, mem: 32, process: true }, offer)]);
    await log.status('steady', 'TASK_RUNNING');
    const frameworkId = s.frameworkId;

    const disconnected = once(s, 'disconnected');
    await master!.stop();
    master = undefined;
    await disconnected;

    const resubscribed = once(s, 'resubscribed');
    const runningAgain = log.next((e) => e.type === 'UPDATE' && e.status.taskId === 'steady' && e.status.state === 'TASK_RUNNING');
    master = await startMaster(options);
    await resubscribed;
    expect(s.frameworkId).toBe(frameworkId);
    await runningAgain;
    await eventually('the new master knows the task', async () => (await state()).tasks.some((t) => t.id === 'steady' && t.state === 'TASK_RUNNING'));
    expect((await state()).frameworks.map((f) => [f.id, f.connected])).toEqual([[frameworkId, true]]);

    const killed = log.next((e) => e.type === 'UPDATE' && e.status.taskId === 'steady' && e.status.state === 'TASK_KILLED');
    await s.kill('steady');
    await killed;
  });
});
