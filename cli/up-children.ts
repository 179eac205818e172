/**
 * The `agora` processes `agora up --masters N` runs as its children (masters, frameworks),
 * supervised: each is started with the same `agora` this one runs, its output passed on line by
 * line under its name, and, when it exits on its own — a deposed master exits 1 by design, for
 * its supervisor to start it again as a standby — started again after a short backoff
 * (doubling with each recent restart), at most `maxPerMinute` times in any minute; past that it
 * stays down and says so. Stopping it (SIGTERM, then SIGKILL after a grace) ends the
 * supervision first, so a stop is never taken for a crash.
 *
 * Children run in a process group of their own: the terminal's Ctrl-C reaches `agora up` only,
 * which stops them in order, rather than every child at once behind its back.
 */
import { spawn, type ChildProcess } from 'child_process';
import { existsSync } from 'fs';
import { join } from 'path';
import { createInterface } from 'readline';

export interface ChildSpec {
  /** How it is named in logs and in the state record: 'master-1', 'services'. */
  name: string;
  /** The `agora` command's arguments: ['master', '--ha', …]. */
  args: readonly string[];
  /** Added to this process's environment (secrets go here, never in arguments others can read in `ps`). */
  env?: NodeJS.ProcessEnv;
  /** The line it prints on stdout once it serves. */
  ready: RegExp;
}

export interface SupervisionOptions {
  /** Where its output and the supervisor's notes go, one line at a time. */
  log: (line: string) => void;
  /** Each start's pid, the first and every restart: `agora up` records it in its state folder. */
  onStart: (pid: number) => void;
  /** Restarts allowed in any minute (default 5). */
  maxPerMinute?: number;
  /** The first restart's delay (default 500 ms), doubled for each restart in the last minute. */
  backoffMs?: number;
  /** How long the first start may take to print its ready line (default 60 s). */
  readyWithinMs?: number;
  /** How long a stopped child may take to exit on SIGTERM before SIGKILL (default 10 s). */
  graceMs?: number;
  /** The program and its first arguments, before `args` (default: this Node running the agora command). */
  command?: readonly string[];
}

export interface SupervisedChild {
  readonly name: string;
  /** Its pid while it runs. */
  pid(): number | undefined;
  /** The ready line's match of its first start (the ports it printed). */
  readonly ready: RegExpMatchArray;
  /** How many times it was started again. */
  restarts(): number;
  /** Ends supervision and stops it; resolves once it has exited. */
  stop(): Promise<void>;
}

export class ChildStartError extends Error {
  override readonly name = 'ChildStartError';
}

const MINUTE_MS = 60_000;
/** The exit code of `agora` given bad flags or values: a start that will fail the same way again. */
const USAGE_EXIT = 2;

/** The `agora` command this process runs (dist/cli/agora.js beside this file). */
export function agoraScript(): string {
  const script = join(__dirname, 'agora.js');
  if (!existsSync(script)) throw new ChildStartError(`cannot find the agora command at ${script} to start the masters and frameworks: build it first (npm run build)`);
  return script;
}

