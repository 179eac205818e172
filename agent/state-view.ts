/**
 * What `GET /state` shows (README, "HTTP"): the agent as it presents itself, its resources,
 * containerizers and isolation, how many updates wait for an acknowledgement, and every run
 * it knows, a live one with its newest usage. Pure: the agent hands in what it has.
 */
import { format, scalar } from '../common/resources';
import { isTerminal, type ResourceStatistics } from '../common/types';
import type { AgentStateView } from './api/http';
import type { AgentConfig } from './config';
import type { IsolationView } from './containerizer/cgroups';
import type { ContainerizerKind } from './containerizer/containerizer';
import type { TaskRecord } from './task-record';

export interface AgentStateSource {
  agentId: string;
  config: Pick<AgentConfig, 'hostname' | 'attributes' | 'resources'>;
  httpPort: number;
  containerizers: readonly ContainerizerKind[];
  isolation: IsolationView;
  unacknowledgedUpdates: number;
  /** Why the agent takes no launches now (its container engine is wedged), if it does not. */
  degradedReason?: string | undefined;
  /** Every run the agent knows, newest last. */
  runs: readonly TaskRecord[];
  /** A run's newest usage report. */
  statisticsOf(containerId: string): ResourceStatistics | undefined;
}

export function agentStateView(a: AgentStateSource): AgentStateView {
  const r = a.config.resources;
  return {
    agentId: a.agentId,
    hostname: a.config.hostname,
    port: a.httpPort,
    attributes: { ...a.config.attributes },
    resources: { text: format(r), cpus: scalar(r, 'cpus'), mem: scalar(r, 'mem'), disk: scalar(r, 'disk'), gpus: scalar(r, 'gpus') },
    containerizers: [...a.containerizers],
    isolation: { ...a.isolation },
    registered: a.agentId !== '',
    unacknowledgedUpdates: a.unacknowledgedUpdates,
    ...(a.degradedReason ? { degradedReason: a.degradedReason } : {}),
    tasks: a.runs.map((t) => ({
      id: t.taskId, name: t.info.name, frameworkId: t.frameworkId, state: t.state, containerId: t.containerId,
      containerizer: t.containerizer ?? '', sandbox: t.sandboxDir, message: t.latest?.message ?? '',
      ...(t.latest?.exitCode !== undefined ? { exitCode: t.latest.exitCode } : {}),
      statistics: isTerminal(t.state) ? undefined : a.statisticsOf(t.containerId),
    })),
  };
}
