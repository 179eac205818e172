/**
 * The master core: one object that owns the state and the timers (allocation cycle, the
 * "allocate soon" nudge) and answers the calls of frameworks and agents. Driven only by
 * method calls and the injected clock; it talks out only through AgentPort, the framework
 * streams it was handed, and the offer-log sink. The work itself lives in the rooms beside
 * it: framework-calls, agent-calls, accept, allocation, reconcile.
 */
import type { Timer } from '../common/clock';
import { newId } from '../common/ids';
import { logger, type Logger } from '../common/log';
import { OPEN_OWNER } from '../common/subjects';
import type { MasterStateView } from '../common/operator-types';
import type { ClusterAgent, FrameworkInfo, MasterInfo } from '../common/types';
import * as agentCalls from './agent-calls';
import * as agentHealth from './agent-health';
import { AgentTable } from './agents';
import { runAllocation, type AllocateFn } from './allocation';
import { allocate as drfAllocate } from './allocator';
import type {
  AcceptCall, AcknowledgeCall, AgentHandler, AgentUsageCall, CallBase, DeclineCall, HeartbeatCall, HeartbeatResult, KillCall, MessageCall, ReconcileCall,
  RegisterAgentCall, RegisterAgentResult, RolesCall, SchedulerApi, StatusUpdateCall, Subscription, UpdateFrameworkCall,
} from './calls';
import { MASTER_VERSION, type MasterConfig } from './config';
import { CallError } from './errors';
import { FilterBook } from './filters';
import * as frameworkCalls from './framework-calls';
import { FrameworkTable } from './frameworks';
import type { MasterCounts, MasterMetrics } from './metrics';
import { countAllocation, CountingTaskTable, countingOfferLog, emptyCounts, newLatencies } from './metrics-counters';
import { metricsView } from './metrics-view';
import { OfferBook } from './offers';
import { noOperatorEvents, taskObserver } from './operator-notes';
import { allowAll, type AgentPort, type Authorizer, type FrameworkStream, type OfferLogSink, type OperatorEventSink } from './ports';
import type { Principal } from '../common/security/credentials';
import { recover, type Recovered } from './recovery';
import { InMemoryRegistry, type AgentRegistry } from './registry';
import { RegistryWrites, type RegistryHealth } from './registry-writes';
import { dropConnection, type MasterState } from './state';
import { stateView } from './state-view';

export interface MasterDeps {
  config: MasterConfig;
  agentPort: AgentPort;
  offerLog: OfferLogSink;
  /** What operators are told changed; dropped when absent. */
  events?: OperatorEventSink;
  registry?: AgentRegistry;
  /** What authenticated principals may do; everything when absent (a master without security). */
  authorizer?: Authorizer;
  /** The allocation policy; DRF (master/allocator) unless a test or benchmark swaps it. */
  allocate?: AllocateFn;
  log?: Logger;
  /**
   * A monotonic stopwatch in milliseconds, for how long allocation cycles take. Only measured,
   * never decided on, so it is not the clock; a test may still fix it.
   */
  stopwatchMs?: () => number;
  /**
   * The lease this master leads under (master/node.ts): `check` throws unless it still holds it,
   * measured on its own monotonic clock. Asked before every call and every allocation, so a
   * leader woken from a pause past its lease does nothing before it notices it was deposed.
   */
  lease?: { check(): unknown };
}

/** Validates an operator's weights: role names and finite weights > 0, or a CallError naming the bad one. */
export function checkWeights(update: Record<string, unknown>): Map<string, number> {
  const out = new Map<string, number>();
  const entries = Object.entries(update);
  if (entries.length === 0) throw new CallError('INVALID_ARGUMENT', 'no weights given: send {"role": weight, ...}');
  for (const [role, w] of entries) {
    if (!role || role.length > 128) throw new CallError('INVALID_ARGUMENT', `role name '${role}' must be 1 to 128 characters`);
    if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0) {
      throw new CallError('INVALID_ARGUMENT', `weight of role '${role}' must be a number > 0, got ${JSON.stringify(w)}`);
    }
    out.set(role, w);
  }
  return out;
}

