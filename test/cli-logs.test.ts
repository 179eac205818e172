/**
 * `agora logs` against a real cluster (master, agent with Docker, NATS): it finds a task
 * through the master, reads its sandbox through the agent, and follows a running task
 * until its run ends. The running task writes more only once the test creates a file in
 * its sandbox, so nothing waits on the clock.
 */
import { writeFileSync } from 'fs';
import { join } from 'path';
import { UsageError } from '../common/flags';
import { LogsError, logs } from '../cli/logs';
import { subscribe, task, type Offer, type Scheduler, type TaskStatus } from '../frameworks/sdk';
import { agentState, startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

/** Output captured as the command writes it; a test can wait for some to arrive. */
function capture() {
  const io = { out: '', err: '' };
  let waiters: (() => void)[] = [];
  const notify = () => { const ws = waiters; waiters = []; ws.forEach((w) => w()); };
  return {
    io,
    sinks: { stdout: (c: string) => { io.out += c; notify(); }, stderr: (c: string) => { io.err += c; notify(); } },
    until: (holds: () => boolean) => new Promise<void>((resolve) => {
      const check = () => (holds() ? resolve() : void waiters.push(check));
      check();
    }),
  };
}

describe('agora logs', () => {
  let cluster: TestCluster;
  let s: Scheduler;
  let events: EventLog;

  beforeAll(async () => {
    cluster = await startCluster({ containerizer: 'docker' });
    s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'logged' } });
    events = new EventLog(s);
  });

  afterAll(async () => {
    s?.close();
    await cluster?.stop();
  });

  async function launch(on: { s: Scheduler; events: EventLog }, id: string, command: string, process = false): Promise<void> {
    const offer = await on.events.offer();
    await on.s.launch(offer, [task({ id, command, cpus: 0.1, mem: 32, ...(process ? { process: true } : { image: TEST_IMAGE }) }, offer)]);
  }

  async function run(argv: string[]) {
    const c = capture();
    const code = await logs([...argv, '--master', cluster.masterAddr], c.sinks);
    return { code, ...c.io };
  }

  /** The host directory of a run's sandbox, where the test drops files for the task. */
  function sandboxOf(st: TaskStatus): string {
    const agent = cluster.agents[0]!;
    return join(agent.config.workDir, 'agents', st.agentId, 'frameworks', st.frameworkId, 'tasks', st.taskId, 'runs', st.containerId);
  }

  it('prints a finished task\'s stdout, its stderr with --stderr, and from --offset on', async () => {
    await launch({ s, events }, 'said', 'echo hello; echo oops >&2; printf 0123456789');
    await events.status('said', 'TASK_FINISHED');
    expect(await run(['said'])).toEqual({ code: 0, out: 'hello\n0123456789', err: '' });
    expect(await run(['said', '--stderr'])).toEqual({ code: 0, out: 'oops\n', err: '' });
    expect(await run(['said', '--offset', '10'])).toEqual({ code: 0, out: '456789', err: '' });
    expect(await run(['said', '--offset', '-1'])).toEqual({ code: 0, out: '', err: '' });
    // Following a run that is over prints the same and returns at once.
    expect(await run(['said', '-f'])).toEqual({ code: 0, out: 'hello\n0123456789', err: '' });
  });

  it('-f follows a running task\'s output as it is written and returns when the task ends', async () => {
    await launch({ s, events }, 'chatty', 'echo one; until [ -e "$AGORA_SANDBOX/go" ]; do sleep 0.05; done; echo two; echo bye >&2');
    const running = await events.status('chatty', 'TASK_RUNNING');
    const c = capture();
    let returned = false;
    const following = logs(['chatty', '-f', '--master', cluster.masterAddr], c.sinks).finally(() => { returned = true; });
    const followingErr = logs(['chatty', '--follow', '--stderr', '--master', cluster.masterAddr], { stdout: c.sinks.stderr, stderr: c.sinks.stderr });

    await c.until(() => c.io.out === 'one\n');
    expect(returned).toBe(false);   // the task still runs, so the command still follows

    writeFileSync(join(sandboxOf(running), 'go'), '');
    expect(await following).toBe(0);
    expect(await followingErr).toBe(0);
    expect(c.io).toEqual({ out: 'one\ntwo\n', err: 'bye\n' });
    // It returned because the run is over, not before.
    const run = (await agentState(cluster.agents[0]!)).tasks.find((t) => t.containerId === running.containerId);
    expect(run?.state).toBe('TASK_FINISHED');
  });

  it('a task id in two frameworks exits 2 listing them, and --framework picks one', async () => {
    // The first framework wants nothing more: it lets go of the offer it holds (what the
    // agent has left) and of any still on its way, so the second one is offered them.
    const letGo = (offers: Offer[]) => { s.decline(offers.map((o) => o.id), { refuseMs: 600_000 }).catch(() => undefined); };
    s.on('offers', letGo);
    letGo(events.takeAll());
    const other = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'other' } });
    const otherEvents = new EventLog(other);
    try {
      await launch({ s: other, events: otherEvents }, 'said', 'echo from-other', true);
      await otherEvents.status('said', 'TASK_FINISHED');
      const both = await run(['said']);
      expect(both.code).toBe(2);
      expect(both.out).toBe('');
      expect(both.err).toMatch(/^agora: task said is in 2 frameworks; choose one with --framework ID:\nFRAMEWORK\s+NAME\s+STATE\s+AGENT\n/);
      expect(both.err).toMatch(new RegExp(`${s.frameworkId}\\s+logged\\s+TASK_FINISHED`));
      expect(both.err).toMatch(new RegExp(`${other.frameworkId}\\s+other\\s+TASK_FINISHED`));
      expect(await run(['said', '--framework', other.frameworkId])).toEqual({ code: 0, out: 'from-other\n', err: '' });
      expect(await run(['said', '--framework', s.frameworkId])).toMatchObject({ code: 0, out: 'hello\n0123456789' });
    } finally {
      s.off('offers', letGo);
      other.close();
    }
  });

  it('an unknown task is an error that says so; a wrong command line is a usage error', async () => {
    await expect(run(['nope'])).rejects.toThrow(LogsError);
    await expect(run(['nope'])).rejects.toThrow(/knows no task nope/);
    await expect(run(['chatty', '--framework', 'fw-none'])).rejects.toThrow(/framework fw-none has no task chatty; it is in framework /);
    await expect(run([])).rejects.toThrow(UsageError);
    await expect(run(['a', 'b'])).rejects.toThrow(/exactly one task id/);
    await expect(run(['said', '--offset', '-2'])).rejects.toThrow(/--offset must be an integer ≥ 0, or -1 for the end; got -2/);
    await expect(run(['said', '--offset', '1.5'])).rejects.toThrow(UsageError);
    await expect(run(['said', '--tail'])).rejects.toThrow(/unknown flag --tail/);
  });
});
