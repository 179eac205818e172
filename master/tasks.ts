/**
 * The task table: every task the master knows, by (framework, task id), and how a status
 * update moves it. Terminal states are sticky — a late or resent update never revives a
 * finished task — and only non-terminal tasks hold resources, so a terminal update releases
 * a task's resources the moment it is applied. Terminal tasks stay until their terminal
 * update is acknowledged (reconciliation still answers for them), then move to a bounded
 * ring of completed tasks for the operator's view.
 *
 * A live task also carries the newest resource statistics its agent reported; they go when
 * the task turns terminal, so an ended task never shows, nor is scraped with, stale usage.
 */
import { add, type Resources } from '../common/resources';
import { isTerminal, type ResourceStatistics, type Task, type TaskStatus } from '../common/types';
import { SetIndex } from './set-index';

export interface TaskRecord {
  task: Task;
  /** The role of the offer the task was launched from: its resources count for that role. */
  readonly role: string;
  updatedAt: number;
  /**
   * When this master sent the task's run message to its agent, until it hears the task
   * RUNNING or ended (metrics-counters.ts times the launch); absent on a task it took over.
   */
  launchedAt?: number | undefined;
  /** The newest usage its agent reported while it was live. */
  statistics?: ResourceStatistics;
}

/** What applying a status did: moved the task, repeated what we knew, or was too late. */
export type StatusEffect = 'changed' | 'duplicate' | 'ignored';

/** Pure: the task after `status`, and what that amounted to. */
export function applyStatus(task: Task, status: TaskStatus): { task: Task; effect: StatusEffect } {
  if (isTerminal(task.state)) {
    const same = status.uuid !== '' && task.status?.uuid === status.uuid;
    return { task, effect: same ? 'duplicate' : 'ignored' };
  }
  const duplicate = status.uuid !== '' && task.status?.uuid === status.uuid;
  return { task: { ...task, state: status.state, status }, effect: duplicate ? 'duplicate' : 'changed' };
}

/**
 * Told of every task the table learns of and every status it applies (not duplicates, not
 * late updates to an ended task): the operator event stream's TASK_ADDED and TASK_UPDATED.
 * The table is the one place every change passes, so no call path has to remember to tell.
 */
export interface TaskObserver {
  added(record: TaskRecord): void;
  changed(record: TaskRecord): void;
}

const keyOf = (frameworkId: string, taskId: string): string => `${frameworkId}\u0000${taskId}`;

export class TaskTable {
  private readonly active = new Map<string, TaskRecord>();
  private readonly byAgent = new SetIndex();
  private readonly byFramework = new SetIndex();
  private readonly done: TaskRecord[] = [];

  constructor(private readonly completedCapacity = 1000, private readonly observer?: TaskObserver) {}

  add(record: TaskRecord): void {
    const key = keyOf(record.task.frameworkId, record.task.taskId);
    if (this.active.has(key)) throw new Error(`task ${record.task.taskId} of ${record.task.frameworkId} is already in the table`);
    this.active.set(key, record);
    this.byAgent.add(record.task.agentId, key);
    this.byFramework.add(record.task.frameworkId, key);
    this.observer?.added(record);
  }

  get(frameworkId: string, taskId: string): TaskRecord | undefined {
    return this.active.get(keyOf(frameworkId, taskId));
  }

  has(frameworkId: string, taskId: string): boolean {
    return this.active.has(keyOf(frameworkId, taskId));
  }

  /** Applies `status` to a known task and reports the effect. */
  update(record: TaskRecord, status: TaskStatus, now: number): StatusEffect {
    const { task, effect } = applyStatus(record.task, status);
    if (effect !== 'ignored') {
      record.task = task;
      record.updatedAt = now;
      if (isTerminal(task.state)) delete record.statistics;
    }
    if (effect === 'changed') this.observer?.changed(record);
    return effect;
  }

  /** The task is over and nobody needs its terminal update any more: it leaves the table. */
  complete(frameworkId: string, taskId: string): void {
    const key = keyOf(frameworkId, taskId);
    const record = this.active.get(key);
    if (!record) return;
    this.active.delete(key);
    this.byAgent.delete(record.task.agentId, key);
    this.byFramework.delete(record.task.frameworkId, key);
    this.done.push(record);
    if (this.done.length > this.completedCapacity) this.done.shift();
  }

  all(): TaskRecord[] {
    return [...this.active.values()];
  }

  completed(): readonly TaskRecord[] {
    return this.done;
  }

  ofFramework(frameworkId: string): TaskRecord[] {
    return this.lookup(this.byFramework.get(frameworkId));
  }

  onAgent(agentId: string): TaskRecord[] {
    return this.lookup(this.byAgent.get(agentId));
  }

  /** What the running (non-terminal) tasks on an agent hold. */
  usedOn(agentId: string): Resources {
    return this.onAgent(agentId).filter((r) => !isTerminal(r.task.state)).reduce<Resources>((s, r) => add(s, r.task.resources), []);
  }

  /** What a framework's non-terminal tasks hold, by role. */
  usedBy(frameworkId: string): Map<string, Resources> {
    const out = new Map<string, Resources>();
    for (const r of this.ofFramework(frameworkId)) {
      if (!isTerminal(r.task.state)) out.set(r.role, add(out.get(r.role) ?? [], r.task.resources));
    }
    return out;
  }

  private lookup(keys: ReadonlySet<string>): TaskRecord[] {
    return [...keys].map((k) => this.active.get(k) as TaskRecord);
  }
}

/**
 * An update the master makes up itself (invalid launch, unknown task, reconciliation): it
 * has no uuid, so the framework does not acknowledge it and nobody resends it.
 */
export function masterStatus(
  fields: Pick<TaskStatus, 'taskId' | 'frameworkId' | 'agentId' | 'state' | 'reason' | 'message'>, nowMs: number,
): TaskStatus {
  return { ...fields, source: 'SOURCE_MASTER', uuid: '', timestampMs: nowMs, containerId: '' };
}