export class Master implements SchedulerApi, AgentHandler {
  readonly info: MasterInfo;
  readonly startedAt: number;
  private readonly s: MasterState;
  private readonly allocateFn: AllocateFn;
  private readonly counts: MasterCounts = emptyCounts();
  private readonly stopwatchMs: () => number;
  private cycle: Timer | undefined;
  private health: Timer | undefined;
  private soon: Timer | undefined;
  private stopped = false;
  private readonly lease: MasterDeps['lease'];
  /** When the master lost its link to the agents (NATS), while it is lost. */
  private linkLostAt: number | undefined;
  /** Agents are not judged before this (epoch ms): the grace after the link came back. */
  private judgeFrom = 0;
  /** The FencedError that stopped this master (a newer one leads), once one did. */
  private fencedBy: Error | undefined;

  constructor(deps: MasterDeps) {
    const { config } = deps;
    this.info = { id: newId('master'), hostname: config.hostname, httpPort: config.httpPort, grpcPort: config.grpcPort, version: MASTER_VERSION };
    this.startedAt = config.clock.now();
    this.allocateFn = deps.allocate ?? drfAllocate;
    this.stopwatchMs = deps.stopwatchMs ?? (() => performance.now());
    this.lease = deps.lease;
    const events = deps.events ?? noOperatorEvents;
    const registry: AgentRegistry = deps.registry ?? new InMemoryRegistry();
    const log = deps.log ?? logger('master');
    const latencies = newLatencies();
    this.s = {
      config, info: this.info, agents: new AgentTable(), frameworks: new FrameworkTable(), latencies,
      tasks: new CountingTaskTable(this.counts, latencies, taskObserver(events)), events,
      offers: new OfferBook(), filters: new FilterBook(), agentPort: deps.agentPort, offerLog: countingOfferLog(deps.offerLog, this.counts),
      registry, writes: new RegistryWrites({ link: registry.link, clock: config.clock, log, fenced: (err) => { this.fenced(err); return new CallError('UNAVAILABLE', `this master (epoch ${this.epoch}) was fenced: ${err.message}`); } }), authorizer: deps.authorizer ?? allowAll, goneAgents: new Set(), weights: new Map(config.weights), log,
      allocateSoon: () => this.allocateSoon(),
    };
  }

  /** The epoch this master leads with: it fences registry writes, agent messages and offer ids. */
  get epoch(): number {
    return this.s.config.epoch;
  }

  /** Why this master stopped acting, once the registry fenced it; undefined while it leads. */
  get fencedReason(): string | undefined {
    return this.fencedBy?.message;
  }

  /**
   * The registry refused a write as fenced: a master of a newer epoch has written, so this one
   * must not act again — no offer, no message to an agent, no answer but UNAVAILABLE. Its
   * shell exits (as a Mesos master that lost ZooKeeper aborts); until then it stays stopped.
   */
  private fenced(err: Error): void {
    if (this.fencedBy) return;
    this.fencedBy = err;
    this.s.log.error(`FATAL: this master (epoch ${this.epoch}) was fenced and stops acting`, { error: err.message, epoch: this.epoch, fatal: true });
    this.stop();
  }

  /** Whether this master still holds its lease (always, for one that stands alone). */
  private leaseHeld(): boolean {
    try {
      this.lease?.check();
      return true;
    } catch {
      return false;
    }
  }

  /** Records the ports actually bound (0 in the config means "pick one"). */
  setPorts(httpPort: number, grpcPort: number): void {
    this.info.httpPort = httpPort;
    this.info.grpcPort = grpcPort;
  }

  /**
   * Takes over from an earlier master: what its registry holds, read by the shell. Before
   * `start`, so nothing is offered or decided on before the records are back.
   */
  recover(records: Recovered): void {
    if (this.cycle || this.stopped) throw new Error('recover() must come before start()');
    recover(this.s, records);
  }

  /** Starts the periodic allocation cycle. */
  start(): void {
    if (this.cycle || this.stopped) return;
    this.cycle = this.s.config.clock.setInterval(() => this.allocateNow(), this.s.config.allocationIntervalMs);
    this.health = this.s.config.clock.setInterval(() => {
      if (this.linkLostAt !== undefined) return;
      if (this.s.config.clock.now() >= this.judgeFrom) agentHealth.checkAgentHealth(this.s);
      agentHealth.askAboutStaging(this.s);
    }, this.s.config.agentHeartbeatIntervalMs);
  }

  /**
   * The master's own link to the agents (NATS) is gone. It hears no agent now, so their
   * silence proves nothing about them: judging agents and allocating pause until the link is
   * back. Declaring every agent unreachable for the master's own outage would tell frameworks
   * to replace tasks that never stopped.
   */
  agentLinkLost(): void {
    if (this.linkLostAt !== undefined || this.stopped) return;
    this.linkLostAt = this.s.config.clock.now();
    this.s.log.warn('lost the link to the agents (NATS); agent health and allocation paused until it is back');
  }

