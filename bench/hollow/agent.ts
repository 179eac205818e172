/**
 * One hollow agent: the real agent's protocol code with no machine behind it. It registers,
 * heartbeats and re-registers with its tasks (agent/registration.ts), takes run, kill, ack
 * and reconcile messages (agent/master-messages.ts) through the same epoch fence
 * (agent/epoch-fence.ts), runs tasks with the real task runner (agent/tasks.ts) on a
 * containerizer that only waits (containerizer.ts), sends their updates through the same
 * at-least-once streams (agent/status-updates.ts), and reports usage (agent/usage.ts).
 *
 * What it has not: a disk (checkpoints, sandboxes and the epoch are kept in memory, so a hollow
 * agent does not survive its process), an HTTP server, garbage collection, a container engine.
 * Its NATS connection is its fleet's (fleet.ts): it publishes and requests through it, and the
 * fleet hands it the messages on its own subjects.
 *
 * The wiring below mirrors the agent's (agent/agent.ts) piece by piece; a change there to how
 * the pieces are put together belongs here too.
 */
import type { Clock, Random } from '../../common/clock';
import type { Logger } from '../../common/log';
import type { Resources } from '../../common/resources';
import type { Subjects } from '../../common/subjects';
import type { AgentInfo, TaskStatus } from '../../common/types';
import { encodeAgentUsage, encodeStatusUpdate } from '../../common/agent-messages';
import { AGENT_VERSION } from '../../agent/agent';
import { EpochFence, memoryEpochStore } from '../../agent/epoch-fence';
import { masterMessageHandler } from '../../agent/master-messages';
import { Registrar, type MasterLink } from '../../agent/registration';
import { RunTable } from '../../agent/run-table';
import type { RunCheckpoint, RunCheckpoints } from '../../agent/runs';
import { StatusUpdateManager } from '../../agent/status-updates';
import { TaskRunner } from '../../agent/tasks';
import { UsageReporter } from '../../agent/usage';
import { HollowContainerizer } from './containerizer';

/** What a hollow agent needs of its fleet's NATS connection. */
export interface FleetLink extends MasterLink {
  publish(subject: string, data: Uint8Array): void;
  /** Hands the messages on `agentId`'s subjects to `handler` (undefined: no longer). */
  route(agentId: string, handler: ((subject: string, data: Uint8Array) => void) | undefined): void;
}

/** Who the agent is to the master. */
export interface HollowAgentSpec {
  hostname: string;
  resources: Resources;
  attributes: Record<string, string>;
  /** How long a task runs before it exits 0, unless its labels say otherwise (containerizer.ts). */
  taskDurationMs: number;
}

/** The protocol's times, as the agent's config has them (agent/config.ts). */
export interface HollowTiming {
  heartbeatIntervalMs: number | undefined;
  statusRetryInitialMs: number;
  statusRetryMaxMs: number;
  usageIntervalMs: number;
  requestTimeoutMs: number;
  registerBackoffFactorMs: number;
  registerBackoffMaxMs: number;
  killGracePeriodMs: number;
}

export interface HollowAgentDeps {
  link: FleetLink;
  subjects: Subjects;
  /** The owner the agent's subjects name: the fleet's principal. */
  owner: string;
  clock: Clock;
  random: Random;
  timing: HollowTiming;
  log: Logger;
  /** The agent was accepted (again) under `agentId`. */
  onRegistered?(agentId: string, reregistered: boolean): void;
  /** A status update the agent produced, as it enters its task's stream. */
  onStatus?(status: TaskStatus): void;
}

/** Run checkpoints kept in memory: what the runner writes, nobody reads back. */
export function memoryRunStore(): RunCheckpoints & { readonly size: number } {
  const runs = new Map<string, RunCheckpoint>();
  return {
    get size() { return runs.size; },
    write: (run) => { runs.set(run.containerId, run); },
    remove: (containerId) => { runs.delete(containerId); },
    exitStatusFile: () => '',
    recoverSpec: (run) => ({ containerId: run.containerId, sandboxDir: run.sandboxDir }),
  };
}

export class HollowAgent {
  agentId = '';
  readonly containerizer: HollowContainerizer;
  private readonly table = new RunTable();
  private readonly updates: StatusUpdateManager;
  private readonly runner: TaskRunner;
  private readonly fence: EpochFence;
  private readonly registrar: Registrar;
  private readonly usage: UsageReporter;
  private started = false;

  constructor(readonly spec: HollowAgentSpec, private readonly d: HollowAgentDeps) {
    this.containerizer = new HollowContainerizer(d.clock, spec.taskDurationMs);
    this.fence = new EpochFence({ store: memoryEpochStore(), log: d.log.child('epoch') });
    this.updates = this.statusUpdates();
    this.runner = this.taskRunner();
    this.registrar = this.registration();
    this.usage = this.usageReporter();
  }

  get registered(): boolean {
    return this.registrar.registered;
  }

  /** Tasks in the table: running, or with their terminal update not yet acknowledged. */
  get liveTasks(): number {
    return this.table.live().length;
  }

