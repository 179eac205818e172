/**
 * Reconciliation answered from what the master knows (Mesos docs/reconciliation.md): a known
 * task reports its latest state; an unknown one is TASK_GONE when its agent is registered
 * (the agent would have told us about it) and TASK_UNKNOWN when we do not know the agent
 * either. Every answer is a master-generated update with REASON_RECONCILIATION and no uuid.
 */
import { isTerminal, type Task, type TaskStatus } from '../common/types';
import type { ReconcileCall } from './calls';
import { masterStatus } from './tasks';

export interface ReconcileView {
  now: number;
  task(taskId: string): Task | undefined;
  frameworkTasks(): Task[];
  agentRegistered(agentId: string): boolean;
}

export function reconcile(call: ReconcileCall, view: ReconcileView): TaskStatus[] {
  const answer = (task: Task): TaskStatus => masterStatus({
    taskId: task.taskId, frameworkId: call.frameworkId, agentId: task.agentId, state: task.state,
    reason: 'REASON_RECONCILIATION', message: task.status?.message ?? '',
  }, view.now);

  if (call.tasks.length === 0) {
    return view.frameworkTasks().filter((t) => !isTerminal(t.state)).map(answer);
  }
  return call.tasks.map(({ taskId, agentId }) => {
    const task = view.task(taskId);
    if (task) return answer(task);
    const known = agentId !== '' && view.agentRegistered(agentId);
    return masterStatus({
      taskId, frameworkId: call.frameworkId, agentId,
      state: known ? 'TASK_GONE' : 'TASK_UNKNOWN', reason: 'REASON_RECONCILIATION',
      message: known ? `task ${taskId} is not known on agent ${agentId}` : `task ${taskId} and its agent are unknown`,
    }, view.now);
  });
}
