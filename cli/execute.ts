/**
 * `agora execute [--image IMG] [--cpus N] [--mem MB] [--process] -- <command>`: a one-task
 * framework, in the spirit of `mesos-execute`. Task states go to stderr, the task's own
 * stdout and stderr to ours, and the exit code is the task's.
 */
import type { MasterStateView } from '../common/operator-types';
import { contains } from '../common/resources';
import { isTerminal, type Offer, type TaskStatus } from '../common/types';
import { subscribe, task } from '../frameworks/sdk';
import { getJson, masterAddress, type MasterAddress } from '../frameworks/sdk/master-address';
import { parseArgs, UsageError } from '../common/flags';

export interface ExecuteIo {
  /** The task's output, raw: chunks may end mid-line. */
  stdout: (chunk: string) => void;
  stderr: (chunk: string) => void;
  /** One line about the task's progress (states, launch), for people. */
  note: (line: string) => void;
}

export async function execute(argv: string[], io: ExecuteIo): Promise<number> {
  const { flags, rest } = parseArgs(argv, {
    master: 'string', image: 'string', cpus: 'number', mem: 'number', process: 'boolean', name: 'string',
  });
  if (rest.length === 0) throw new UsageError('agora execute needs a command after --, e.g. agora execute -- echo hello');
  const addr = masterAddress(flags.master);
  const command = rest.length === 1 ? rest[0]! : rest.map(shellQuote).join(' ');
  const name = flags.name ?? 'agora-execute';
  const taskId = `${name}-${Date.now().toString(36)}`;
  const s = await subscribe({ master: addr.httpUrl, framework: { name } });
  io.note(`framework ${s.frameworkId} subscribed; waiting for an offer of cpus:${flags.cpus ?? 0.1};mem:${flags.mem ?? 32}`);

  let launched = false;
  s.on('offers', (offers: Offer[]) => {
    for (const offer of offers) {
      const t = task({ id: taskId, command, cpus: flags.cpus ?? 0.1, mem: flags.mem ?? 32, image: flags.image, process: flags.process }, offer);
      if (launched || !contains(offer.resources, t.resources)) {
        s.decline([offer.id], { refuseMs: launched ? 60_000 : 1000 }).catch(() => undefined);
        continue;
      }
      launched = true;
      io.note(`launching ${taskId} on ${offer.hostname} (${offer.agentId})`);
      s.launch(offer, [t]).catch((err: Error) => {
        io.note(`launch failed: ${err.message}; waiting for another offer`);
        launched = false;
      });
    }
  });

  const output = new SandboxTail(addr, s.frameworkId, taskId, io);
  const last = await new Promise<TaskStatus>((resolve, reject) => {
    s.on('closed', (err) => reject(err ?? new Error('subscription closed before the task ended')));
    s.on('update', (st) => {
      if (st.taskId !== taskId) return;
      io.note(`${st.state}${st.message ? `: ${st.message}` : ''}`);
      if (st.state === 'TASK_RUNNING') output.start(st.agentId);
      if (isTerminal(st.state)) resolve(st);
    });
  });
  await output.finish(last.agentId);
  await s.teardown().catch(() => undefined);
  s.close();
  return exitCodeOf(last);
}

export function exitCodeOf(st: TaskStatus): number {
  if (st.exitCode !== undefined) return st.exitCode;
  switch (st.state) {
    case 'TASK_FINISHED': return 0;
    case 'TASK_KILLED': return 143;
    default: return 1;
  }
}

function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** Copies the task's stdout and stderr from its agent's sandbox as they grow. */
class SandboxTail {
  private offsets = { stdout: 0, stderr: 0 };
  private timer: NodeJS.Timeout | undefined;
  private agentUrl: Promise<string> | undefined;

  constructor(private readonly addr: MasterAddress, private readonly frameworkId: string,
    private readonly taskId: string, private readonly io: ExecuteIo) {}

  start(agentId: string): void {
    this.agentUrl ??= this.locate(agentId);
    this.timer ??= setInterval(() => {
      if (!this.inflight) this.inflight = this.pull().catch(() => undefined).finally(() => { this.inflight = undefined; });
    }, 250);
  }

  /**
   * After the terminal update: waits out a pull still under way (it may have read a file
   * before the task's last words reached it), then reads whatever is left.
   */
  async finish(agentId: string): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.inflight;
    this.agentUrl ??= this.locate(agentId);
    await this.pull().catch((err: Error) => this.io.note(`could not read the task's output: ${err.message}`));
  }

  private async locate(agentId: string): Promise<string> {
    const state = await getJson<MasterStateView>(this.addr, '/api/v1/state');
    const agent = state.agents.find((a) => a.id === agentId);
    if (!agent) throw new Error(`agent ${agentId} is not registered`);
    return `${agent.hostname}:${agent.port}`;
  }

  /** The periodic pull under way, if any: pulls never overlap, so no chunk is printed twice. */
  private inflight: Promise<void> | undefined;

  private async pull(): Promise<void> {
    if (!this.agentUrl) return;
    const agent = masterAddress(await this.agentUrl);
    for (const file of ['stdout', 'stderr'] as const) {
      const q = `framework_id=${encodeURIComponent(this.frameworkId)}&task_id=${encodeURIComponent(this.taskId)}&file=${file}&offset=${this.offsets[file]}`;
      const chunk = await getJson<{ data: string; offset: number }>(agent, `/files/read?${q}`);
      if (chunk.data) {
        this.offsets[file] = chunk.offset + Buffer.byteLength(chunk.data);
        (file === 'stdout' ? this.io.stdout : this.io.stderr)(chunk.data);
      }
    }
  }
}
