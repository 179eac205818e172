/**
 * The chaos cluster's init: each Agora process is a child of `node dist/cli/agora.js …`, started
 * again `restartDelayMs` after it exits for any reason — a nemesis's SIGKILL, or a master that
 * exits on being deposed, as `agora master --ha` does for its supervisor to start it as a
 * standby. Every exit and start is in the history (`process` events).
 */
import { spawn, type ChildProcess } from 'child_process';
import { closeSync, existsSync, openSync } from 'fs';
import { join } from 'path';
import type { History } from './history';

/** The built binary, from the sources (jest) or from dist/test/chaos (npm run chaos). */
export const AGORA_JS = [join(__dirname, '..', '..', 'dist', 'cli', 'agora.js'), join(__dirname, '..', '..', 'cli', 'agora.js')]
  .find((p) => existsSync(p)) ?? join(__dirname, '..', '..', 'dist', 'cli', 'agora.js');

/** One supervised process: what it is, and the command line it is (re)started with. */
export interface ProcessSpec {
  /** Unique, e.g. `m1`, `agent-1`, `services`. */
  name: string;
  kind: 'master' | 'agent' | 'services' | 'jobs';
  /** `agora` arguments (after `agora`). */
  args: string[];
  /** Off: not started. Framework replicas wait until framework HA is merged (their spec says so). */
  enabled: boolean;
}

export class Supervised {
  child: ChildProcess | undefined;
  private stopping = false;
  private restartTimer: ReturnType<typeof setTimeout> | undefined;
  /** Resolves listeners waiting for the next start. */
  private started: (() => void)[] = [];

  constructor(readonly spec: ProcessSpec, private readonly o: { logDir: string; env: NodeJS.ProcessEnv; history: History; restartDelayMs: number }) {}

  get pid(): number | undefined {
    return this.running() ? this.child?.pid : undefined;
  }

  running(): boolean {
    const c = this.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  start(cause = 'started'): void {
    if (this.stopping || this.running()) return;
    const log = openSync(join(this.o.logDir, `${this.spec.name}.log`), 'a');
    const child = spawn(process.execPath, [AGORA_JS, ...this.spec.args], { stdio: ['ignore', log, log], env: this.o.env });
    closeSync(log);
    this.child = child;
    this.o.history.add({ type: 'process', name: this.spec.name, phase: 'up', pid: child.pid, cause });
    child.once('exit', (code, signal) => {
      this.o.history.add({ type: 'process', name: this.spec.name, phase: 'down', pid: child.pid, cause: signal ? `signal ${signal}` : `exit ${code}` });
      if (this.stopping) return;
      this.restartTimer = setTimeout(() => { this.restartTimer = undefined; this.start('restarted by the supervisor'); }, this.o.restartDelayMs);
    });
    for (const f of this.started.splice(0)) f();
  }

  /** Sends a signal to the running process (no-op if none). */
  signal(sig: NodeJS.Signals): void {
    if (this.running()) this.child!.kill(sig);
  }

  /** Resolves once the current process has exited (at once if none runs). */
  exited(): Promise<void> {
    const c = this.child;
    if (!c || !this.running()) return Promise.resolve();
    return new Promise((resolve) => c.once('exit', () => resolve()));
  }

  /** Resolves when the supervisor has started it again after an exit (at once if it runs). */
  upAgain(): Promise<void> {
    if (this.running()) return Promise.resolve();
    return new Promise((resolve) => this.started.push(resolve));
  }

  /** Stops supervising, then SIGTERM (SIGKILL after 5 s). A stopped process stays down. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const c = this.child;
    if (!c || !this.running()) return;
    // SIGCONT first: a process a nemesis left stopped cannot act on SIGTERM.
    c.kill('SIGCONT');
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  }
}
