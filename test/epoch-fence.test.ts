/**
 * A deposed master cannot command an agent: a real master of epoch 5, a real agent (process
 * containerizer), a real nats-server, and the test publishing on the agent's subjects as a
 * stale master of epoch 4 would. What the agent does is read from its status updates on the
 * master's subject (the test listens there too) and its own /state, after a barrier: a kill
 * for an unknown task, which the agent answers TASK_DROPPED, handled in order after what was
 * published before it. Then the agent restarts on its work dir facing a master of epoch 4.
 */
import { readFileSync } from 'fs';
import { join } from 'path';
import type { NatsConnection } from 'nats';
import { decodeStatusUpdate, encodeKillTask, encodeRunTask, encodeStatusAck } from '../common/agent-messages';
import { OPEN_OWNER, subjects } from '../common/subjects';
import type { TaskStatus } from '../common/types';
import { startAgent, type AgentHandle } from '../agent/agent';
import type { FencedDrop } from '../agent/epoch-fence';
import { startMaster, type MasterHandle } from '../master/server';
import { frameworkInfo } from './support/master-harness';
import { testTask } from './support/test-master';
import { Inbox } from './support/test-clients';
import { agentState, startCluster, type TestCluster } from './support/cluster';

const subj = subjects();
let cluster: TestCluster;
let nc: NatsConnection;
let agent: AgentHandle;
const statuses = new Inbox<TaskStatus>();
const seen: TaskStatus[] = [];
const drops: FencedDrop[] = [];
const later: { stop(): Promise<void> }[] = [];

beforeAll(async () => {
  cluster = await startCluster({ containerizer: 'process', secure: false, masterOptions: { epoch: 5 } });
  agent = cluster.agents[0]!;
  agent.on('fenced', (d) => drops.push(d));
  ({ nc } = await cluster.natsAs());
  // The master does not know the test's framework, so the test acknowledges as the leader would:
  // an agent sends a task's next update only once the one before is acknowledged.
  nc.subscribe(subj.status(OPEN_OWNER), { callback: (_e, m) => {
    const { status } = decodeStatusUpdate(m.data);
    seen.push(status);
    statuses.push(status);
    nc.publish(subj.ack(OPEN_OWNER, status.agentId), encodeStatusAck({ frameworkId: status.frameworkId, taskId: status.taskId, uuid: status.uuid, epoch: 5 }));
  } });
  await nc.flush();
});
afterAll(async () => {
  await nc?.close();
  for (const s of later.reverse()) await s.stop();
  await cluster?.stop();
});

const FW = 'fw-stale';
const run = (taskId: string, command: string, epoch: number) =>
  nc.publish(subj.run(OPEN_OWNER, agent.agentId), encodeRunTask({ frameworkId: FW, frameworkInfo: frameworkInfo({ id: FW }), task: { ...testTask(taskId, command), agentId: agent.agentId }, epoch }));
const kill = (taskId: string, epoch: number) => nc.publish(subj.kill(OPEN_OWNER, agent.agentId), encodeKillTask({ frameworkId: FW, taskId, epoch }));
const state = (taskId: string, s: TaskStatus['state']) => statuses.take((x) => x.taskId === taskId && x.state === s, `${taskId} ${s}`);

/** Everything published before it has been handled by the agent once this resolves. */
async function barrier(name: string): Promise<void> {
  kill(name, 5);
  await state(name, 'TASK_DROPPED');
}

describe('an agent fenced by the master epoch', () => {
  it('learns the master\'s epoch as it registers', () => {
    expect(JSON.parse(readFileSync(join(agent.config.workDir, 'meta', 'epoch.json'), 'utf8'))).toEqual({ version: 1, epoch: 5 });
  });

  it('drops a run from a deposed master and never launches it; the same run from the leader launches', async () => {
    run('stale-1', 'sleep 60', 4);
    await barrier('barrier-1');
    expect(drops).toEqual([{ what: 'run', epoch: 4, highest: 5 }]);
    expect(seen.filter((s) => s.taskId === 'stale-1')).toEqual([]);
    expect((await agentState(agent)).tasks.map((t) => t.id)).not.toContain('stale-1');

    run('stale-1', 'sleep 60', 5);
    await state('stale-1', 'TASK_RUNNING');
    kill('stale-1', 5);
    await state('stale-1', 'TASK_KILLED');
  });

  it('drops a kill from a deposed master: the task runs on until the leader kills it', async () => {
    drops.splice(0);
    run('live-1', 'sleep 60', 5);
    await state('live-1', 'TASK_RUNNING');
    kill('live-1', 4);
    await barrier('barrier-2');
    expect(drops).toEqual([{ what: 'kill', epoch: 4, highest: 5 }]);
    expect(seen.filter((s) => s.taskId === 'live-1').map((s) => s.state)).not.toContain('TASK_KILLED');
    expect((await agentState(agent)).tasks.find((t) => t.id === 'live-1')?.state).toBe('TASK_RUNNING');
    kill('live-1', 5);
    await state('live-1', 'TASK_KILLED');
  });

  it('remembers the highest epoch across a restart: it will not register with a master of epoch 4', async () => {
    const workDir = agent.config.workDir;
    await agent.stop();
    await cluster.master.stop();
    const stale: MasterHandle = await startMaster({ natsUrl: cluster.nats.url, host: '127.0.0.1', httpPort: 0, grpcPort: 0, epoch: 4 });
    later.push(stale);
    const restarted = await startAgent({
      natsUrl: cluster.nats.url, workDir, containerizer: 'process', httpHost: '127.0.0.1', httpPort: 0, hostname: '127.0.0.1',
      resources: 'cpus:2;mem:1024', registerBackoffFactorMs: 50, registerBackoffMaxMs: 200,
    });
    later.push(restarted);
    let registered = false;
    restarted.on('registered', () => { registered = true; });
    // Refused, and so asked again: a second refusal means it did not register in between.
    const refused: FencedDrop[] = [];
    await new Promise<void>((resolve) => restarted.on('fenced', (d) => { if (refused.push(d) === 2) resolve(); }));
    expect(refused).toEqual([{ what: 'registration', epoch: 4, highest: 5 }, { what: 'registration', epoch: 4, highest: 5 }]);
    expect(registered).toBe(false);
    expect(JSON.parse(readFileSync(join(workDir, 'meta', 'epoch.json'), 'utf8'))).toEqual({ version: 1, epoch: 5 });
  });
});
