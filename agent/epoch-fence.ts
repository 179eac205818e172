/**
 * The agent's fence against a deposed master. Every master → agent message (run, kill, ack,
 * reconcile) and every reply (registration, heartbeat) names the **epoch** of the master that
 * sent it, a number that only grows from one leader to the next. The agent keeps the highest it has seen,
 * checkpointed in `<workDir>/meta/epoch.json` (written to a temporary file, flushed, renamed, so a
 * crash leaves the old or the new one), loaded at start, and raised by every reply or message of a
 * newer master. A message of a lower epoch is from a master that a newer one has replaced, which
 * may still believe it leads (a pause, a partition): it is dropped, logged at warn with both
 * epochs, and told to listeners. A reply of a lower epoch counts as no reply (registration.ts).
 *
 * Dropped, not answered. A dropped run gets no status update (no TASK_DROPPED): the master that
 * sent it is deposed and will not act on an answer, the new leader never heard of the task, and an
 * update would enter the reliable stream, resent until acknowledged, for a task no leader placed.
 * Mesos's agents likewise ignore a master that is not the leader. Nothing waits forever for it:
 * the framework asks the new leader about a launch it has not heard of (reconciliation answers
 * TASK_GONE once this agent has re-registered), and it sends kills again to the new leader until
 * it hears the task end; a dropped ack leaves the update unacknowledged, so the agent resends it
 * to whichever master leads.
 *
 * Epoch 0 is "no epoch": a master older than fencing. It is accepted while the agent has never
 * seen an epoch (a cluster not yet upgraded), and dropped once it has: from then on an unfenced
 * master can only be a deposed or stray one. An agent moved to another cluster (or one rebuilt
 * from scratch, whose epochs start again) needs `meta/epoch.json` removed, as the drop warning says.
 */
import { join } from 'path';
import type { Logger } from '../common/log';
import { metaDir, readJson, writeJsonAtomic } from './checkpoint';

/** What a master sent that the fence judged. */
export type FencedKind = 'run' | 'kill' | 'ack' | 'reconcile' | 'registration' | 'heartbeat';

const NAMED: Record<FencedKind, string> = {
  run: 'a run', kill: 'a kill', ack: 'an ack', reconcile: 'a reconcile', registration: 'a registration reply', heartbeat: 'a heartbeat reply',
};

/** One message or reply dropped: what, from which epoch, and the highest the agent had seen. */
export interface FencedDrop {
  what: FencedKind;
  epoch: number;
  highest: number;
}

/**
 * Where the highest epoch is kept between starts: a file for the agent, memory for a simulated
 * agent that has no disk of its own (bench/hollow). `where` names it in the drop warning.
 */
export interface EpochStore {
  readonly where: string;
  /** The highest epoch kept (0: none); throws an EpochCheckpointError on a bad checkpoint. */
  load(): number;
  save(epoch: number): void;
}

/** `<workDir>/meta/epoch.json`, written atomically and flushed. */
export function fileEpochStore(workDir: string): EpochStore {
  const file = join(metaDir(workDir), 'epoch.json');
  return { where: file, load: () => load(file), save: (epoch) => writeJsonAtomic(file, { version: 1, epoch }) };
}

/** Kept only as long as the process runs: for agents that never restart on their own. */
export function memoryEpochStore(): EpochStore {
  let kept = 0;
  return { where: 'memory', load: () => kept, save: (epoch) => { kept = epoch; } };
}

export interface EpochFenceOptions {
  /** The agent's work directory, whose `meta/epoch.json` keeps the epoch; or `store`. */
  workDir?: string;
  store?: EpochStore;
  log: Logger;
  /** Each drop, after it was logged. */
  onDropped?: (drop: FencedDrop) => void;
}

/** A checkpoint that cannot be read: the agent does not start on a guess about who may command it. */
export class EpochCheckpointError extends Error {
  override readonly name = 'EpochCheckpointError';
}

export class EpochFence {
  /** Where the epoch is kept: the checkpoint file, or 'memory'. */
  readonly file: string;
  private readonly store: EpochStore;
  private top: number;

  constructor(private readonly o: EpochFenceOptions) {
    const store = o.store ?? (o.workDir !== undefined ? fileEpochStore(o.workDir) : undefined);
    if (!store) throw new TypeError('an epoch fence needs a work directory or a store');
    this.store = store;
    this.file = store.where;
    this.top = store.load();
  }

  /** The highest epoch this agent has seen (0: none yet). */
  get highest(): number {
    return this.top;
  }

  /**
   * Whether to act on what a master of `epoch` sent: yes for the highest epoch seen or a newer
   * one (which becomes the highest, checkpointed first); no, logged and told, for an older one.
   */
  admit(what: FencedKind, epoch: number, about: object = {}): boolean {
    if (epoch > this.top) {
      this.raise(epoch, what);
      return true;
    }
    if (epoch === this.top) return true;
    const from = epoch === 0 ? 'a master without an epoch (older than fencing)' : `a deposed master (epoch ${epoch} < ${this.top})`;
    this.o.log.warn(`dropped ${NAMED[what]} from ${from}`, {
      ...about, epoch, highest: this.top, checkpoint: this.file,
      hint: `if this cluster was rebuilt from scratch, its epochs start again: remove ${this.file}`,
    });
    this.o.onDropped?.({ what, epoch, highest: this.top });
    return false;
  }

  private raise(epoch: number, what: FencedKind): void {
    const was = this.top;
    this.top = epoch;
    try {
      this.store.save(epoch);
    } catch (err) {
      // Acting on the newer master is right either way; only a restart would forget it.
      this.o.log.error('cannot checkpoint the master epoch; a restart would forget it', { epoch, file: this.file, err });
    }
    this.o.log.info('a newer master epoch', { was, now: epoch, from: what });
  }
}

function load(file: string): number {
  let value: unknown;
  try {
    value = readJson(file);
  } catch (err) {
    throw new EpochCheckpointError(`cannot read the master epoch checkpoint ${file}: ${(err as Error).message}; remove it only if no older master can still be running`, { cause: err });
  }
  if (value === undefined) return 0;
  const epoch = (value as { epoch?: unknown }).epoch;
  if (typeof epoch !== 'number' || !Number.isSafeInteger(epoch) || epoch < 0) {
    throw new EpochCheckpointError(`the master epoch checkpoint ${file} holds ${JSON.stringify(value)}, not {"version": 1, "epoch": N}`);
  }
  return epoch;
}
