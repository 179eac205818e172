import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { LEADER_METADATA_KEY } from '../../common/scheduler-service';


/**
 * A call the master refused or could not take: `code` is the gRPC status name. `leader`: the
 * gRPC address a standby master named as the leader's, when it was one.
 */
export class SchedulerCallError extends Error {
  override readonly name = 'SchedulerCallError';
  constructor(
    readonly call: string,
    readonly code: string,
    message: string,
    options?: { cause?: unknown; leader?: string },
  ) {
    super(`${call} failed (${code}): ${message}`, options);
    this.leader = options?.leader;
  }

  readonly leader: string | undefined;

  static from(call: string, err: ServiceError): SchedulerCallError {
    const code = GrpcStatus[err.code] ?? String(err.code);
    const hint = err.metadata?.get(LEADER_METADATA_KEY)[0];
    return new SchedulerCallError(call, code, err.details || err.message, { cause: err, ...(typeof hint === 'string' && hint ? { leader: hint } : {}) });
  }
}

/** The subscription ended, or never started, or a call was made while it was not live. */
export class SubscriptionError extends Error {
  override readonly name = 'SubscriptionError';
}

/**
 * Bad input to the SDK itself (an option, a constraint, a task spec), caught before anything
 * is sent: `argument` names what was wrong, the message says what would be right.
 */
export class InvalidArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';
  constructor(readonly argument: string, message: string) {
    super(`${argument}: ${message}`);
  }
}

/**
 * A sandbox read the master refused or could not relay: `status` is the master's HTTP status
 * (404: no such task of this framework, or no such file; 403: the framework's principal may
 * not read it; 400: a bad file name; 502: the task's agent cannot be reached), 0 when the
 * master itself could not be reached.
 */
export class SandboxReadError extends Error {
  override readonly name = 'SandboxReadError';
  constructor(
    readonly taskId: string,
    readonly file: string,
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot read ${file} of task ${taskId}: ${message}`, options);
  }
}