/** Starts `spec` and resolves once it printed its ready line; rejects (and kills it) if it exits or stays silent first. */
export async function superviseChild(spec: ChildSpec, o: SupervisionOptions): Promise<SupervisedChild> {
  const [program, ...first] = o.command ?? [process.execPath, agoraScript()];
  const recent: number[] = [];
  let restarts = 0;
  let stopping = false;
  // Until its first ready line an exit is a failed start (firstReady), not a crash.
  let served = false;
  let retry: NodeJS.Timeout | undefined;
  let child: ChildProcess;
  // Who else reads its lines: the wait for the first start's ready line.
  let watch: ((line: string) => void) | undefined;
  const launch = (): ChildProcess => {
    const c = spawn(program!, [...first, ...spec.args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...spec.env }, detached: true });
    for (const stream of [c.stdout, c.stderr]) {
      createInterface({ input: stream! }).on('line', (line) => {
        o.log(`[${spec.name}] ${line}`);
        watch?.(line);
      });
    }
    if (c.pid !== undefined) o.onStart(c.pid);
    c.once('exit', (code, signal) => onExit(c, code, signal));
    return c;
  };
  const onExit = (c: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void => {
    if (stopping || !served || c !== child) return;
    const how = signal ? `was killed (${signal})` : `exited (code ${code})`;
    const delay = nextRestart(recent, Date.now(), o);
    if (delay === undefined) {
      o.log(`[up] ${spec.name} ${how}; it was started again ${o.maxPerMinute ?? 5} times within a minute: leaving it down`);
      return;
    }
    o.log(`[up] ${spec.name} ${how}; starting it again in ${delay} ms`);
    retry = setTimeout(() => {
      retry = undefined;
      if (stopping) return;
      restarts += 1;
      child = launch();
    }, delay);
  };
  child = launch();
  const ready = await firstReady(spec, o, recent,
    () => readyLine(child, spec, o.readyWithinMs ?? 60_000, (w) => { watch = w; }, () => { served = true; }),
    () => child, () => { restarts += 1; child = launch(); },
  ).catch(async (err: Error) => {
    stopping = true;
    await terminate(child, 0);
    throw err;
  });
  return {
    name: spec.name,
    ready,
    pid: () => (child.exitCode === null && child.signalCode === null ? child.pid : undefined),
    restarts: () => restarts,
    stop: async () => {
      stopping = true;
      if (retry) clearTimeout(retry);
      await terminate(child, o.graceMs ?? 10_000);
    },
  };
}

/**
 * The first start's ready line. A start that failed for the moment (a master that cannot open
 * its lease bucket while the NATS cluster it came up with still elects leaders) is tried again
 * within the restart bound; a usage error (exit 2) or silence will not mend, and is thrown.
 */
async function firstReady(spec: ChildSpec, o: SupervisionOptions, recent: number[], attempt: () => Promise<RegExpMatchArray>,
  current: () => ChildProcess, relaunch: () => void): Promise<RegExpMatchArray> {
  for (;;) {
    try {
      return await attempt();
    } catch (err) {
      const code = current().exitCode;
      const delay = code !== null && code !== USAGE_EXIT ? nextRestart(recent, Date.now(), o) : undefined;
      if (delay === undefined) throw err;
      o.log(`[up] ${spec.name} could not start (exit ${code}); trying again in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
      relaunch();
    }
  }
}

/** The delay before the next restart (recorded in `recent`), or undefined past the bound of restarts in a minute. */
function nextRestart(recent: number[], now: number, o: SupervisionOptions): number | undefined {
  while (recent.length > 0 && now - (recent[0] as number) > MINUTE_MS) recent.shift();
  if (recent.length >= (o.maxPerMinute ?? 5)) return undefined;
  const delay = (o.backoffMs ?? 500) * 2 ** recent.length;
  recent.push(now);
  return delay;
}

/** The ready line's match; rejects with the child's last output if it exits first, or after `withinMs`. */
function readyLine(child: ChildProcess, spec: ChildSpec, withinMs: number, watch: (w: ((line: string) => void) | undefined) => void, served: () => void): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    const tail: string[] = [];
    const done = (fn: () => void) => {
      clearTimeout(timer);
      watch(undefined);
      child.off('exit', exited);
      fn();
    };
    const timer = setTimeout(() => done(() => reject(new ChildStartError(`${spec.name} did not start within ${withinMs} ms: ${tail.join(' | ')}`))), withinMs);
    const exited = (code: number | null, signal: NodeJS.Signals | null) => done(() => reject(new ChildStartError(
      `${spec.name} (agora ${spec.args.join(' ')}) ${signal ? `was killed (${signal})` : `exited (code ${code})`} before it served: ${tail.join(' | ')}`)));
    child.once('exit', exited);
    watch((line) => {
      tail.push(line);
      if (tail.length > 10) tail.shift();
      const m = spec.ready.exec(line);
      if (m) {
        served();   // at once: an exit right after its ready line is a crash to restart
        done(() => resolve(m));
      }
    });
  });
}

/** SIGTERM (to its group, so whatever it started goes too), SIGKILL after `graceMs` (0: at once); resolves once it has exited. */
function terminate(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = (s: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, s);
      } catch {
        child.kill(s);
      }
    };
    const t = setTimeout(() => kill('SIGKILL'), graceMs);
    child.once('exit', () => { clearTimeout(t); resolve(); });
    kill(graceMs === 0 ? 'SIGKILL' : 'SIGTERM');
  });
}
