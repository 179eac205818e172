/**
 * The agent: wires config, containerizers, tasks, reliable status updates, registration and
 * the HTTP endpoints to NATS. Each of those is a small piece with a narrow seam; this file
 * only connects them and owns the order of start-up and shutdown.
 *
 *   const agent = await startAgent({ natsUrl, workDir });
 *   await agent.registered;       // the master gave us an id
 *   …
 *   await agent.stop();           // tasks killed, containers removed, NATS and HTTP closed
 */
import { EventEmitter } from 'events';
import { mkdirSync } from 'fs';
import { join } from 'path';
import { connect, type NatsConnection, type Subscription } from 'nats';
import { logger } from '../common/log';
import { format } from '../common/resources';
import { natsServers, subjects as makeSubjects } from '../common/subjects';
import { isTerminal, type AgentInfo, type TaskStatus } from '../common/types';
import { startHttp, type AgentHttpServer, type AgentStateView } from './api/http';
import { lockedDoor, type HttpDoor } from '../common/security/http-door';
import type { ServerSecurity } from '../common/security/security-dir';
import type { ClientIdentity } from '../common/security/client-config';
import { natsIdentity, type NatsIdentity } from '../common/security/nats-client';
import { metaDir, writeJsonAtomic } from './checkpoint';
import { agentConfig, type AgentConfig, type AgentOptions } from './config';
import { GarbageCollector, type GcSweep } from './gc-collector';
import type { ContainerizerKind } from './containerizer/containerizer';
import { AgentContainerizers } from './containerizers';
import type { EngineHealth } from './engine-watchdog';
import { EpochFence, type FencedDrop } from './epoch-fence';
import { masterMessageHandler } from './master-messages';
import { recoverAgent } from './recovery';
import { Registrar, followLeaders } from './registration';
import { RunTable } from './run-table';
import { RunStore } from './runs';
import { letTasksThrough } from './sandbox';
import { agentStateView } from './state-view';
import { StatusUpdateManager } from './status-updates';
import { TaskRunner } from './tasks';
import type { HealthProbeReport } from './task-health';
import { UsageReporter } from './usage';
import { encodeAgentUsage, encodeStatusUpdate, type AgentUsage } from '../common/agent-messages';

export const AGENT_VERSION = '0.1.0';

type AgentEvents = {
  /** The master accepted the agent (again): its id. */
  registered: [string];
  /** A status update the agent produced, as it enters its task's reliable stream. */
  status: [TaskStatus];
  /** One probe of a task's health check, whether or not its health changed. */
  health: [HealthProbeReport];
  /** One garbage-collection sweep: what it removed, at which disk usage. */
  gc: [GcSweep];
  /** A usage report, as it was sent to the master. */
  usage: [AgentUsage];
  /** The Docker engine became wedged (the agent is degraded: no launches), or answers again. */
  engine: [EngineHealth];
  /** A message or reply of a deposed master (an older epoch), dropped. */
  fenced: [FencedDrop];
};

export interface AgentHandle {
  /** '' until the first registration. */
  readonly agentId: string;
  /** Resolves with the agent id once the master accepted the agent. */
  readonly registered: Promise<string>;
  /** The HTTP port actually bound. */
  readonly httpPort: number;
  /** The containerizers this agent runs tasks with, the default first. */
  readonly containerizers: readonly ContainerizerKind[];
  readonly config: AgentConfig;
  on<E extends keyof AgentEvents>(event: E, listener: (...args: AgentEvents[E]) => void): this;
  off<E extends keyof AgentEvents>(event: E, listener: (...args: AgentEvents[E]) => void): this;
  /** Kills every task, removes their containers, closes NATS and HTTP. Idempotent. */
  stop(): Promise<void>;
}

export class AgentStartError extends Error {
  override readonly name = 'AgentStartError';
}

export interface StartAgentOptions extends AgentOptions {
  /**
   * The HTTP door's keys: `/state` and `/files` need credentials (an operator, or the master's
   * relay). Without it they are open to anyone who reaches the port (`agora agent --insecure`).
   * The caller closes it.
   */
  security?: ServerSecurity;
  /**
   * Who this agent is on a locked cluster (`security` given): an agent principal of the
   * client config, whose NATS user the credentials file holds. Its name is the owner in the
   * agent's subjects.
   */
  identity?: ClientIdentity;
}