  /**
   * The link is back: allocation resumes, and agents are judged again only after
   * `agentReconnectGraceMs` (at least one agent timeout), time for them to reconnect too. One
   * still silent then is unreachable at once: it was not heard through the grace either.
   */
  agentLinkRestored(): void {
    if (this.linkLostAt === undefined || this.stopped) return;
    const { clock, agentReconnectGraceMs, agentHeartbeatIntervalMs, agentMaxMissedHeartbeats } = this.s.config;
    const at = clock.now();
    this.judgeFrom = at + Math.max(agentReconnectGraceMs, agentHeartbeatIntervalMs * agentMaxMissedHeartbeats);
    this.s.log.info('the link to the agents (NATS) is back; agent health and allocation resume', { outageMs: at - this.linkLostAt });
    this.linkLostAt = undefined;
    this.allocateSoon();
  }

  /** Cancels every timer and closes every framework stream; the master answers nothing after. */
  stop(): void {
    this.stopped = true;
    this.s.writes.stop();
    this.cycle?.cancel();
    this.health?.cancel();
    this.soon?.cancel();
    for (const f of this.s.frameworks.all()) {
      f.failover?.cancel();
      dropConnection(f);
    }
    for (const { offer } of this.s.offers.all()) this.s.offers.remove(offer.id);
  }

  /** One allocation cycle, now. */
  allocateNow(): void {
    // Without the link no run message would reach an agent, and what is free is unknown.
    if (this.stopped || this.linkLostAt !== undefined || !this.leaseHeld()) return;
    const started = this.stopwatchMs();
    runAllocation(this.s, this.allocateFn);
    countAllocation(this.counts, this.s.latencies, (this.stopwatchMs() - started) / 1000);
  }

  /**
   * Resources or demand were added: allocate on the next turn rather than wait up to a whole
   * interval. Nudges coalesce, so a burst of registrations costs one cycle.
   */
  private allocateSoon(): void {
    if (this.soon || this.stopped) return;
    this.soon = this.s.config.clock.setTimeout(() => {
      this.soon = undefined;
      this.allocateNow();
    }, 0);
  }

  state(): MasterStateView {
    return stateView(this.s, this.startedAt);
  }

  /**
   * Where a task's sandbox is served: its agent's HTTP address, for a task the master holds
   * or recently completed. A task the master no longer holds (pushed out of the completed
   * ones, or from before a failover) is looked for on `agentId`, where the caller says it ran:
   * that agent keeps the sandbox until its own garbage collection, and answers 404 if it has
   * none. Undefined when neither the task nor that agent is known.
   */
  sandboxOf(frameworkId: string, taskId: string, agentId?: string): { agentId: string; hostname: string; port: number } | undefined {
    const record = this.s.tasks.get(frameworkId, taskId)
      ?? [...this.s.tasks.completed()].reverse().find((r) => r.task.frameworkId === frameworkId && r.task.taskId === taskId);
    const at = record ? record.task.agentId : agentId;
    const agent = at === undefined ? undefined : this.s.agents.get(at);
    return agent && { agentId: agent.info.id, hostname: agent.info.hostname, port: agent.info.port };
  }

  /** The principal a framework the master knows belongs to ('' on a master without security). */
  frameworkPrincipal(frameworkId: string): string | undefined {
    return this.s.frameworks.get(frameworkId)?.info.principal;
  }

  /** Whether the registry takes writes now, and what waits to be written (`/health`, `/metrics`). */
  registryHealth(): RegistryHealth {
    return this.s.writes.health();
  }

  /** Resolves once the registry writes queued before `stop` are done, or wait for a Redis that is away. */
  registrySettled(): Promise<void> {
    return this.s.writes.settled();
  }

  /** The numbers behind `GET /metrics` (rendered by metrics.ts). */
  metrics(): MasterMetrics {
    return metricsView(this.s, this.startedAt, this.counts, this.leaseHeld() && !this.fencedBy && !this.stopped);
  }

  // ---------------------------------------------------------------- frameworks

  /** Before `subscribe`: a framework the master does not know is stored first, or refused (framework-calls.ts). */
  admitFramework(info: FrameworkInfo, principal?: Principal): Promise<FrameworkInfo> {
    this.checkRunning();
    return frameworkCalls.admitFramework(this.s, info, principal);
  }

