/**
 * Reliable status updates: every update a task produces reaches the master at least once,
 * in order per task.
 *
 * One stream per task (framework id + task id). Only the head of a stream is in flight: it
 * is sent at once and resent with backoff (10 s, doubling, capped at 10 min) until an
 * acknowledgement with its uuid arrives; only then is the next update of that task sent.
 * Sending the next update early would let a framework see RUNNING after FINISHED if the
 * first copy of RUNNING were lost and resent. Streams of different tasks do not wait on
 * each other.
 *
 * Pending updates are checkpointed before they are sent, so an agent that restarts can
 * resend what the framework has not acknowledged. Checkpoints are group commits: every
 * change made before the `batch` callback runs shares one write, and only then do the
 * updates it covers go out. Writing (and fsyncing) the whole pending set once per update
 * was most of an agent's CPU under launch load. An acknowledgement needs no write of its
 * own before anything happens: a checkpoint that lags behind an ack can only make a
 * restarted agent resend an update, which at-least-once delivery allows.
 *
 * This core knows no NATS: `send`, `checkpoint` and `batch` are handed in, and time comes
 * from the injected clock.
 */
import assert from 'assert';
import type { Clock, Timer } from '../common/clock';
import { logger, type Logger } from '../common/log';
import { isTerminal, type TaskStatus } from '../common/types';

export interface StatusUpdateOptions {
  clock: Clock;
  /** Puts one update on the wire; called again with the same update for every resend. */
  send(frameworkId: string, status: TaskStatus): void;
  /** Persists the pending updates; called once per commit, before the commit's sends. */
  checkpoint?(snapshot: StatusCheckpoint): void;
  /**
   * Runs `commit` when the changes of this moment are complete, e.g. `setImmediate`, so
   * that a burst of updates is checkpointed once. Default: at once, one commit per change.
   */
  batch?(commit: () => void): void;
  initialBackoffMs: number;
  maxBackoffMs: number;
  /** A task's terminal update was acknowledged and its stream is empty: nothing more will come. */
  onStreamClosed?(frameworkId: string, taskId: string): void;
  log?: Logger;
}

export interface StatusCheckpoint {
  version: 1;
  streams: { frameworkId: string; taskId: string; pending: TaskStatus[] }[];
}

export type AckResult = 'acknowledged' | 'unknown-task' | 'unexpected-uuid';

interface Stream {
  readonly frameworkId: string;
  readonly taskId: string;
  readonly pending: TaskStatus[];
  backoffMs: number;
  timer: Timer | undefined;
}

const keyOf = (frameworkId: string, taskId: string) => `${frameworkId}\u0000${taskId}`;

export class StatusUpdateManager {
  private readonly streams = new Map<string, Stream>();
  private readonly log: Logger;
  private stopped = false;
  /** Changes not yet checkpointed. */
  private dirty = false;
  /** Streams whose head waits for the next commit to be sent. */
  private readonly ready = new Set<Stream>();
  private commitScheduled = false;

  constructor(private readonly opts: StatusUpdateOptions) {
    assert(opts.initialBackoffMs > 0 && opts.maxBackoffMs >= opts.initialBackoffMs, 'status update backoff must be 0 < initial ≤ max');
    this.log = opts.log ?? logger('agent/status-updates');
  }

  /** Queues an update behind the task's unacknowledged ones; sends it now if there are none. */
  update(status: TaskStatus): void {
    assert(!this.stopped, 'status update after stop');
    assert(status.uuid !== '', 'an agent status update needs a uuid to be acknowledged');
    assert(status.taskId !== '' && status.frameworkId !== '', 'a status update names its task and framework');
    const key = keyOf(status.frameworkId, status.taskId);
    let stream = this.streams.get(key);
    if (!stream) {
      stream = { frameworkId: status.frameworkId, taskId: status.taskId, pending: [], backoffMs: this.opts.initialBackoffMs, timer: undefined };
      this.streams.set(key, stream);
    }
    stream.pending.push(status);
    if (stream.pending.length === 1) this.ready.add(stream);
    this.changed();
  }

