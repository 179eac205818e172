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
import Docker from 'dockerode';
import { EventEmitter } from 'events';
import { chmodSync, mkdirSync, renameSync, rmSync, statSync } from 'fs';
import { join } from 'path';
import { connect, type NatsConnection, type Subscription } from 'nats';
import { logger } from '../common/log';
import { format, scalar } from '../common/resources';
import { subjects as makeSubjects } from '../common/subjects';
import { isTerminal, type AgentInfo, type TaskInfo, type TaskStatus } from '../common/types';
import { startHttp, type AgentHttpServer, type AgentStateView } from './api/http';
import { lockedDoor, type HttpDoor } from '../common/security/http-door';
import type { ServerSecurity } from '../common/security/security-dir';
import type { ClientIdentity } from '../common/security/client-config';
import { natsIdentity, type NatsIdentity } from '../common/security/nats-client';
import { metaDir, readJson, writeJsonAtomic } from './checkpoint';
import { agentConfig, type AgentConfig, type AgentOptions } from './config';
import { detectCgroups, type IsolationView } from './containerizer/cgroups';
import { GarbageCollector, type GcSweep } from './gc-collector';
import { removeExitedContainers } from './gc-containers';
import type { Containerizer, ContainerizerKind } from './containerizer/containerizer';
import { DockerContainerizer } from './containerizer/docker';
import { dockerAvailable } from './containerizer/docker-engine';
import { ProcessContainerizer } from './containerizer/process';
import { Registrar } from './registration';
import { RunStore, type RunCheckpoint } from './runs';
import { StatusUpdateManager, type StatusCheckpoint } from './status-updates';
import { TaskRunner, type HealthProbeReport } from './tasks';
import { UsageReporter } from './usage';
import {
  decodeKillTask, decodeRunTask, decodeStatusAck, decodeUnregisterReply, encodeAgentUsage, encodeStatusUpdate, encodeUnregister,
  type AgentUsage,
} from '../common/agent-messages';

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
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
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
  letTasksThrough(config);
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
  private readonly process: ProcessContainerizer;
  private readonly isolation: IsolationView;
  private docker: DockerContainerizer | undefined;
  private nc: NatsConnection | undefined;
  private sub: Subscription | undefined;
  private http: AgentHttpServer | undefined;
  /** Credentials in front of /state and /files, when the agent was given a security folder. */
  private door: HttpDoor | undefined;
  private registrar: Registrar | undefined;
  private readonly updates: StatusUpdateManager;
  private readonly runner: TaskRunner;
  private readonly runs: RunStore;
  private readonly gc: GarbageCollector;
  private dockerClient: Docker | undefined;
  private readonly usage: UsageReporter;
  private readonly checkpointFile: string;
  private readonly identityFile: string;
  private stopping: Promise<void> | undefined;

  constructor(readonly config: AgentConfig, private readonly nats: NatsIdentity, private readonly security?: ServerSecurity) {
    super();
    this.subjects = makeSubjects(config.subjectPrefix);
    this.registered = new Promise<string>((resolve, reject) => { this.resolveRegistered = resolve; this.rejectRegistered = reject; });
    this.registered.catch(() => undefined); // a stop before registration is not an unhandled failure
    const cgroups = config.isolation === 'none'
      ? { ok: false as const, view: { cgroups: 'none' as const, why: 'isolation is none in the agent\'s config' } }
      : detectCgroups();
    this.isolation = cgroups.view;
    // Said once, plainly: every process task on this agent runs without limits.
    if (!cgroups.ok) this.log.warn(`process tasks run without resource limits: ${cgroups.view.why}`);
    this.process = new ProcessContainerizer({
      log: this.log.child('process'), ...(cgroups.ok ? { cgroups: cgroups.cgroups } : {}),
      ...(config.processUser !== undefined ? { defaultUser: config.processUser } : {}),
    });
    const checkpointFile = join(metaDir(config.workDir), 'status-updates.json');
    this.checkpointFile = checkpointFile;
    this.identityFile = join(metaDir(config.workDir), 'agent.json');
    this.runs = new RunStore(config.workDir);
    this.updates = new StatusUpdateManager({
      clock: config.clock,
      initialBackoffMs: config.statusRetryInitialMs,
      maxBackoffMs: config.statusRetryMaxMs,
      send: (frameworkId, status) => this.nc?.publish(this.subjects.status(this.nats.owner), encodeStatusUpdate({ frameworkId, status })),
      checkpoint: (snapshot) => writeJsonAtomic(checkpointFile, snapshot),
      // What arrives in one turn of the event loop (a burst of launches, a run of acks) is
      // checkpointed once, after those I/O callbacks.
      batch: (commit) => { setImmediate(commit); },
      onStreamClosed: (frameworkId, taskId) => this.runner.streamClosed(frameworkId, taskId),
      log: this.log.child('status-updates'),
    });
    this.runner = new TaskRunner({
      agentId: () => this.agentId,
      workDir: config.workDir,
      hostname: config.hostname,
      clock: config.clock,
      killGracePeriodMs: config.killGracePeriodMs,
      containerizerFor: (task) => this.containerizerFor(task),
      publish: (status) => { this.updates.update(status); this.emit('status', status); },
      runs: this.runs,
      pendingOf: (frameworkId, taskId) => this.updates.pendingOf(frameworkId, taskId),
      containerizerOf: (kind) => this.containerizerOfKind(kind),
      onHealthProbe: (report) => this.emit('health', report),
      // Mesos schedules a sandbox when its executor is done; here, when the run leaves the table.
      onRunCompleted: (rec) => this.gc.schedule(rec.sandboxDir, config.clock.now()),
      log: this.log.child('tasks'),
    });
    this.gc = new GarbageCollector({
      policy: { gcDelayMs: config.gcDelayMs, diskHeadroom: config.gcDiskHeadroom },
      clock: config.clock,
      diskWatchIntervalMs: config.diskWatchIntervalMs,
      agentsDir: join(config.workDir, 'agents'),
      diskUsage: () => config.diskUsage(config.workDir),
      agentId: () => this.agentId,
      isLive: (sandbox) => this.runner.live().some((r) => r.sandboxDir === sandbox),
      onRemoved: (sandbox) => this.runner.forget(sandbox),
      removeExitedContainers: async () => (this.dockerClient
        ? removeExitedContainers(this.dockerClient, this.agentId, new Set(this.runner.live().map((r) => r.containerId)), this.log.child('gc'))
        : []),
      onSweep: (sweep) => this.emit('gc', sweep),
      log: this.log.child('gc'),
    });
    this.usage = new UsageReporter({
      clock: config.clock,
      intervalMs: config.usageIntervalMs,
      agentId: () => this.agentId,
      registered: () => this.registrar?.registered ?? false,
      liveRuns: () => this.runner.liveRuns().map(({ record: r, containerizer }) => ({
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
    if (c.containerizer !== 'process') {
      const docker = new Docker({ socketPath: c.dockerSocket });
      if (await dockerAvailable(docker)) {
        this.dockerClient = docker;
        this.docker = new DockerContainerizer({
          docker, defaultImage: c.defaultImage, agentId: () => this.agentId, pullTimeoutMs: c.imagePullTimeoutMs, log: this.log.child('docker'),
          ...(c.dockerUser !== undefined ? { defaultUser: c.dockerUser } : {}),
        });
      } else if (c.containerizer === 'docker') {
        throw new AgentStartError(`no Docker Engine answers on ${c.dockerSocket}: start dockerd, or use containerizer=process`);
      }
    }
    this.containerizers = this.docker ? ['docker', 'process'] : ['process'];
    await this.recover();
    // After recovery, so that the runs taken back are live and their sandboxes left alone.
    await this.gc.scan();
    this.gc.start();
    this.door = this.security && lockedDoor(this.security.credentials, { kind: 'agent', tls: this.security.tls, port: c.httpPort, title: 'an Agora agent', log: this.log.child('http') });
    this.http = await startHttp(c.httpHost, c.httpPort, {
      state: () => this.state(),
      runOf: (f, t, cid) => {
        const r = this.runner.find(f, t, cid);
        return r?.sandboxDir ? { containerId: r.containerId, sandbox: r.sandboxDir, over: isTerminal(r.state) } : undefined;
      },
      // A run's terminal update goes out after its container is removed, its output all written.
      onRunEnded: (listener) => this.on('status', (s) => { if (isTerminal(s.state)) listener(s.containerId); }),
      log: this.log.child('http'),
      ...(this.door ? { door: this.door } : {}),
    });
    this.httpPort = this.http.port;
    this.log.info('connecting to NATS', { url: c.natsUrl, as: this.nats.owner });
    try {
      this.nc = await connect({ servers: c.natsUrl, name: `agora-agent ${c.hostname}`, maxReconnectAttempts: -1, waitOnFirstConnect: true, ...this.nats.options });
    } catch (err) {
      throw new AgentStartError(`cannot connect to NATS at ${c.natsUrl}: ${(err as Error).message}`, { cause: err });
    }
    const nc = this.nc;
    this.registrar = new Registrar({
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
      tasks: () => this.runner.tasks(),
      onRegistered: (reply) => this.onRegistered(reply.agentId),
      log: this.log.child('registration'),
    });
    this.registrar.start();
    this.usage.start();
    this.log.info('agent started', { httpPort: this.httpPort, containerizers: this.containerizers, isolation: this.isolation, resources: format(c.resources) });
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    this.registrar?.stop();
    await this.gc.stop();
    this.usage.stop();
    this.rejectRegistered(new Error('the agent stopped before it registered'));
    // Tasks are killed and report TASK_KILLED while NATS is still open and acknowledgements
    // still arrive, so the master can hear of it (runs that come now are dropped); then
    // whatever is left over (a launch in flight, a stray container) goes. What is still
    // unacknowledged stays in the checkpoint.
    await this.runner.shutdown();
    const grace = this.config.killGracePeriodMs;
    await Promise.all([this.docker?.destroyAll(grace), this.process.destroyAll(grace)]);
    this.sub?.unsubscribe();
    this.updates.stop();
    await this.unregister();
    if (this.nc && !this.nc.isClosed()) {
      await this.nc.flush().catch(() => undefined);
      await this.nc.close();
    }
    await this.http?.close();
    this.door?.close();
    this.log.info('agent stopped', { agentId: this.agentId });
  }

  /**
   * Tells the master this agent is gone for good, so its resources stop being offered. Best
   * effort: a master that does not answer in time will find out the agent stopped
   * heartbeating.
   */
  private async unregister(): Promise<void> {
    if (!this.agentId || !this.nc || this.nc.isClosed()) return;
    try {
      const reply = decodeUnregisterReply((await this.nc.request(this.subjects.unregister(this.nats.owner),
        encodeUnregister({ agentId: this.agentId, reason: 'the agent was stopped' }), { timeout: this.config.requestTimeoutMs })).data);
      if (reply.error) this.log.warn('the master did not take the unregistration', { error: reply.error });
    } catch (err) {
      this.log.warn('could not unregister from the master', { err });
    }
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
    const [run, kill, ack] = [s.run(owner, this.agentId), s.kill(owner, this.agentId), s.ack(owner, this.agentId)];
    this.sub = this.nc?.subscribe(s.agentAll(owner, this.agentId), {
      callback: (err, msg) => {
        if (err) return this.log.error('subscription error', { err });
        try {
          if (msg.subject === run) {
            const m = decodeRunTask(msg.data);
            void this.runner.run(m.frameworkId, m.task, m.frameworkInfo.capabilities.includes('TASK_KILLING_STATE'));
          } else if (msg.subject === kill) {
            const m = decodeKillTask(msg.data);
            if (!m.frameworkId || !m.taskId) throw new Error('KillTaskMessage without framework or task id');
            this.runner.kill(m.frameworkId, m.taskId, m.killPolicy);
          } else if (msg.subject === ack) {
            const m = decodeStatusAck(msg.data);
            const r = this.updates.acknowledge(m.frameworkId, m.taskId, m.uuid);
            if (r === 'acknowledged') this.runner.acknowledged(m.frameworkId, m.taskId, m.uuid);
            else this.log.debug('acknowledgement ignored', { ...m, result: r });
          } else {
            this.log.warn('message on an unknown subject', { subject: msg.subject });
          }
        } catch (e) {
          // Bad bytes from outside: logged and dropped; the agent carries on.
          this.log.error('cannot handle message', { subject: msg.subject, bytes: msg.data.length, err: e });
        }
      },
    });
  }

  /** The containerizer of a kind, if this agent runs it. */
  private containerizerOfKind(kind: ContainerizerKind): Containerizer | undefined {
    return kind === 'docker' ? this.docker : this.process;
  }

  private containerizerFor(task: TaskInfo): Containerizer | { error: string } {
    switch (task.container.type) {
      case 'PROCESS': return this.process;
      case 'DOCKER': return this.docker ?? { error: 'the task asks for Docker and this agent runs no Docker containerizer' };
      default: return this.docker ?? this.process;
    }
  }

  private agentInfo(): AgentInfo {
    const c = this.config;
    return { id: this.agentId, hostname: c.hostname, resources: c.resources, attributes: { ...c.attributes }, port: this.httpPort };
  }

  private state(): AgentStateView {
    const r = this.config.resources;
    return {
      agentId: this.agentId,
      hostname: this.config.hostname,
      port: this.httpPort,
      attributes: { ...this.config.attributes },
      resources: { text: format(r), cpus: scalar(r, 'cpus'), mem: scalar(r, 'mem'), disk: scalar(r, 'disk'), gpus: scalar(r, 'gpus') },
      containerizers: [...this.containerizers],
      isolation: { ...this.isolation },
      registered: this.agentId !== '',
      unacknowledgedUpdates: this.updates.snapshot().streams.reduce((n, st) => n + st.pending.length, 0),
      tasks: this.runner.records().map((t) => ({
        id: t.taskId, name: t.info.name, frameworkId: t.frameworkId, state: t.state, containerId: t.containerId,
        containerizer: t.containerizer ?? '', sandbox: t.sandboxDir, message: t.latest?.message ?? '',
        ...(t.latest?.exitCode !== undefined ? { exitCode: t.latest.exitCode } : {}),
        statistics: isTerminal(t.state) ? undefined : this.usage.latestOf(t.containerId),
      })),
    };
  }

  /**
   * Takes back what an earlier process of this agent left (`--recover`, README "Recovery"):
   * its id, its unacknowledged updates and its runs. With `cleanup`, or without an id to come
   * back as, whatever it left running is killed and the agent starts afresh.
   */
  private async recover(): Promise<void> {
    let identity: { agentId?: string } | undefined;
    let previous: StatusCheckpoint | undefined;
    try {
      identity = readJson(this.identityFile) as { agentId?: string } | undefined;
    } catch (err) {
      this.log.warn('unreadable agent identity checkpoint; starting as a new agent', { file: this.identityFile, err });
    }
    try {
      previous = readJson(this.checkpointFile) as StatusCheckpoint | undefined;
    } catch (err) {
      this.log.warn('unreadable status update checkpoint', { file: this.checkpointFile, err });
    }
    const { runs, unreadable } = this.runs.list();
    for (const u of unreadable) {
      this.log.warn('unreadable run checkpoint: removed', u);
      this.runs.remove(u.containerId);
    }
    const previousId = identity?.agentId ?? '';
    if (this.config.recover === 'cleanup' || !previousId) {
      if (previousId) await this.killLeftovers(previousId, runs);
      else if (runs.length > 0) this.log.warn(`${runs.length} runs were left without an agent id to find them by; forgotten`);
      if (previous && previous.streams?.some((st) => st.pending.length > 0)) {
        // Kept for the record: a new agent has nobody to send them to.
        renameSync(this.checkpointFile, this.checkpointFile.replace(/\.json$/, '.previous.json'));
      }
      for (const run of runs) this.runs.remove(run.containerId);
      rmSync(this.identityFile, { force: true });
      return;
    }
    this.agentId = previousId;
    if (previous) this.updates.restore(previous);
    await Promise.all(runs.map((run) => this.runner.recover(run)));
    const orphans = await this.docker?.removeOrphans(new Set(runs.map((r) => r.containerId))) ?? [];
    if (orphans.length > 0) this.log.warn('removed containers of this agent that no checkpoint claims', { containers: orphans });
    this.log.info('recovered', {
      agentId: previousId, runs: runs.length, unacknowledgedUpdates: previous?.streams?.reduce((n, st) => n + st.pending.length, 0) ?? 0,
    });
  }

  /** `--recover=cleanup`: every run of the previous agent is killed and removed. */
  private async killLeftovers(previousId: string, runs: readonly RunCheckpoint[]): Promise<void> {
    this.agentId = previousId;   // the label the Docker containerizer finds them by
    try {
      for (const run of runs) {
        const c = this.containerizerOfKind(run.containerizer);
        const found = await c?.recover(this.runs.recoverSpec(run));
        if (found?.state === 'running') await c?.kill(run.containerId, 0);
        await c?.destroy(run.containerId);
      }
      const orphans = await this.docker?.removeOrphans(new Set()) ?? [];
      this.log.warn('recover=cleanup: killed what the previous agent left', { agentId: previousId, runs: runs.length, containers: orphans.length });
    } finally {
      this.agentId = '';
    }
  }
}

/**
 * Process tasks run as another user (nobody) under a root agent, and must reach their
 * sandboxes inside the work directory: it gets the search bit for others (not the read bit,
 * so they cannot list it). The directories above it are the operator's to open.
 */
function letTasksThrough(config: AgentConfig): void {
  if (process.getuid?.() !== 0 || config.processUser === '') return;
  const mode = statSync(config.workDir).mode & 0o7777;
  if ((mode & 0o001) === 0) chmodSync(config.workDir, mode | 0o011);
}
