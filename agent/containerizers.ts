/**
 * The containerizers of one agent and which one a task gets (README, "containerizer"): the
 * process containerizer always, with cgroup limits when the host allows; the Docker one when
 * an engine answers. `DOCKER` tasks need Docker, `PROCESS` ones get process, the others
 * Docker when the agent runs it, else process.
 *
 * With Docker comes its engine's watchdog (engine-watchdog.ts): while the engine is wedged
 * the agent is degraded, `degradedReason` says why, and the agent takes no launches.
 */
import type { Logger } from '../common/log';
import type { TaskInfo } from '../common/types';
import type { AgentConfig } from './config';
import { detectCgroups, type IsolationView } from './containerizer/cgroups';
import type { Containerizer, ContainerizerKind } from './containerizer/containerizer';
import { DockerContainerizer } from './containerizer/docker';
import { openDocker, type DockerEngine } from './containerizer/docker-client';
import { ProcessContainerizer } from './containerizer/process';
import { EngineWatchdog, type EngineHealth } from './engine-watchdog';
import { removeExitedContainers } from './gc-containers';

export class AgentContainerizers {
  readonly process: ProcessContainerizer;
  /** Whether process containers get cgroup limits here, and if not, why not. */
  readonly isolation: IsolationView;
  private docker: DockerContainerizer | undefined;
  /** The engine (through its bounded line), once it answered. */
  private engine: DockerEngine | undefined;
  private watchdog: EngineWatchdog | undefined;

  /**
   * `agentId`: the agent's current id, by which its Docker containers are labelled and found.
   * `onEngine`: told when the Docker engine becomes wedged, or answers again.
   */
  constructor(
    private readonly config: AgentConfig, private readonly agentId: () => string, private readonly log: Logger,
    private readonly onEngine: (health: EngineHealth) => void = () => undefined,
  ) {
    const cgroups = config.isolation === 'none'
      ? { ok: false as const, view: { cgroups: 'none' as const, why: 'isolation is none in the agent\'s config' } }
      : detectCgroups();
    this.isolation = cgroups.view;
    // Said once, plainly: every process task on this agent runs without limits.
    if (!cgroups.ok) log.warn(`process tasks run without resource limits: ${cgroups.view.why}`);
    this.process = new ProcessContainerizer({
      log: log.child('process'), ...(cgroups.ok ? { cgroups: cgroups.cgroups } : {}),
      ...(config.processUser !== undefined ? { defaultUser: config.processUser } : {}),
    });
  }

  /**
   * Starts the Docker containerizer, and its engine's watchdog, unless the config says process
   * only; false when no engine answers.
   */
  async startDocker(): Promise<boolean> {
    const c = this.config;
    if (c.containerizer === 'process') return true;
    const door = openDocker(c.dockerSocket, c.dockerConcurrentCalls);
    if (!(await door.available(2_000))) return false;
    this.engine = door.engine;
    this.docker = new DockerContainerizer({
      docker: door.engine, defaultImage: c.defaultImage, agentId: this.agentId, pullTimeoutMs: c.imagePullTimeoutMs, log: this.log.child('docker'),
      ...(c.dockerUser !== undefined ? { defaultUser: c.dockerUser } : {}),
    });
    this.watchdog = new EngineWatchdog({
      clock: c.clock, intervalMs: c.dockerProbeIntervalMs, timeoutMs: c.dockerProbeTimeoutMs, failuresToWedge: c.dockerProbeFailures,
      probe: door.probe, onChange: this.onEngine, log: this.log.child('engine'),
    });
    this.watchdog.start();
    return true;
  }

  /** Why the agent takes no launches now (its Docker engine is wedged), or undefined. */
  degradedReason(): string | undefined {
    const health = this.watchdog?.health();
    return health?.wedged ? health.reason : undefined;
  }

  /** Stops watching the engine (the agent is stopping). */
  stopWatching(): void {
    this.watchdog?.stop();
  }

  /** The kinds this agent runs, the default first. */
  kinds(): ContainerizerKind[] {
    return this.docker ? ['docker', 'process'] : ['process'];
  }

  /** GC's part: this agent's exited Docker containers that no run in `claimed` claims, removed. */
  async removeExitedContainers(claimed: ReadonlySet<string>): Promise<string[]> {
    return this.engine ? removeExitedContainers(this.engine, this.agentId(), claimed, this.log.child('gc')) : [];
  }

  /** The containerizer of a kind, if this agent runs it. */
  of(kind: ContainerizerKind): Containerizer | undefined {
    return kind === 'docker' ? this.docker : this.process;
  }

  /** The containerizer a task gets, or why this agent cannot run it. */
  for(task: TaskInfo): Containerizer | { error: string } {
    switch (task.container.type) {
      case 'PROCESS': return this.process;
      case 'DOCKER': return this.docker ?? { error: 'the task asks for Docker and this agent runs no Docker containerizer' };
      default: return this.docker ?? this.process;
    }
  }

  /** This agent's Docker containers that no run in `known` claims, removed (processes carry no label to find them by). */
  async removeOrphans(known: ReadonlySet<string>): Promise<string[]> {
    return await this.docker?.removeOrphans(known) ?? [];
  }

  /** Kills and removes every container, giving each task `gracePeriodMs`. */
  async destroyAll(gracePeriodMs: number): Promise<void> {
    await Promise.all([this.docker?.destroyAll(gracePeriodMs), this.process.destroyAll(gracePeriodMs)]);
  }
}
