/**
 * The state directory of `agora up` (`--state-dir`, by default `<agora home>/up`): what a
 * local cluster keeps from one start to the next, so that one killed — even with SIGKILL —
 * and started again takes back its tasks, apps and jobs.
 *
 *   <state>/up.json   the `agora up` using it and the servers it started (pids, start times)
 *   <state>/redis/    Redis's append-only file: the master's registry, the frameworks' state
 *   <state>/redis-sentinel/  instead, with --redis-sentinel (and --masters N): a primary's and a
 *                     replica's AOFs and three Sentinels' configs (common/redis-sentinel.ts)
 *   <state>/nats/     nats-server's files: its config, account JWTs, the JetStream store (with
 *                     `--masters N`, one folder per node of the NATS cluster: nats/n1/, nats/n2/…)
 *   <state>/agent/    the agent's work directory: checkpoints (meta/) and task sandboxes
 *
 * The credentials stay in the agora home (`~/.agora`), not here: `--fresh` wipes this folder
 * and the cluster starts empty, but clients keep working with the secrets they have.
 *
 * A SIGKILLed `agora up` leaves its servers running (they are its children, not killed with
 * it: redis-server ignores SIGPIPE and keeps its port; nats-server lives until it next writes
 * a log line). The next start finds them in `up.json` — each by pid *and* start time, so a
 * reused pid is never taken for one — and stops them (SIGTERM: Redis fsyncs its AOF first)
 * before starting its own on the same files, the last started first. With `--masters N` the
 * masters and frameworks run as children too, and are recorded and stopped the same way. Stopped rather than reused: the new run then
 * owns every server it stops on Ctrl-C, hears their output, and starts them as it is
 * configured now. An `agora up` still alive on the same folder is refused.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'fs';
import { dirname, join } from 'path';
import { agoraHome } from '../common/security/client-config';
import { writeAtomic } from '../common/security/credentials';
import { isAlive, startTicks } from '../agent/containerizer/procfs';

export const STATE_RECORD = 'up.json';

export interface UpStatePaths {
  dir: string;
  record: string;
  redis: string;
  redisSentinel: string;
  nats: string;
  agent: string;
}

/** 'redis', 'nats'; with `--masters N` also each NATS node, master and framework it runs as a child ('nats-n1', 'master-2', 'services'…). */
export type ServerName = string;

interface ProcessRef {
  pid: number;
  startTicks: number | undefined;
}

/** What `up.json` holds: the `agora up` that uses the folder, and its servers. */
interface UpRecord {
  version: 1;
  up: ProcessRef;
  servers: Record<ServerName, ProcessRef | undefined>;
}

export class UpStateError extends Error {
  override readonly name = 'UpStateError';
}

export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(agoraHome(env), 'up');
}

export function upStatePaths(dir: string): UpStatePaths {
  return { dir, record: join(dir, STATE_RECORD), redis: join(dir, 'redis'), redisSentinel: join(dir, 'redis-sentinel'), nats: join(dir, 'nats'), agent: join(dir, 'agent') };
}

/** The folder as this `agora up` holds it: it records each server it starts, and lets go on a clean stop. */
export interface StateClaim {
  readonly paths: UpStatePaths;
  recordServer(name: ServerName, pid: number): void;
  release(): void;
}

/**
 * Takes the folder for this process: refused while another `agora up` on it is alive; the
 * servers a dead one left are stopped first (`stopped` names them).
 */
export async function claimStateDir(paths: UpStatePaths, o: { graceMs?: number } = {}): Promise<StateClaim & { stopped: string[] }> {
  // Others may pass through (not list): process tasks run as nobody reach their sandboxes in agent/; redis/ and nats/ stay 0700.
  mkdirSync(paths.dir, { recursive: true, mode: 0o711 });
  const previous = readRecord(paths.record);
  if (previous && previous.up.pid !== process.pid && isAlive(previous.up.pid, previous.up.startTicks)) {
    throw new UpStateError(`another agora up (pid ${previous.up.pid}) is running on ${paths.dir}: stop it first (Ctrl-C or kill ${previous.up.pid}), or give this one another --state-dir`);
  }
  const stopped: string[] = [];
  // The last started first, as a run stops them itself: the frameworks and masters before the NATS and Redis they use.
  for (const [name, ref] of Object.entries(previous?.servers ?? {}).reverse()) {
    if (ref && isAlive(ref.pid, ref.startTicks)) {
      await stopLeftover(ref, o.graceMs ?? 10_000);
      stopped.push(`${name} (pid ${ref.pid})`);
    }
  }
  const record: UpRecord = { version: 1, up: here(process.pid), servers: {} };
  writeRecord(paths.record, record);
  return {
    paths,
    stopped,
    recordServer: (name, pid) => {
      record.servers[name] = here(pid);
      writeRecord(paths.record, record);
    },
    release: () => rmSync(paths.record, { force: true }),
  };
}

/** `--fresh`: the cluster's state removed (only what `agora up` makes there, so a mistyped --state-dir loses nothing else). */
export function wipeState(paths: UpStatePaths): void {
  for (const dir of [paths.redis, paths.redisSentinel, paths.nats, paths.agent]) rmSync(dir, { recursive: true, force: true });
}

/**
 * The folders above `workDir` that shut out the tasks of a root agora up, which run as nobody
 * and must pass through every folder down to their sandboxes (the agent opens `workDir`
 * itself); undefined when the way is open or the tasks run as this user. A root's home (0700)
 * is such a folder.
 */
export function closedToTasks(workDir: string, uid = process.getuid?.()): string | undefined {
  if (uid !== 0) return undefined;
  const closed: string[] = [];
  for (let dir = dirname(workDir); ; dir = dirname(dir)) {
    if (existsSync(dir) && (statSync(dir).mode & 0o001) === 0) closed.push(dir);
    if (dirname(dir) === dir) break;
  }
  return closed.length > 0 ? closed.reverse().join(', ') : undefined;
}

function here(pid: number): ProcessRef {
  return { pid, startTicks: startTicks(pid) };
}

function readRecord(path: string): UpRecord | undefined {
  if (!existsSync(path)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UpStateError(`${path} is not valid JSON (${(err as Error).message}); if no agora up is running there, remove it`);
  }
  const r = v as Partial<UpRecord>;
  if (r.version !== 1 || typeof r.up?.pid !== 'number' || typeof r.servers !== 'object' || r.servers === null) {
    throw new UpStateError(`${path} is not a record of agora up (version 1, up, servers); if no agora up is running there, remove it`);
  }
  return r as UpRecord;
}

function writeRecord(path: string, record: UpRecord): void {
  writeAtomic(path, `${JSON.stringify(record, null, 2)}\n`);
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone (checked every 50 ms, bounded). */
async function stopLeftover(ref: ProcessRef, graceMs: number): Promise<void> {
  const signal = (s: NodeJS.Signals) => {
    try {
      process.kill(ref.pid, s);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  };
  signal('SIGTERM');
  if (await gone(ref, graceMs)) return;
  signal('SIGKILL');
  if (!(await gone(ref, 5_000))) throw new UpStateError(`process ${ref.pid}, left by an earlier agora up, does not go away even after SIGKILL`);
}

async function gone(ref: ProcessRef, withinMs: number): Promise<boolean> {
  for (let waited = 0; waited <= withinMs; waited += 50) {
    if (!isAlive(ref.pid, ref.startTicks)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}
