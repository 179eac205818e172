/**
 * The two kinds of failure. A CallError is bad input from a framework or an agent: it says
 * what was wrong, the caller gets it back, and the master's state is untouched. A broken
 * invariant inside the master is a bug: it is a `node:assert` failure and fails loudly.
 */

/** Named after the gRPC status the shell answers with. */
export type CallErrorCode =
  | 'INVALID_ARGUMENT' | 'NOT_FOUND' | 'PERMISSION_DENIED' | 'FAILED_PRECONDITION' | 'UNIMPLEMENTED' | 'UNAVAILABLE';

export class CallError extends Error {
  override readonly name = 'CallError';
  constructor(readonly code: CallErrorCode, message: string) {
    super(message);
  }
}
