/**
 * Taking back what an earlier process of this agent left (`--recover`, README "Recovery"):
 * its id, its unacknowledged updates and its runs. With `cleanup`, or without an id to come
 * back as, whatever it left running is killed and the agent starts afresh.
 */
import { renameSync, rmSync } from 'fs';
import type { Logger } from '../common/log';
import { readJson } from './checkpoint';
import type { RecoverMode } from './config';
import type { Containerizer, ContainerizerKind } from './containerizer/containerizer';
import type { RunCheckpoint, RunStore } from './runs';
import type { StatusCheckpoint } from './status-updates';

export interface RecoveryDeps {
  mode: RecoverMode;
  /** `meta/agent.json`: the id the earlier process had. */
  identityFile: string;
  /** `meta/status-updates.json`: its unacknowledged updates. */
  checkpointFile: string;
  runs: RunStore;
  /** Takes back the unacknowledged updates, to be sent after re-registration. */
  restoreUpdates(previous: StatusCheckpoint): void;
  /** Takes back one run (its container re-attached, or the truth about it told). */
  recoverRun(run: RunCheckpoint): Promise<void>;
  /** The containerizer of a kind, if this agent runs it. */
  containerizerOf(kind: ContainerizerKind): Containerizer | undefined;
  /** Removes this agent's containers that no run claims, by their labels; the ones removed. */
  removeOrphans(known: ReadonlySet<string>): Promise<string[]>;
  /** The id the agent goes by from now ('' for none): its containers are found by it. */
  setAgentId(id: string): void;
  log: Logger;
}

export async function recoverAgent(d: RecoveryDeps): Promise<void> {
  const { identity, previous } = readCheckpoints(d);
  const { runs, unreadable } = d.runs.list();
  for (const u of unreadable) {
    d.log.warn('unreadable run checkpoint: removed', u);
    d.runs.remove(u.containerId);
  }
  const previousId = identity?.agentId ?? '';
  if (d.mode === 'cleanup' || !previousId) {
    await startAfresh(d, previousId, runs, previous);
    return;
  }
  d.setAgentId(previousId);
  if (previous) d.restoreUpdates(previous);
  await Promise.all(runs.map((run) => d.recoverRun(run)));
  const orphans = await d.removeOrphans(new Set(runs.map((r) => r.containerId)));
  if (orphans.length > 0) d.log.warn('removed containers of this agent that no checkpoint claims', { containers: orphans });
  d.log.info('recovered', {
    agentId: previousId, runs: runs.length, unacknowledgedUpdates: previous?.streams?.reduce((n, st) => n + st.pending.length, 0) ?? 0,
  });
}

/** The earlier process's identity and status-update checkpoints; an unreadable one is as none. */
function readCheckpoints(d: RecoveryDeps): { identity: { agentId?: string } | undefined; previous: StatusCheckpoint | undefined } {
  let identity: { agentId?: string } | undefined;
  let previous: StatusCheckpoint | undefined;
  try {
    identity = readJson(d.identityFile) as { agentId?: string } | undefined;
  } catch (err) {
    d.log.warn('unreadable agent identity checkpoint; starting as a new agent', { file: d.identityFile, err });
  }
  try {
    previous = readJson(d.checkpointFile) as StatusCheckpoint | undefined;
  } catch (err) {
    d.log.warn('unreadable status update checkpoint', { file: d.checkpointFile, err });
  }
  return { identity, previous };
}

/** What the earlier process left is killed (if it can be found) and its checkpoints dropped. */
async function startAfresh(d: RecoveryDeps, previousId: string, runs: readonly RunCheckpoint[], previous: StatusCheckpoint | undefined): Promise<void> {
  if (previousId) await killLeftovers(d, previousId, runs);
  else if (runs.length > 0) d.log.warn(`${runs.length} runs were left without an agent id to find them by; forgotten`);
  if (previous && previous.streams?.some((st) => st.pending.length > 0)) {
    // Kept for the record: a new agent has nobody to send them to.
    renameSync(d.checkpointFile, d.checkpointFile.replace(/\.json$/, '.previous.json'));
  }
  for (const run of runs) d.runs.remove(run.containerId);
  rmSync(d.identityFile, { force: true });
}

/** `--recover=cleanup`: every run of the previous agent is killed and removed. */
async function killLeftovers(d: RecoveryDeps, previousId: string, runs: readonly RunCheckpoint[]): Promise<void> {
  d.setAgentId(previousId);   // the label the Docker containerizer finds them by
  try {
    for (const run of runs) {
      const c = d.containerizerOf(run.containerizer);
      const found = await c?.recover(d.runs.recoverSpec(run));
      if (found?.state === 'running') await c?.kill(run.containerId, 0);
      await c?.destroy(run.containerId);
    }
    const orphans = await d.removeOrphans(new Set());
    d.log.warn('recover=cleanup: killed what the previous agent left', { agentId: previousId, runs: runs.length, containers: orphans.length });
  } finally {
    d.setAgentId('');
  }
}
