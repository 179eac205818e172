/**
 * Where the cluster's agents are, for a framework's API and UI: asked of the master on the
 * framework's own subscription (the SDK's `agents()`, under the framework's `view` right),
 * never read from the operators' state API.
 */
import type { Scheduler } from '../sdk';
import { ApiError } from './http';

/** An agent and the HTTP address it serves sandbox files at. */
export interface AgentAddress {
  id: string;
  hostname: string;
  port: number;
}

/** The agents the master knows now; 503 while the framework is not subscribed (the master is away). */
export async function agentAddresses(scheduler: Scheduler | undefined): Promise<AgentAddress[]> {
  if (!scheduler?.connected) {
    throw new ApiError(503, { message: 'not subscribed to the master now: where the agents are is not known until it is back' });
  }
  return (await scheduler.agents()).map(({ id, hostname, port }) => ({ id, hostname, port }));
}