  subscribe(info: FrameworkInfo, stream: FrameworkStream, principal?: Principal, admitted?: boolean): Subscription {
    this.checkRunning();
    return frameworkCalls.subscribe(this.s, info, stream, principal, admitted);
  }

  disconnect(frameworkId: string, streamId: string): void {
    if (!this.stopped) frameworkCalls.disconnect(this.s, frameworkId, streamId);
  }

  accept(call: AcceptCall): void { this.checkRunning(); frameworkCalls.accept(this.s, call); }
  decline(call: DeclineCall): void { this.checkRunning(); frameworkCalls.decline(this.s, call); }
  revive(call: RolesCall): void { this.checkRunning(); frameworkCalls.revive(this.s, call); }
  suppress(call: RolesCall): void { this.checkRunning(); frameworkCalls.suppress(this.s, call); }
  kill(call: KillCall): void { this.checkRunning(); frameworkCalls.kill(this.s, call); }
  acknowledge(call: AcknowledgeCall): void { this.checkRunning(); frameworkCalls.acknowledge(this.s, call); }
  reconcile(call: ReconcileCall): void { this.checkRunning(); frameworkCalls.reconcile(this.s, call); }
  teardown(call: CallBase): Promise<void> { this.checkRunning(); return frameworkCalls.teardown(this.s, call); }
  updateFramework(call: UpdateFrameworkCall): void { this.checkRunning(); frameworkCalls.updateFramework(this.s, call); }
  getAgents(call: CallBase): ClusterAgent[] { this.checkRunning(); return frameworkCalls.getAgents(this.s, call); }

  /** Agents have no channel for framework messages yet; saying so beats dropping them. */
  message(call: MessageCall): void {
    this.checkRunning();
    frameworkCalls.authorize(this.s, call);
    throw new CallError('UNIMPLEMENTED', 'framework-to-executor messages are not supported yet');
  }

  // ---------------------------------------------------------------- agents

  // `sender`: the owner named by the NATS subject; in-process callers (tests) leave it out.

  registerAgent(call: RegisterAgentCall, sender?: string): Promise<RegisterAgentResult> {
    this.checkRunning();
    return agentCalls.registerAgent(this.s, call, sender);
  }

  agentHeartbeat(call: HeartbeatCall, sender?: string): HeartbeatResult {
    this.checkRunning();
    return agentCalls.agentHeartbeat(this.s, call, sender);
  }

  unregisterAgent(agentId: string, reason: string, sender?: string): Promise<void> {
    this.checkRunning();
    return agentCalls.unregisterAgent(this.s, agentId, reason, sender);
  }

  agentOwner(agentId: string): string {
    const agent = this.s.agents.get(agentId);
    return agent ? agentCalls.ownerOf(agent.info) : OPEN_OWNER;
  }

  /** Role weights as the allocator sees them. */
  weights(): Record<string, number> {
    return Object.fromEntries(this.s.weights);
  }

  /**
   * An operator's call (Mesos UPDATE_WEIGHTS): sets the weights of the roles given, all or
   * nothing, persists them, and allocates soon with them. A bad entry changes nothing.
   */
  async updateWeights(update: Record<string, unknown>): Promise<void> {
    this.checkRunning();
    const checked = checkWeights(update);
    const all = Object.fromEntries([...this.s.weights, ...checked]);
    await this.s.writes.write('save role weights', () => this.s.registry.saveWeights(all));
    for (const [role, w] of checked) this.s.weights.set(role, w);
    this.s.log.info('role weights updated', Object.fromEntries(checked));
    this.allocateSoon();
  }

  /** An operator's call: the agent is gone for good (Mesos MARK_AGENT_GONE). */
  markAgentGone(agentId: string): Promise<void> {
    this.checkRunning();
    return agentCalls.markAgentGone(this.s, agentId);
  }

  statusUpdate(call: StatusUpdateCall, sender?: string): void {
    if (!this.stopped) agentCalls.statusUpdate(this.s, call, sender);
  }

  agentUsage(call: AgentUsageCall, sender?: string): void {
    if (!this.stopped) agentCalls.agentUsage(this.s, call, sender);
  }

  private checkRunning(): void {
    if (!this.leaseHeld()) throw new CallError('UNAVAILABLE', `this master (epoch ${this.epoch}) no longer holds its lease; ask the leader`);
    if (this.fencedBy) throw new CallError('UNAVAILABLE', `this master (epoch ${this.epoch}) was fenced: ${this.fencedBy.message}`);
    if (this.stopped) throw new CallError('UNAVAILABLE', 'the master is stopping');
  }
}
