/**
 * Judging agents over time: silence past the allowed heartbeats makes an agent unreachable, a
 * recovered agent's re-registration window ends, and tasks whose run messages may have been
 * lost are asked about. Run on the master's heartbeat interval (master.ts), never while its own
 * link to the agents is down.
 */
import { isTerminal } from '../common/types';
import { agentStatus } from './agents';
import { noteAgent } from './operator-notes';
import { now, rescindOffer, tell, type MasterState } from './state';
import { masterStatus } from './tasks';

/**
 * Runs every heartbeat interval: an agent silent for longer than interval × allowed misses
 * is unreachable. Its offers are rescinded and its tasks reported TASK_UNREACHABLE to
 * partition-aware frameworks, TASK_LOST to the others (Mesos's rule). An unreachable task
 * keeps its resources on the agent; the agent is left out of allocation until it is back.
 * An agent recovered from the registry is judged by its re-registration window instead: its
 * heartbeats are answered `reregister`, so only registering brings it back.
 */
export function checkAgentHealth(s: MasterState): void {
  const at = now(s);
  const { agentHeartbeatIntervalMs: interval, agentMaxMissedHeartbeats: misses, agentReregisterTimeoutMs: window } = s.config;
  for (const agent of s.agents.all()) {
    const status = agentStatus(agent);
    if (status === 'recovering' && at >= (agent.recoveringUntil as number)) {
      agent.recoveringUntil = undefined;
      markUnreachable(s, agent.info.id, `agent ${agent.info.id} did not register again within ${window} ms of the master taking over`);
    } else if (status === 'active' && at - agent.lastHeartbeatAt > interval * misses) {
      markUnreachable(s, agent.info.id, `agent ${agent.info.id} missed ${misses} heartbeats (silent for ${at - agent.lastHeartbeatAt} ms)`);
    }
  }
}

function markUnreachable(s: MasterState, agentId: string, why: string): void {
  const at = now(s);
  const agent = s.agents.get(agentId);
  if (!agent) return;
  agent.unreachableSince = at;
  s.log.warn('agent unreachable', { agentId, why });
  noteAgent(s, 'AGENT_UPDATED', agentId);
  for (const { offer } of s.offers.onAgent(agentId)) rescindOffer(s, offer.id, why);
  for (const entry of s.tasks.onAgent(agentId)) {
    const { task } = entry;
    if (isTerminal(task.state)) continue;
    const partitionAware = s.frameworks.get(task.frameworkId)?.info.capabilities.includes('PARTITION_AWARE') ?? false;
    const status = masterStatus({
      taskId: task.taskId, frameworkId: task.frameworkId, agentId,
      state: partitionAware ? 'TASK_UNREACHABLE' : 'TASK_LOST', reason: 'REASON_AGENT_DISCONNECTED', message: why,
    }, at);
    s.tasks.update(entry, status, at);
    if (isTerminal(status.state)) s.tasks.complete(task.frameworkId, task.taskId);
    tell(s, task.frameworkId, { type: 'UPDATE', status });
  }
}

/**
 * Asks each active agent about its tasks still STAGING `stagingCheckAfterMs` after launch:
 * their run messages may have been lost on the way (NATS delivers at most once). An agent
 * that never got one answers TASK_DROPPED, which ends the task like any update; one that did
 * says nothing new. Asked again every heartbeat interval until the task moves.
 */
export function askAboutStaging(s: MasterState): void {
  const since = now(s) - s.config.stagingCheckAfterMs;
  for (const agent of s.agents.all()) {
    if (agentStatus(agent) !== 'active') continue;
    const staging = s.tasks.onAgent(agent.info.id)
      .filter((e) => e.task.state === 'TASK_STAGING' && e.updatedAt <= since)
      .map((e) => ({ frameworkId: e.task.frameworkId, taskId: e.task.taskId }));
    if (staging.length === 0) continue;
    s.log.warn('tasks still staging; asking their agent whether it got them', { agentId: agent.info.id, tasks: staging.length });
    s.agentPort.reconcile(agent.info.id, staging);
  }
}