export async function startAgent(options: StartAgentOptions = {}): Promise<AgentHandle> {
  const config = agentConfig(options);
  mkdirSync(config.workDir, { recursive: true });
  letTasksThrough(config.workDir, config.processUser);
  const agent = new Agent(config, natsIdentity('agent', makeSubjects(config.subjectPrefix), options.security, options.identity), options.security);
  try {
    await agent.start();
  } catch (err) {
    await agent.stop();
    throw err;
  }
  return agent;
}

class Agent extends EventEmitter<AgentEvents> implements AgentHandle {
  agentId = '';
  httpPort = 0;
  containerizers: ContainerizerKind[] = [];
  readonly registered: Promise<string>;
  private resolveRegistered!: (id: string) => void;
  private rejectRegistered!: (err: Error) => void;
  private readonly log = logger('agent');
  private readonly subjects;
  private readonly containers: AgentContainerizers;
  private nc: NatsConnection | undefined;
  private sub: Subscription | undefined;
  private http: AgentHttpServer | undefined;
  /** Credentials in front of /state and /files, when the agent was given a security folder. */
  private door: HttpDoor | undefined;
  private registrar: Registrar | undefined;
  private readonly updates: StatusUpdateManager;
  private readonly table: RunTable;
  private readonly runner: TaskRunner;
  private readonly runs: RunStore;
  private readonly gc: GarbageCollector;
  private readonly usage: UsageReporter;
  private readonly fence: EpochFence;
  private readonly checkpointFile: string;
  private readonly identityFile: string;
  private stopping: Promise<void> | undefined;

  constructor(readonly config: AgentConfig, private readonly nats: NatsIdentity, private readonly security?: ServerSecurity) {
    super();
    this.subjects = makeSubjects(config.subjectPrefix);
    this.registered = new Promise<string>((resolve, reject) => { this.resolveRegistered = resolve; this.rejectRegistered = reject; });
    this.registered.catch(() => undefined); // a stop before registration is not an unhandled failure
    this.containers = new AgentContainerizers(config, () => this.agentId, this.log, (health) => {
      // The master hears it at once, not at the next heartbeat: it stops (or starts again) offering us.
      this.registrar?.beatNow();
      this.emit('engine', health);
    });
    this.checkpointFile = join(metaDir(config.workDir), 'status-updates.json');
    this.identityFile = join(metaDir(config.workDir), 'agent.json');
    this.fence = new EpochFence({ workDir: config.workDir, log: this.log.child('epoch'), onDropped: (drop) => this.emit('fenced', drop) });
    this.runs = new RunStore(config.workDir);
    // Mesos schedules a sandbox when its executor is done; here, when the run leaves the table.
    this.table = new RunTable((rec) => this.gc.schedule(rec.sandboxDir, config.clock.now()));
    this.updates = this.statusUpdates();
    this.runner = this.taskRunner();
    this.gc = this.garbageCollector();
    this.usage = this.usageReporter();
  }

  /** The reliable streams of status updates, checkpointed and sent over NATS. */
  private statusUpdates(): StatusUpdateManager {
    const config = this.config;
    return new StatusUpdateManager({
      clock: config.clock,
      initialBackoffMs: config.statusRetryInitialMs,
      maxBackoffMs: config.statusRetryMaxMs,
      send: (frameworkId, status) => this.nc?.publish(this.subjects.status(this.nats.owner), encodeStatusUpdate({ frameworkId, status })),
      checkpoint: (snapshot) => writeJsonAtomic(this.checkpointFile, snapshot),
      // What arrives in one turn of the event loop (a burst of launches, a run of acks) is
      // checkpointed once, after those I/O callbacks.
      batch: (commit) => { setImmediate(commit); },
      onStreamClosed: (frameworkId, taskId) => this.runner.streamClosed(frameworkId, taskId),
      log: this.log.child('status-updates'),
    });
  }

  private taskRunner(): TaskRunner {
    const config = this.config;
    return new TaskRunner({
      agentId: () => this.agentId,
      workDir: config.workDir,
      hostname: config.hostname,
      clock: config.clock,
      killGracePeriodMs: config.killGracePeriodMs,
      containerizerFor: (task) => this.containers.for(task),
      degradedReason: () => this.containers.degradedReason(),
      publish: (status) => { this.updates.update(status); this.emit('status', status); },
      runs: this.runs,
      pendingOf: (frameworkId, taskId) => this.updates.pendingOf(frameworkId, taskId),
      containerizerOf: (kind) => this.containers.of(kind),
      onHealthProbe: (report) => this.emit('health', report),
      table: this.table,
      log: this.log.child('tasks'),
    });
  }

