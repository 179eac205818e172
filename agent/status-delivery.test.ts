/**
 * Reliable delivery end to end: an agent on a fake clock, a real NATS server, the test
 * playing a master that acknowledges only when told. Time moves only when the test says,
 * so a 10 s resend takes no time and nothing sleeps.
 *
 * "Not sent yet" is shown through NATS ordering: the agent publishes everything on one
 * connection, so if RUNNING had gone out before a resent STARTING, it would arrive first.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { FakeClock } from '../common/clock';
import { startNatsServer, type NatsServer } from '../common/nats-server';
import type { TaskStatus } from '../common/types';
import { startAgent, type AgentHandle } from './agent';
import { readJson } from './checkpoint';
import type { StatusCheckpoint } from './status-updates';
import { TestMaster, testTask } from '../test/support/test-master';

let nats: NatsServer;
let master: TestMaster;
let agent: AgentHandle;
let workDir: string;
const clock = new FakeClock();

beforeAll(async () => {
  nats = await startNatsServer();
  master = await TestMaster.start(nats.url);
  master.autoAck = false;
  workDir = mkdtempSync(join(tmpdir(), 'agora-agent-delivery-'));
  agent = await startAgent({ natsUrl: nats.url, workDir, containerizer: 'process', httpHost: '127.0.0.1', httpPort: 0, resources: 'cpus:1;mem:256;disk:100', clock });
  await agent.registered;
});

afterAll(async () => {
  await agent?.stop();
  await master?.close();
  await nats?.stop();
  rmSync(workDir, { recursive: true, force: true });
});

const received = (taskId: string) => master.of(taskId).map((s) => s.state.replace('TASK_', ''));
const untilReceived = (taskId: string, n: number) => master.waitForStatus(() => master.of(taskId).length >= n, `${n} updates of ${taskId}`);
const checkpoint = () => readJson(join(workDir, 'meta', 'status-updates.json')) as StatusCheckpoint;

/**
 * Resolves after the agent's pending checkpoint commit ran: commits are batched with
 * setImmediate, and immediates run in the order they were scheduled.
 */
const committed = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Resolves once the agent has produced `state` for the task (it may not be sent yet). */
function produced(taskId: string, state: TaskStatus['state']): Promise<TaskStatus> {
  return new Promise((resolve) => {
    const on = (s: TaskStatus) => {
      if (s.taskId === taskId && s.state === state) { agent.off('status', on); resolve(s); }
    };
    agent.on('status', on);
  });
}

describe('status updates over NATS', () => {
  it('resends an unacknowledged update after 10 s then 20 s, and holds the next one until the ack', async () => {
    const finished = produced('t1', 'TASK_FINISHED');
    master.run(agent.agentId, testTask('t1', 'echo done'));
    await finished; // STARTING, RUNNING and FINISHED are all queued now
    await committed();
    await untilReceived('t1', 1);
    expect(checkpoint().streams[0]!.pending.map((s) => s.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);

    clock.advance(9_999);
    clock.advance(1);
    await untilReceived('t1', 2);
    expect(received('t1')).toEqual(['STARTING', 'STARTING']);

    clock.advance(19_999);
    clock.advance(1);
    await untilReceived('t1', 3);
    expect(received('t1')).toEqual(['STARTING', 'STARTING', 'STARTING']);
    const starting = master.of('t1')[0]!;
    expect(new Set(master.of('t1').map((s) => s.uuid))).toEqual(new Set([starting.uuid]));

    master.ack(starting);
    await untilReceived('t1', 4);
    expect(received('t1')).toEqual(['STARTING', 'STARTING', 'STARTING', 'RUNNING']);

    master.ack({ ...starting, uuid: 'wrong-uuid' });
    clock.advance(10_000); // the RUNNING backoff starts again at 10 s
    await untilReceived('t1', 5);
    expect(received('t1')).toEqual(['STARTING', 'STARTING', 'STARTING', 'RUNNING', 'RUNNING']);

    master.ack(master.of('t1')[3]!);
    await untilReceived('t1', 6);
    expect(received('t1').slice(5)).toEqual(['FINISHED']);
  });

  it('forgets a task once its terminal update is acknowledged: nothing left to resend or checkpoint', async () => {
    const fin = master.of('t1').find((s) => s.state === 'TASK_FINISHED')!;
    const before = master.of('t1').length;
    master.ack(fin);
    // The ack is processed when a later message on the same connection is: run another task.
    const next = produced('t2', 'TASK_STARTING');
    master.run(agent.agentId, testTask('t2', 'true'));
    await next;
    // an update is sent only after the checkpoint that holds it is written
    await untilReceived('t2', 1);
    expect(checkpoint().streams.map((s) => s.taskId)).toEqual(['t2']);
    clock.advance(3_600_000);
    await untilReceived('t2', 2);
    expect(master.of('t1')).toHaveLength(before);
  });
});
