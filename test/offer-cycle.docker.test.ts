/**
 * The walking skeleton, end to end on real parts: a framework written against the SDK gets
 * offers from the master, launches tasks that an agent runs in real Docker containers, and
 * follows them through status updates carried over a real nats-server.
 */
import Docker from 'dockerode';
import { ranges, scalar } from '../common/resources';
import { subscribe, task, type Scheduler } from '../frameworks/sdk';
import { agentState, eventually, readSandbox, startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

const docker = new Docker();
const containersOf = (taskId: string) =>
  docker.listContainers({ all: true, filters: { label: [`agora.task-id=${taskId}`] } });

describe('the offer cycle with the Docker containerizer', () => {
  let cluster: TestCluster;
  let s: Scheduler;
  let log: EventLog;

  beforeAll(async () => { cluster = await startCluster({ containerizer: 'docker' }); });
  afterAll(async () => { await cluster.stop(); });
  beforeEach(async () => {
    s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: expect.getState().currentTestName ?? 'test' } });
    log = new EventLog(s);
  });
  afterEach(async () => {
    await s.teardown().catch(() => undefined);
    s.close();
  });

  it('offers the agent\'s resources, runs 3 tasks STARTING → RUNNING → FINISHED, and offers the freed resources again', async () => {
    const offer = await log.offer();
    expect(scalar(offer.resources, 'cpus')).toBe(2);
    expect(scalar(offer.resources, 'mem')).toBe(1024);
    expect(ranges(offer.resources, 'ports')).toEqual([[31000, 31099]]);

    const ids = ['web-0', 'web-1', 'web-2'];
    const tasks = ids.map((id, i) => task({ id, command: `echo hello ${i}; sleep 0.5`, cpus: 0.5, mem: 128, image: TEST_IMAGE }, offer));
    await s.launch(offer, tasks, { refuseMs: 0 });

    await log.status('web-0', 'TASK_RUNNING');
    expect(await containersOf('web-0')).toHaveLength(1);   // a real container, labelled with its task

    for (const id of ids) {
      await log.status(id, 'TASK_FINISHED');
      // each update reached us only after the previous one was acknowledged
      expect(log.states(id)).toEqual(['TASK_STARTING', 'TASK_RUNNING', 'TASK_FINISHED']);
    }
    expect(await readSandbox(cluster, s.frameworkId, 'web-1', 'stdout')).toBe('hello 1\n');
    // the terminal updates were acknowledged too: the agent holds none of them any more
    await eventually('every update acknowledged', async () => (await agentState(cluster.agents[0]!)).unacknowledgedUpdates === 0);
    // what the tasks held comes back, in one offer or several
    await log.until(() => log.offeredTotal('cpus') === 2);
    expect(log.offeredTotal('mem')).toBe(1024);
    const agent = (await cluster.state()).agents[0]!;
    expect(agent.used.cpus).toBe(0);
  });

  it('reports a command that exits 3 as TASK_FAILED naming exit code 3', async () => {
    const offer = await log.offer();
    await s.launch(offer, [task({ id: 'fails', command: 'echo about to fail; exit 3', cpus: 0.1, mem: 32, image: TEST_IMAGE }, offer)]);
    const failed = await log.status('fails', 'TASK_FAILED');
    expect(failed.message).toMatch(/\b3\b/);
    expect(failed.exitCode).toBe(3);
  });

  it('kills a running task through the API: TASK_KILLED, and its container is gone', async () => {
    const offer = await log.offer();
    await s.launch(offer, [task({ id: 'sleeper', command: 'sleep 600', cpus: 0.1, mem: 32, image: TEST_IMAGE, killGracePeriodMs: 1000 }, offer)]);
    await log.status('sleeper', 'TASK_RUNNING');
    expect(await containersOf('sleeper')).toHaveLength(1);
    await s.kill('sleeper');
    await log.status('sleeper', 'TASK_KILLED');
    expect(await containersOf('sleeper')).toHaveLength(0);
  });
});
