/**
 * The two kinds of failure. A CallError is bad input from a framework or an agent: it says
 * what was wrong, the caller gets it back, and the master's state is untouched. A broken
 * invariant inside the master is a bug: it is a `node:assert` failure and fails loudly.
 */

/** Named after the gRPC status the shell answers with. */
export type CallErrorCode =
  | 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'PERMISSION_DENIED' | 'FAILED_PRECONDITION' | 'UNIMPLEMENTED' | 'UNAVAILABLE';

export class CallError extends Error {
  override readonly name: string = 'CallError';
  constructor(readonly code: CallErrorCode, message: string) {
    super(message);
  }
}

/**
 * A change that needs the registry, refused because the registry cannot be written now (its
 * Redis is down or does not answer): nothing changed in the master; try again. `attempted`:
 * the write was sent before it failed, so it may have landed after all.
 */
export class RegistryUnavailableError extends CallError {
  override readonly name = 'RegistryUnavailableError';
  constructor(message: string, readonly attempted: boolean) {
    super('UNAVAILABLE', message);
  }
}
