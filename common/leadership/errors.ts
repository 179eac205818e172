/** The typed errors of leader election: each says what was wrong and what would be right. */

/** Why an effect was refused: this candidate is not the leader, or its lease ran out. */
export type FenceReason = 'not-leader' | 'lease-expired';

/**
 * Thrown by `check()` when this candidate may not act: it is a standby, or it led but its
 * lease ran out before a renewal got through (a pause, a partition). Whatever was about to
 * happen must not happen.
 */
export class FencedError extends Error {
  override readonly name = 'FencedError';

  constructor(
    readonly group: string,
    readonly reason: FenceReason,
    /** The epoch this candidate last led with, if it ever led. */
    readonly epoch: number | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** A bad election option, named with its value and what it must be; nothing was started. */
export class ElectionConfigError extends Error {
  override readonly name = 'ElectionConfigError';

  constructor(readonly option: string, readonly value: unknown, expected: string) {
    super(`invalid election option ${option}=${JSON.stringify(value)}: ${expected}`);
  }
}

/** The lease store could not be set up or read when joining; `cause` is the NATS error. */
export class ElectionError extends Error {
  override readonly name = 'ElectionError';
}