  /** Updates sent and not yet acknowledged. */
  get unacknowledged(): number {
    return this.updates.snapshot().streams.reduce((n, s) => n + s.pending.length, 0);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.registrar.start();
    this.usage.start();
  }

  /** Heartbeats now: a new master leads (the fleet spreads these over a moment). */
  beatNow(): void {
    this.registrar.beatNow();
  }

  /**
   * As the agent stops: tasks are killed and report TASK_KILLED while acknowledgements still
   * arrive, then the agent unregisters (`unregister`: false leaves the master to find it gone).
   */
  async stop(unregister = true): Promise<void> {
    this.registrar.stop();
    this.usage.stop();
    await this.runner.shutdown();
    await this.containerizer.destroyAll();
    this.updates.stop();
    if (unregister) await this.registrar.unregister('the hollow agent was stopped');
    if (this.agentId) this.d.link.route(this.agentId, undefined);
  }

  private statusUpdates(): StatusUpdateManager {
    const { d } = this;
    return new StatusUpdateManager({
      clock: d.clock,
      initialBackoffMs: d.timing.statusRetryInitialMs,
      maxBackoffMs: d.timing.statusRetryMaxMs,
      send: (frameworkId, status) => d.link.publish(d.subjects.status(d.owner), encodeStatusUpdate({ frameworkId, status })),
      batch: (commit) => { setImmediate(commit); },
      onStreamClosed: (frameworkId, taskId) => this.runner.streamClosed(frameworkId, taskId),
      log: d.log.child('status-updates'),
    });
  }

  private taskRunner(): TaskRunner {
    const { d } = this;
    return new TaskRunner({
      agentId: () => this.agentId,
      workDir: '/hollow',
      hostname: this.spec.hostname,
      clock: d.clock,
      killGracePeriodMs: d.timing.killGracePeriodMs,
      containerizerFor: () => this.containerizer,
      containerizerOf: () => this.containerizer,
      publish: (status) => { this.updates.update(status); d.onStatus?.(status); },
      runs: memoryRunStore(),
      makeSandbox: () => undefined,
      pendingOf: (frameworkId, taskId) => this.updates.pendingOf(frameworkId, taskId),
      table: this.table,
      log: d.log.child('tasks'),
    });
  }

  private registration(): Registrar {
    const { d } = this;
    const t = d.timing;
    return new Registrar({
      link: d.link, subjects: d.subjects, owner: d.owner, clock: d.clock, random: d.random,
      backoffFactorMs: t.registerBackoffFactorMs, backoffMaxMs: t.registerBackoffMaxMs, requestTimeoutMs: t.requestTimeoutMs,
      heartbeatIntervalMs: t.heartbeatIntervalMs, version: AGENT_VERSION,
      agentInfo: () => this.agentInfo(),
      tasks: () => this.table.tasks(this.agentId),
      onRegistered: (reply, again) => this.onRegistered(reply.agentId, again),
      fence: this.fence,
      log: d.log.child('registration'),
    });
  }

  private usageReporter(): UsageReporter {
    const { d } = this;
    return new UsageReporter({
      clock: d.clock,
      intervalMs: d.timing.usageIntervalMs,
      agentId: () => this.agentId,
      registered: () => this.registrar.registered,
      liveRuns: () => this.table.liveRuns().map(({ record: r, containerizer }) => ({
        frameworkId: r.frameworkId, taskId: r.taskId, containerId: r.containerId, resources: r.info.resources, containerizer,
      })),
      send: (usage) => d.link.publish(d.subjects.usage(d.owner), encodeAgentUsage(usage)),
      log: d.log.child('usage'),
    });
  }

  /**
   * As the agent's: messages on the (new) id's subjects come here from now on, and what is
   * unacknowledged goes out again. No flush is needed before the master may send a run: the
   * fleet's one subscription covers every id before any registers.
   */
  private onRegistered(agentId: string, reregistered: boolean): Promise<void> {
    if (agentId !== this.agentId) {
      if (this.agentId) {
        this.d.log.warn('the master gave this agent a new id', { was: this.agentId, now: agentId });
        this.d.link.route(this.agentId, undefined);
      }
      this.agentId = agentId;
      this.d.link.route(agentId, masterMessageHandler({
        subjects: {
          run: this.d.subjects.run(this.d.owner, agentId), kill: this.d.subjects.kill(this.d.owner, agentId),
          ack: this.d.subjects.ack(this.d.owner, agentId), reconcile: this.d.subjects.reconcile(this.d.owner, agentId),
        },
        runner: this.runner, updates: this.updates, fence: this.fence, log: this.d.log,
      }));
    }
    this.updates.flush();
    this.d.onRegistered?.(agentId, reregistered);
    return Promise.resolve();
  }

  private agentInfo(): AgentInfo {
    const s = this.spec;
    return { id: this.agentId, hostname: s.hostname, resources: s.resources, attributes: { ...s.attributes }, port: 0 };
  }
}
