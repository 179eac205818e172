/**
 * What a framework's runtime needs of its master connection — the SDK's Scheduler has all
 * of it, and a test records the calls in twenty lines.
 */
import type { Filters, Offer, TaskInfo, TaskStatus } from '../../common/types';

export interface Driver {
  launch(offer: Offer, tasks: TaskInfo[], filters?: Filters): Promise<void>;
  decline(offerIds: string[], options?: { refuseMs?: number; reason?: string }): Promise<void>;
  kill(taskId: string, opts: { agentId?: string; gracePeriodMs?: number }): Promise<void>;
  acknowledge(status: Pick<TaskStatus, 'agentId' | 'taskId' | 'uuid'>): Promise<void>;
  reconcile(tasks?: { taskId: string; agentId?: string }[]): Promise<void>;
  revive(roles?: string[]): Promise<void>;
  suppress(roles?: string[]): Promise<void>;
}
