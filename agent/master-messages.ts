/**
 * What the master sends an agent on its own subjects: a task to run, a task to kill, the
 * acknowledgement of a status update, a question about tasks whose run it may have lost. Each is decoded and handed to the task runner or the
 * status-update streams; bytes that are not the message expected are logged and dropped,
 * and the agent carries on. One from a master older than the newest the agent has heard of
 * is dropped by the epoch fence (epoch-fence.ts) before it is acted on.
 */
import type { Logger } from '../common/log';
import { decodeKillTask, decodeReconcileTasks, decodeRunTask, decodeStatusAck } from '../common/agent-messages';
import type { EpochFence } from './epoch-fence';
import type { StatusUpdateManager } from './status-updates';
import type { TaskRunner } from './tasks';

export interface MasterMessageDeps {
  /** The agent's run, kill, ack and reconcile subjects. */
  subjects: { run: string; kill: string; ack: string; reconcile: string };
  runner: Pick<TaskRunner, 'run' | 'kill' | 'acknowledged' | 'reconcile'>;
  updates: Pick<StatusUpdateManager, 'acknowledge'>;
  /** Drops what a deposed master sent; without it every epoch is acted on. */
  fence?: Pick<EpochFence, 'admit'>;
  log: Logger;
}

/** Handles one message the agent received, by its subject. */
export function masterMessageHandler(d: MasterMessageDeps): (subject: string, data: Uint8Array) => void {
  const { run, kill, ack, reconcile } = d.subjects;
  const admit = (what: 'run' | 'kill' | 'ack', m: { epoch?: number; frameworkId: string; taskId: string }) =>
    d.fence?.admit(what, m.epoch ?? 0, { frameworkId: m.frameworkId, taskId: m.taskId }) ?? true;
  return (subject, data) => {
    try {
      if (subject === run) {
        const m = decodeRunTask(data);
        if (!admit('run', { ...m, taskId: m.task.taskId })) return;
        void d.runner.run(m.frameworkId, m.task, m.frameworkInfo.capabilities.includes('TASK_KILLING_STATE'));
      } else if (subject === kill) {
        const m = decodeKillTask(data);
        if (!m.frameworkId || !m.taskId) throw new Error('KillTaskMessage without framework or task id');
        if (!admit('kill', m)) return;
        d.runner.kill(m.frameworkId, m.taskId, m.killPolicy);
      } else if (subject === ack) {
        const m = decodeStatusAck(data);
        if (!admit('ack', m)) return;
        const r = d.updates.acknowledge(m.frameworkId, m.taskId, m.uuid);
        if (r === 'acknowledged') d.runner.acknowledged(m.frameworkId, m.taskId, m.uuid);
        else d.log.debug('acknowledgement ignored', { ...m, result: r });
      } else if (subject === reconcile) {
        const m = decodeReconcileTasks(data);
        if (!(d.fence?.admit('reconcile', m.epoch, { tasks: m.tasks.length }) ?? true)) return;
        d.runner.reconcile(m.tasks);
      } else {
        d.log.warn('message on an unknown subject', { subject });
      }
    } catch (e) {
      // Bad bytes from outside: logged and dropped; the agent carries on.
      d.log.error('cannot handle message', { subject, bytes: data.length, err: e });
    }
  };
}
