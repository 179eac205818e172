/**
 * The Scheduler's public types besides the class itself: how a decline is filtered and
 * explained, and the events a Scheduler emits with the arguments its listeners get.
 */
import type { Filters, Offer, SchedulerEvent, TaskStatus } from '../../common/types';

/** How a decline is filtered and explained: `refuseMs` as in Filters, and a reason for people. */
export interface DeclineOptions extends Filters {
  /**
   * Why, in a few words ("needs a GPU", "waiting for rack r7"): it is shown in the master's
   * offer log (`agora offers`), where operators look when work does not start. The master
   * keeps at most 500 characters of it. Absent: "declined by framework".
   */
  reason?: string;
}

/** What a Scheduler emits, with the arguments its listeners get. */
export type SchedulerEvents = {
  /** Every event, in order (HEARTBEAT included). */
  event: [SchedulerEvent];
  offers: [Offer[]];
  /** An offer is void: rescinded by the master. */
  rescind: [string];
  /** A task's status changed. */
  update: [TaskStatus];
  /** A call the SDK made on its own (an acknowledgement, the reconciliation after reconnecting) failed, or the master reported an error. */
  error: [Error];
  /** The subscription is over: with the error that ended it, or none after `close()`. */
  closed: [Error | undefined];
  /** The stream to the master was lost; the SDK is subscribing again. */
  disconnected: [Error];
  /** Subscribed again under the same framework id, to this gRPC address. */
  resubscribed: [string];
};
