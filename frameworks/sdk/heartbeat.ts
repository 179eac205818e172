/**
 * The heartbeat watch: a connection that carries no event for longer than its timeout counts
 * as lost. The master sends HEARTBEAT every `heartbeatIntervalMs` precisely so that silence
 * means something: a master that hangs, or a network that drops packets without resetting
 * the connection, leaves a TCP stream open that no error will ever end. Without the watch a
 * framework would wait on such a stream forever, never failing over to another master.
 *
 * Time comes from a `Clock`, so tests drive a FakeClock. One timer at a time: an event only
 * moves `lastSeenAt`; when the timer falls due it either fires or sleeps for what is left,
 * so a busy stream costs no timer churn.
 */
import type { Clock, Timer } from '../../common/clock';

export class HeartbeatWatch {
  private lastSeenAt = 0;
  private timeoutMs = 0;
  private timer: Timer | undefined;

  /** `onSilent` runs once per `start`, with how long the connection was silent. */
  constructor(private readonly clock: Clock, private readonly onSilent: (silentMs: number) => void) {}

  /** Watches from now: silence of `timeoutMs` or more calls `onSilent`. Restarts a running watch. */
  start(timeoutMs: number): void {
    if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) throw new RangeError(`heartbeat timeout must be a positive number of ms, got ${timeoutMs}`);
    this.stop();
    this.timeoutMs = timeoutMs;
    this.lastSeenAt = this.clock.now();
    this.timer = this.clock.setTimeout(() => this.check(), timeoutMs);
  }

  /** Something arrived: the connection is alive. */
  saw(): void {
    this.lastSeenAt = this.clock.now();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  get watching(): boolean {
    return this.timer !== undefined;
  }

  private check(): void {
    const silentMs = this.clock.now() - this.lastSeenAt;
    if (silentMs >= this.timeoutMs) {
      this.timer = undefined;
      this.onSilent(silentMs);
    } else {
      this.timer = this.clock.setTimeout(() => this.check(), this.timeoutMs - silentMs);
    }
  }
}
