/**
 * The master's state, and the few operations several kinds of call share: telling a
 * framework something, rescinding an offer, removing a framework. Plain data and functions
 * over it; the Master class owns one of these and the timers around it.
 */
import { format } from '../common/resources';
import type { Logger } from '../common/log';
import { isTerminal, type MasterInfo, type SchedulerEvent } from '../common/types';
import { AgentTable } from './agents';
import type { MasterConfig } from './config';
import type { MasterLatencies } from './metrics-counters';
import { FilterBook } from './filters';
import { FrameworkTable, type FrameworkRecord } from './frameworks';
import { OfferBook } from './offers';
import type { AgentPort, Authorizer, OfferLogSink, OperatorEventSink } from './ports';
import type { AgentRegistry } from './registry';
import type { RegistryWrites } from './registry-writes';
import { masterStatus, TaskTable } from './tasks';

export interface MasterState {
  readonly config: MasterConfig;
  readonly info: MasterInfo;
  readonly agents: AgentTable;
  readonly frameworks: FrameworkTable;
  readonly tasks: TaskTable;
  readonly offers: OfferBook;
  readonly filters: FilterBook;
  readonly agentPort: AgentPort;
  readonly offerLog: OfferLogSink;
  /** The latency histograms of `/metrics`, observed where each latency ends. */
  readonly latencies: MasterLatencies;
  /** What operators are told changed (GET /api/v1/events). */
  readonly events: OperatorEventSink;
  readonly registry: AgentRegistry;
  /** Every write to the registry goes through here, in order (registry-writes.ts). */
  readonly writes: RegistryWrites;
  /** Decides what an authenticated principal may do; allows all on a master without security. */
  readonly authorizer: Authorizer;
  /** Role weights for DRF (1 when absent): from the config, then as operators set them. */
  readonly weights: Map<string, number>;
  /** Agents an operator marked gone: they may never register again. */
  readonly goneAgents: Set<string>;
  readonly log: Logger;
  /** Asks for an allocation cycle soon: resources or demand were added. */
  readonly allocateSoon: () => void;
}

export function now(s: MasterState): number {
  return s.config.clock.now();
}

/** Sends to a connected framework; a disconnected one misses the event, as in Mesos. */
export function tell(s: MasterState, frameworkId: string, event: SchedulerEvent): boolean {
  const connection = s.frameworks.get(frameworkId)?.connection;
  if (!connection) return false;
  connection.stream.send(event);
  return true;
}

/**
 * Takes an offer back. Its resources are free again at once (free is derived); the framework
 * hears RESCIND if it is still connected, and the offer log says why.
 */
export function rescindOffer(s: MasterState, offerId: string, reason: string): void {
  takeBack(s, offerId, { type: 'RESCINDED', reason });
}

/**
 * An offer nobody answered within `offerTimeoutMs`. The framework hears RESCIND as for any
 * take-back (Mesos does the same), but the log says EXPIRED: an operator asking "why did this
 * framework not use the offer?" needs to tell a silent framework from a master's decision.
 */
export function expireOffer(s: MasterState, offerId: string, timeoutMs: number): void {
  takeBack(s, offerId, { type: 'EXPIRED', timeoutMs });
}

/** An offer removed, its framework told RESCIND, and the offer log told how it went. */
function takeBack(s: MasterState, offerId: string, how: { type: 'RESCINDED'; reason: string } | { type: 'EXPIRED'; timeoutMs: number }): void {
  const record = s.offers.remove(offerId);
  if (!record) return;
  const { offer } = record;
  tell(s, offer.frameworkId, { type: 'RESCIND', offerId });
  s.offerLog.record({
    ...how, at: now(s), offerId, frameworkId: offer.frameworkId, agentId: offer.agentId, role: offer.role, resources: format(offer.resources),
  });
}

/**
 * Records in the registry a change the master already made and answered, without waiting
 * (scheduler calls answer at once). Writes apply in the order they were made; one that fails
 * because Redis is unavailable is kept and retried until it is stored (registry-writes.ts).
 */
export function persist(s: MasterState, what: string, write: () => Promise<void>): void {
  s.writes.defer(what, write);
}


/** Ends a subscription from the master's side: no more events, heartbeats stop. */
export function dropConnection(record: FrameworkRecord): void {
  const connection = record.connection;
  if (!connection) return;
  record.connection = undefined;
  connection.heartbeat.cancel();
  connection.stream.close();
}

/**
 * Removes a framework for good (teardown, or its failover timeout ran out): its offers are
 * rescinded, its tasks killed on their agents and marked TASK_KILLED by the master, so their
 * resources are free at once. Late updates from agents for those tasks are acknowledged by
 * the master itself (see agent-calls.ts).
 */
export function removeFramework(s: MasterState, record: FrameworkRecord, reason: string): void {
  const frameworkId = record.info.id;
  s.log.info('removing framework', { frameworkId, reason });
  for (const { offer } of s.offers.ofFramework(frameworkId)) rescindOffer(s, offer.id, reason);
  dropConnection(record);
  record.failover?.cancel();
  for (const entry of s.tasks.ofFramework(frameworkId)) {
    const { task } = entry;
    if (!isTerminal(task.state)) {
      if (s.agents.has(task.agentId)) {
        s.agentPort.kill(task.agentId, { frameworkId, taskId: task.taskId, killPolicy: task.info?.killPolicy });
      }
      // Kept on the completed task for the operator; nobody is left to receive it.
      s.tasks.update(entry, masterStatus({
        taskId: task.taskId, frameworkId, agentId: task.agentId, state: 'TASK_KILLED',
        reason: 'REASON_FRAMEWORK_REMOVED', message: `framework ${frameworkId} was removed: ${reason}`,
      }, now(s)), now(s));
    }
    s.tasks.complete(frameworkId, task.taskId);
  }
  s.filters.removeFramework(frameworkId);
  s.frameworks.remove(frameworkId);
  s.events.record({ type: 'FRAMEWORK_REMOVED', frameworkId, name: record.info.name, reason });
  persist(s, `remove framework ${frameworkId}`, () => s.registry.removeFramework(frameworkId));
}