  /** Removes finished sandboxes (and exited containers no run claims) as they age and the disk fills. */
  private garbageCollector(): GarbageCollector {
    const config = this.config;
    return new GarbageCollector({
      policy: { gcDelayMs: config.gcDelayMs, diskHeadroom: config.gcDiskHeadroom },
      clock: config.clock,
      diskWatchIntervalMs: config.diskWatchIntervalMs,
      agentsDir: join(config.workDir, 'agents'),
      diskUsage: () => config.diskUsage(config.workDir),
      agentId: () => this.agentId,
      isLive: (sandbox) => this.table.live().some((r) => r.sandboxDir === sandbox),
      onRemoved: (sandbox) => this.table.forget(sandbox),
      removeExitedContainers: () => this.containers.removeExitedContainers(new Set(this.table.live().map((r) => r.containerId))),
      onSweep: (sweep) => this.emit('gc', sweep),
      log: this.log.child('gc'),
    });
  }

  private usageReporter(): UsageReporter {
    const config = this.config;
    return new UsageReporter({
      clock: config.clock,
      intervalMs: config.usageIntervalMs,
      agentId: () => this.agentId,
      registered: () => this.registrar?.registered ?? false,
      liveRuns: () => this.table.liveRuns().map(({ record: r, containerizer }) => ({
        frameworkId: r.frameworkId, taskId: r.taskId, containerId: r.containerId, resources: r.info.resources, containerizer,
      })),
      send: (usage) => {
        // A round still measuring when the agent stops finds NATS closed: nothing to tell.
        if (!this.nc || this.nc.isClosed()) return;
        this.nc.publish(this.subjects.usage(this.nats.owner), encodeAgentUsage(usage));
        this.emit('usage', usage);
      },
      log: this.log.child('usage'),
    });
  }

  async start(): Promise<void> {
    const c = this.config;
    if (!(await this.containers.startDocker()) && c.containerizer === 'docker') {
      throw new AgentStartError(`no Docker Engine answers on ${c.dockerSocket}: start dockerd, or use containerizer=process`);
    }
    this.containerizers = this.containers.kinds();
    await this.recover();
    // After recovery, so that the runs taken back are live and their sandboxes left alone.
    await this.gc.scan();
    this.gc.start();
    await this.startHttp();
    this.log.info('connecting to NATS', { url: c.natsUrl, as: this.nats.owner });
    try {
      this.nc = await connect({ servers: natsServers(c.natsUrl), name: `agora-agent ${c.hostname}`, maxReconnectAttempts: -1, waitOnFirstConnect: true, ...this.nats.options });
    } catch (err) {
      throw new AgentStartError(`cannot connect to NATS at ${c.natsUrl}: ${(err as Error).message}`, { cause: err });
    }
    this.registrar = this.register(this.nc);
    followLeaders(this.nc, this.subjects.leader(), this.config, () => this.registrar?.beatNow(), this.log);
    this.usage.start();
    this.log.info('agent started', { httpPort: this.httpPort, containerizers: this.containerizers, isolation: this.containers.isolation, resources: format(c.resources) });
  }

  /** `/health`, `/state` and `/files`, behind the door when the agent has one. */
  private async startHttp(): Promise<void> {
    const c = this.config;
    this.door = this.security && lockedDoor(this.security.credentials, { kind: 'agent', tls: this.security.tls, port: c.httpPort, title: 'an Agora agent', log: this.log.child('http') });
    this.http = await startHttp(c.httpHost, c.httpPort, {
      state: () => this.state(),
      runOf: (f, t, cid) => {
        const r = this.table.find(f, t, cid);
        return r?.sandboxDir ? { containerId: r.containerId, sandbox: r.sandboxDir, over: isTerminal(r.state) } : undefined;
      },
      // A run's terminal update goes out after its container is removed, its output all written.
      onRunEnded: (listener) => this.on('status', (s) => { if (isTerminal(s.state)) listener(s.containerId); }),
      log: this.log.child('http'),
      ...(this.door ? { door: this.door } : {}),
    });
    this.httpPort = this.http.port;
  }