  /** Handles an acknowledgement; anything but the uuid of the update in flight changes nothing. */
  acknowledge(frameworkId: string, taskId: string, uuid: string): AckResult {
    const stream = this.streams.get(keyOf(frameworkId, taskId));
    if (!stream) return 'unknown-task';
    const head = stream.pending[0];
    assert(head, 'an open stream has an update in flight');
    if (head.uuid !== uuid) return 'unexpected-uuid';
    stream.timer?.cancel();
    stream.timer = undefined;
    stream.pending.shift();
    stream.backoffMs = this.opts.initialBackoffMs;
    if (stream.pending.length === 0) this.streams.delete(keyOf(frameworkId, taskId));
    if (stream.pending.length > 0) this.ready.add(stream);
    else if (isTerminal(head.state)) this.opts.onStreamClosed?.(frameworkId, taskId);
    this.changed();
    return 'acknowledged';
  }

  /** Resends every update in flight now, with a fresh backoff: a (new) master just heard from us. */
  flush(): void {
    for (const stream of this.streams.values()) {
      if (this.ready.has(stream)) continue;   // not checkpointed yet: the commit sends it
      stream.timer?.cancel();
      stream.backoffMs = this.opts.initialBackoffMs;
      this.transmit(stream);
    }
  }

  /** Puts checkpointed streams back and sends their heads: for an agent that recovers. */
  restore(snapshot: StatusCheckpoint): void {
    assert(snapshot.version === 1, `unknown status checkpoint version ${String(snapshot.version)}`);
    for (const s of snapshot.streams) for (const status of s.pending) this.update(status);
  }

  /** The unacknowledged updates of each task, oldest first. */
  snapshot(): StatusCheckpoint {
    return {
      version: 1,
      streams: [...this.streams.values()].map((s) => ({ frameworkId: s.frameworkId, taskId: s.taskId, pending: [...s.pending] })),
    };
  }

  /** The task's unacknowledged updates, oldest first (empty when all are acknowledged). */
  pendingOf(frameworkId: string, taskId: string): readonly TaskStatus[] {
    return [...(this.streams.get(keyOf(frameworkId, taskId))?.pending ?? [])];
  }

  /** Stops resending. What is pending stays in the checkpoint for the next start. */
  stop(): void {
    if (this.dirty) this.save();
    this.stopped = true;
    for (const s of this.streams.values()) {
      s.timer?.cancel();
      s.timer = undefined;
    }
  }

  private transmit(stream: Stream): void {
    const head = stream.pending[0];
    assert(head, 'transmit needs an update in flight');
    try {
      this.opts.send(stream.frameworkId, head);
    } catch (err) {
      // The resend timer below is the recovery: a failed send is a lost message.
      this.log.warn('cannot send status update; will resend', { taskId: stream.taskId, err });
    }
    const delay = stream.backoffMs;
    stream.backoffMs = Math.min(stream.backoffMs * 2, this.opts.maxBackoffMs);
    stream.timer = this.opts.clock.setTimeout(() => {
      stream.timer = undefined;
      if (this.stopped || stream.pending[0] !== head) return;
      this.log.info('resending unacknowledged status update', { taskId: stream.taskId, state: head.state, uuid: head.uuid });
      this.transmit(stream);
    }, delay);
  }

  private changed(): void {
    this.dirty = true;
    if (this.commitScheduled) return;
    this.commitScheduled = true;
    const batch = this.opts.batch ?? ((commit: () => void) => commit());
    batch(() => this.commit());
  }

  /** One checkpoint write for everything changed since the last commit, then the sends it covers. */
  private commit(): void {
    this.commitScheduled = false;
    if (this.dirty) this.save();
    const ready = [...this.ready];
    this.ready.clear();
    if (this.stopped) return;
    for (const stream of ready) if (stream.pending.length > 0 && !stream.timer) this.transmit(stream);
  }

  private save(): void {
    this.dirty = false;
    if (!this.opts.checkpoint) return;
    // A failed checkpoint is logged, not thrown: the update still goes out now; only a
    // crash before the next successful write could lose it.
    try {
      this.opts.checkpoint(this.snapshot());
    } catch (err) {
      this.log.error('cannot checkpoint status updates', { err });
    }
  }
}
