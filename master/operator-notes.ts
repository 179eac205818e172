/**
 * What the master tells the operator event stream (operator-events.ts), in the shapes of
 * `/api/v1/state` so a client upserts them by id. Tasks are told by the task table itself
 * (a TaskObserver: every add and applied status passes there); agents and frameworks change
 * by mutating their records in a handful of calls, which call `noteAgent` / `noteFramework`
 * (removals are recorded where they happen, in agent-calls.ts and state.ts).
 */
import type { TaskView } from '../common/operator-types';
import type { FrameworkRecord } from './frameworks';
import type { OperatorEventSink } from './ports';
import type { MasterState } from './state';
import { agentView, frameworkView, taskView } from './state-view';
import type { TaskObserver, TaskRecord } from './tasks';

/** A sink that drops everything: a master built without an operator stream (core tests). */
export const noOperatorEvents: OperatorEventSink = { record: () => undefined };

/**
 * Usage statistics are left out: they change with every agent report, not with the task, and
 * would be stale in the journal; `/api/v1/state` has the newest.
 */
function eventTaskView(record: TaskRecord): TaskView {
  const { statistics: _usage, ...view } = taskView(record);
  return view;
}

export function taskObserver(sink: OperatorEventSink): TaskObserver {
  return {
    added: (record) => sink.record({ type: 'TASK_ADDED', task: eventTaskView(record) }),
    changed: (record) => sink.record({ type: 'TASK_UPDATED', task: eventTaskView(record) }),
  };
}

/** AGENT_ADDED or AGENT_UPDATED with the agent as it is now; it must be in the table. */
export function noteAgent(s: MasterState, type: 'AGENT_ADDED' | 'AGENT_UPDATED', agentId: string): void {
  s.events.record({ type, agent: agentView(s, agentId) });
}

export function noteFramework(s: MasterState, type: 'FRAMEWORK_ADDED' | 'FRAMEWORK_UPDATED', record: FrameworkRecord): void {
  s.events.record({ type, framework: frameworkView(s, record) });
}