  /** Registers with the master (again and again, as it asks) and heartbeats. */
  private register(nc: NatsConnection): Registrar {
    const c = this.config;
    const registrar = new Registrar({
      link: { request: async (subject, data, timeout) => (await nc.request(subject, data, { timeout })).data },
      subjects: this.subjects,
      owner: this.nats.owner,
      clock: c.clock,
      random: c.random,
      backoffFactorMs: c.registerBackoffFactorMs,
      backoffMaxMs: c.registerBackoffMaxMs,
      requestTimeoutMs: c.requestTimeoutMs,
      heartbeatIntervalMs: c.heartbeatIntervalMs,
      version: AGENT_VERSION,
      agentInfo: () => this.agentInfo(),
      degradedReason: () => this.containers.degradedReason(),
      tasks: () => this.table.tasks(this.agentId),
      onRegistered: (reply) => this.onRegistered(reply.agentId),
      fence: this.fence,
      log: this.log.child('registration'),
    });
    registrar.start();
    return registrar;
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.registrar?.stop();
    this.containers.stopWatching();
    await this.gc.stop();
    this.usage.stop();
    this.rejectRegistered(new Error('the agent stopped before it registered'));
    // Tasks are killed and report TASK_KILLED while NATS is still open and acknowledgements
    // still arrive, so the master can hear of it (runs that come now are dropped); then
    // whatever is left over (a launch in flight, a stray container) goes. What is still
    // unacknowledged stays in the checkpoint.
    await this.runner.shutdown();
    const grace = this.config.killGracePeriodMs;
    await this.containers.destroyAll(grace);
    this.sub?.unsubscribe();
    this.updates.stop();
    if (this.nc && !this.nc.isClosed()) {
      await this.registrar?.unregister('the agent was stopped');
      await this.nc.flush().catch(() => undefined);
      await this.nc.close();
    }
    await this.http?.close();
    this.door?.close();
    this.log.info('agent stopped', { agentId: this.agentId });
  }

  private async onRegistered(agentId: string): Promise<void> {
    if (agentId !== this.agentId || !this.sub) {
      if (this.agentId && agentId !== this.agentId) this.log.warn('the master gave this agent a new id', { was: this.agentId, now: agentId });
      this.sub?.unsubscribe();
      this.agentId = agentId;
      // Kept, so that a restarted agent comes back as itself, with its tasks.
      writeJsonAtomic(this.identityFile, { version: 1, agentId });
      this.subscribe();
      // The subscription is only in force once the server has it: until then a run sent
      // right after our registration would be lost.
      await this.nc?.flush();
    }
    // A master that just (re)accepted us may have missed what we sent while it was away, and
    // a restarted agent has its previous run's unacknowledged updates to send.
    this.updates.flush();
    this.resolveRegistered(agentId);
    this.emit('registered', agentId);
  }

  private subscribe(): void {
    const s = this.subjects;
    const owner = this.nats.owner;
    const handle = masterMessageHandler({
      subjects: { run: s.run(owner, this.agentId), kill: s.kill(owner, this.agentId), ack: s.ack(owner, this.agentId), reconcile: s.reconcile(owner, this.agentId) },
      runner: this.runner,
      updates: this.updates,
      fence: this.fence,
      log: this.log,
    });
    this.sub = this.nc?.subscribe(s.agentAll(owner, this.agentId), {
      callback: (err, msg) => {
        if (err) return this.log.error('subscription error', { err });
        handle(msg.subject, msg.data);
      },
    });
  }

  private agentInfo(): AgentInfo {
    const c = this.config;
    return { id: this.agentId, hostname: c.hostname, resources: c.resources, attributes: { ...c.attributes }, port: this.httpPort };
  }

  private state(): AgentStateView {
    return agentStateView({
      agentId: this.agentId, config: this.config, httpPort: this.httpPort, containerizers: this.containerizers, isolation: this.containers.isolation,
      unacknowledgedUpdates: this.updates.snapshot().streams.reduce((n, st) => n + st.pending.length, 0),
      degradedReason: this.containers.degradedReason(),
      runs: this.table.records(),
      statisticsOf: (containerId) => this.usage.latestOf(containerId),
    });
  }

  /** Takes back what an earlier process of this agent left (recovery.ts). */
  private recover(): Promise<void> {
    return recoverAgent({
      mode: this.config.recover,
      identityFile: this.identityFile,
      checkpointFile: this.checkpointFile,
      runs: this.runs,
      restoreUpdates: (previous) => this.updates.restore(previous),
      recoverRun: (run) => this.runner.recover(run),
      containerizerOf: (kind) => this.containers.of(kind),
      removeOrphans: (known) => this.containers.removeOrphans(known),
      setAgentId: (id) => { this.agentId = id; },
      log: this.log,
    });
  }
}
