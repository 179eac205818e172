/**
 * The containerizers of one agent and which one a task gets (README, "containerizer"): the
 * process containerizer always, with cgroup limits when the host allows; the Docker one when
 * an engine answers. `DOCKER` tasks need Docker, `PROCESS` ones get process, the others
 * Docker when the agent runs it, else process.
 */
import Docker from 'dockerode';
import type { Logger } from '../common/log';
import type { TaskInfo } from '../common/types';
import type { AgentConfig } from './config';
import { detectCgroups, type IsolationView } from './containerizer/cgroups';
import type { Containerizer, ContainerizerKind } from './containerizer/containerizer';
import { DockerContainerizer } from './containerizer/docker';
import { dockerAvailable } from './containerizer/docker-engine';
import { ProcessContainerizer } from './containerizer/process';

export class AgentContainerizers {
  readonly process: ProcessContainerizer;
  /** Whether process containers get cgroup limits here, and if not, why not. */
  readonly isolation: IsolationView;
  private docker: DockerContainerizer | undefined;
  /** The engine's client, once it answered. */
  private client: Docker | undefined;

  /** `agentId`: the agent's current id, by which its Docker containers are labelled and found. */
  constructor(private readonly config: AgentConfig, private readonly agentId: () => string, private readonly log: Logger) {
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

  /** Starts the Docker containerizer unless the config says process only; false when no engine answers. */
  async startDocker(): Promise<boolean> {
    const c = this.config;
    if (c.containerizer === 'process') return true;
    const docker = new Docker({ socketPath: c.dockerSocket });
    if (!(await dockerAvailable(docker))) return false;
    this.client = docker;
    this.docker = new DockerContainerizer({
      docker, defaultImage: c.defaultImage, agentId: this.agentId, pullTimeoutMs: c.imagePullTimeoutMs, log: this.log.child('docker'),
      ...(c.dockerUser !== undefined ? { defaultUser: c.dockerUser } : {}),
    });
    return true;
  }

  /** The kinds this agent runs, the default first. */
  kinds(): ContainerizerKind[] {
    return this.docker ? ['docker', 'process'] : ['process'];
  }

  /** The Docker Engine's client, when the agent runs Docker. */
  dockerClient(): Docker | undefined {
    return this.client;
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
