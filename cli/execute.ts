/**
 * `agora execute [--image IMG] [--cpus N] [--mem MB] [--process] -- <command>`: a one-task
 * framework, in the spirit of `mesos-execute`. Task states go to stderr, the task's own
 * stdout and stderr to ours, and the exit code is the task's.
 */
import { contains } from '../common/resources';
import { isTerminal, type Offer, type TaskStatus } from '../common/types';
import { subscribe, task } from '../frameworks/sdk';
import { leadingMaster, masterAddress, type MasterAddress } from '../common/operator-client';
import { masterListText } from '../common/master-list';
import { parseArgs, UsageError } from '../common/flags';
import { followSandboxFile, sandboxFileRef } from './logs';

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
  const s = await subscribe({ master: masterListText(addr.endpoints), framework: { name } });
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

  let output: Promise<void> | undefined;
  const last = await new Promise<TaskStatus>((resolve, reject) => {
    s.on('closed', (err) => reject(err ?? new Error('subscription closed before the task ended')));
    s.on('update', (st) => {
      if (st.taskId !== taskId) return;
      io.note(`${st.state}${st.message ? `: ${st.message}` : ''}`);
      if (st.state === 'TASK_RUNNING') output ??= copyOutput(addr, s.frameworkId, taskId, st.agentId, io);
      if (isTerminal(st.state)) resolve(st);
    });
  });
  // A run that never started running wrote nothing; one that did is over by now, so its
  // streams end as soon as the last of its output is printed.
  await output;
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

/**
 * Prints the task's stdout and stderr as they are written, through the master's relay
 * (`/api/v1/files/follow`); resolves once the run is over and all it wrote was printed (the
 * agent ends the streams then), or once it was said why the output cannot be had.
 */
async function copyOutput(addr: MasterAddress, frameworkId: string, taskId: string, agentId: string, io: ExecuteIo): Promise<void> {
  try {
    // The leader relays the sandbox: found through the first master that answers.
    const leader = await leadingMaster(addr);
    const at = `${leader.host}:${leader.httpPort}`;
    await Promise.all([
      followSandboxFile(sandboxFileRef(at, frameworkId, taskId, 'stdout', agentId), 0, io.stdout),
      followSandboxFile(sandboxFileRef(at, frameworkId, taskId, 'stderr', agentId), 0, io.stderr),
    ]);
  } catch (err) {
    io.note(`could not read the task's output: ${(err as Error).message}`);
  }
}
