/**
 * Reconciliation answered from what the master knows (Mesos docs/reconciliation.md): a known
 * task reports its latest state; an unknown one is answered by its agent's standing —
 * TASK_GONE when the agent is registered (it would have told us about the task),
 * TASK_UNREACHABLE when the agent is unreachable (the task may be running behind the
 * partition), TASK_GONE_BY_OPERATOR when an operator marked the agent gone, TASK_UNKNOWN when
 * the master does not know the agent either. A task on an agent still **recovering** (known
 * from the registry after a master took over, not registered again) gets no answer at all, as
 * in Mesos: this master cannot know it yet, and any guess would be acted on — a framework told
 * TASK_UNREACHABLE replaces a task that never stopped. Its answer comes when the agent
 * registers and reports its tasks, or it turns unreachable when its window ends. Every answer
 * is a master-generated update with REASON_RECONCILIATION and no uuid.
 */
import { isTerminal, type Task, type TaskStatus } from '../common/types';
import type { ReconcileCall } from './calls';
import { masterStatus } from './tasks';

export interface ReconcileView {
  now: number;
  task(taskId: string): Task | undefined;
  frameworkTasks(): Task[];
  agentStanding(agentId: string): AgentStanding;
}

export type AgentStanding = 'registered' | 'recovering' | 'unreachable' | 'gone' | 'unknown';

const UNKNOWN_TASK: Record<Exclude<AgentStanding, 'recovering'>, { state: TaskStatus['state']; why: string }> = {
  registered: { state: 'TASK_GONE', why: 'is not known on agent' },
  unreachable: { state: 'TASK_UNREACHABLE', why: 'is not known; it may run on unreachable agent' },
  gone: { state: 'TASK_GONE_BY_OPERATOR', why: 'is not known; an operator marked gone agent' },
  unknown: { state: 'TASK_UNKNOWN', why: 'and its agent are unknown:' },
};

export function reconcile(call: ReconcileCall, view: ReconcileView): TaskStatus[] {
  const answer = (task: Task): TaskStatus => masterStatus({
    taskId: task.taskId, frameworkId: call.frameworkId, agentId: task.agentId, state: task.state,
    reason: 'REASON_RECONCILIATION', message: task.status?.message ?? '',
  }, view.now);

  if (call.tasks.length === 0) {
    return view.frameworkTasks().filter((t) => !isTerminal(t.state)).map(answer);
  }
  return call.tasks.flatMap(({ taskId, agentId }) => {
    const task = view.task(taskId);
    if (task) return [answer(task)];
    const standing = agentId === '' ? 'unknown' : view.agentStanding(agentId);
    if (standing === 'recovering') return [];
    const { state, why } = UNKNOWN_TASK[standing];
    return [masterStatus({
      taskId, frameworkId: call.frameworkId, agentId, state, reason: 'REASON_RECONCILIATION',
      message: `task ${taskId} ${why} ${agentId || '(none given)'}`,
    }, view.now)];
  });
}
