/**
 * The scheduler client: a framework's connection to the master over gRPC.
 *
 *   const s = await subscribe({ framework: { name: 'hello' } });
 *   s.on('offers', (offers) => …);   // or: for await (const e of s.events()) …
 *   await s.launch(offer, [task(...)]);
 *
 * One `Subscribe` stream carries the events; every other call is unary and presents the
 * framework id and stream id from SUBSCRIBED.
 *
 * The stream counts as lost when it breaks, ends, or carries no event for
 * `maxMissedHeartbeats` heartbeat intervals (a hung master or a silent network would
 * otherwise keep it open forever). A lost stream is followed by a new subscription under the
 * same framework id, unless `reconnect: false`, to each master in turn (masters.ts).
 *
 * Status updates that carry a uuid are acknowledged automatically unless
 * `autoAcknowledge: false`: with `events()`, once the consumer asks for the next event (it is
 * done with this one); otherwise once the listeners have run. An update the framework never
 * got to is never acknowledged, so the agent sends it again: nothing acknowledged is lost.
 */
import { EventEmitter } from 'events';
import { makeGenericClientConstructor, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { Timer } from '../../common/clock';
import { clusterAgentsFromWire, eventFromWire, filtersToWire, frameworkInfoToWire, killPolicyToWire, operationToWire } from '../../common/codec';
import type { agora } from '../../common/proto';
import { schedulerService, type ActionCall, type UnaryCall } from '../../common/scheduler-service';
import type { ClusterAgent, Filters, FrameworkInfo, Offer, SchedulerEvent, TaskInfo, TaskStatus } from '../../common/types';
import { InvalidArgumentError, SchedulerCallError, SubscriptionError } from './errors';
import { HeartbeatWatch } from './heartbeat';
import { grpcAddress, masterAddress, masterAt, type MasterAddress } from '../../common/operator-client';
import { GrpcTargets } from './masters';
import { compileOptions, type SchedulerConfig, type SubscribeOptions } from './options';
import { hostOf, readSandbox, sandboxSize, type SandboxChunk, type SandboxRange, type SandboxTarget } from './sandbox';
import { channelCredentials } from '../../common/security/grpc-auth';
import type { DeclineOptions, SchedulerEvents } from './scheduler-types';

export type { DeclineOptions, SchedulerEvents } from './scheduler-types';

interface Buffered {
  event: SchedulerEvent;
  /** Already acknowledged, when it reached the listeners before anyone iterated. */
  acked: boolean;
}

const SchedulerGrpcClient = makeGenericClientConstructor(schedulerService, 'Scheduler');
type Unary = (req: unknown, cb: (err: ServiceError | null, answer?: unknown) => void) => void;
type EventStream = ClientReadableStream<agora.v1.Event>;

/** A framework's subscription to the master: its events, and the calls it makes. Made by `subscribe`. */
export class Scheduler extends EventEmitter<SchedulerEvents> {
  /** The framework's id, from SUBSCRIBED; the same after every reconnection. */
  frameworkId = '';
  /** The id of the live subscription, presented with every call. */
  streamId = '';
  /** How often the master sends HEARTBEAT, from SUBSCRIBED. */
  heartbeatIntervalMs = 0;
  private closed = false;
  private closeError: Error | undefined;
  private readonly buffer: Buffered[] = [];
  private wake: (() => void) | undefined;
  private iterating = false;

  private client: Client;
  /** The stream in use; undefined between losing one and opening the next. */
  private stream: EventStream | undefined;
  /** SUBSCRIBED arrived on the stream in use. */
  private live = false;
  private readonly targets: GrpcTargets;
  /** The gRPC address of the current client: its host serves the master's HTTP too. */
  private target: string;
  /** The master's HTTP port, from the latest SUBSCRIBED; 0 before one arrived. */
  private masterHttpPort = 0;
  private attempt = 0;
  private retry: Timer | undefined;
  private readonly watch: HeartbeatWatch;

  private constructor(private readonly config: SchedulerConfig, target: string, masters: MasterAddress | undefined) {
    super();
    this.targets = new GrpcTargets([target, ...(config.reconnect?.grpcAddresses ?? [])], config.reconnect ? masters : undefined);
    this.target = target;
    this.client = new SchedulerGrpcClient(target, channelCredentials(config.credentials));
    this.watch = new HeartbeatWatch(config.clock, (silentMs) => this.silent(silentMs));
  }

  /** Subscribes and resolves once SUBSCRIBED arrives. */
  static async subscribe(opts: SubscribeOptions): Promise<Scheduler> {
    const config = compileOptions(opts);
    const masters = opts.grpcAddress ? undefined : masterAddress(opts.master, config.credentials);
    const s = new Scheduler(config, opts.grpcAddress ?? (await grpcAddress(masters!)), masters);
    // A standby names the leader: go there; bounded, so an election in flux ends in a refusal.
    for (let hops = 0; ; hops++) {
      try {
        await s.open();
        return s;
      } catch (err) {
        s.client.close();
        const leader = err instanceof SchedulerCallError ? err.leader : undefined;
        if (!leader || hops >= 3) throw err;
        s.target = leader;
        s.client = new SchedulerGrpcClient(leader, channelCredentials(config.credentials));
      }
    }
  }

  /** True while subscribed: calls can be made. False while reconnecting and once closed. */
  get connected(): boolean {
    return this.live && !this.closed;
  }

  /** Opens a stream on the current client; resolves on its SUBSCRIBED, rejects if it breaks first, then its loss goes to `lost`. */
  private open(): Promise<void> {
    const stream = openStream(this.client, { ...this.config.framework, id: this.frameworkId || this.config.framework.id });
    this.stream = stream;
    // Subscribing again: a master that takes the connection but never answers is as lost as
    // one that refuses it. (The first subscription has no heartbeat interval to go by yet.)
    if (this.heartbeatIntervalMs > 0) this.watch.start(this.heartbeatTimeoutMs());
    return new Promise((resolve, reject) => {
      let subscribed = false;
      const broke = (e: Error): void => {
        if (!subscribed) reject(e);
        else this.lost(stream, e);
      };
      stream.on('data', (wire: agora.v1.Event) => {
        if (stream !== this.stream) return;   // one we gave up on
        this.watch.saw();
        const event = eventFromWire(wire);
        if (!event) return;   // a newer master's event type: skip it
        if (event.type === 'SUBSCRIBED') {
          this.frameworkId = event.frameworkId;
          this.streamId = event.streamId;
          this.heartbeatIntervalMs = event.heartbeatIntervalMs;
          this.masterHttpPort = event.master?.httpPort ?? 0;
          this.live = true;
          if (event.heartbeatIntervalMs > 0) this.watch.start(this.heartbeatTimeoutMs());
          else this.watch.stop();   // a master that sends no heartbeats cannot be watched by them
          if (!subscribed) { subscribed = true; resolve(); }
        }
        this.dispatch(event);
      });
      stream.on('error', (err: ServiceError) => {
        if (this.closed) return;   // our own close() cancelled the stream
        broke(SchedulerCallError.from('Subscribe', err));
      });
      stream.on('end', () => broke(new SubscriptionError('the master ended the subscription')));
    });
  }

  private heartbeatTimeoutMs(): number {
    return this.heartbeatIntervalMs * this.config.maxMissedHeartbeats;
  }

  private silent(silentMs: number): void {
    const what = this.live ? 'no event from the master' : 'no answer from the master to subscribing again';
    this.lost(this.stream, new SubscriptionError(
      `${what} for ${silentMs} ms (${this.config.maxMissedHeartbeats} heartbeat intervals of ${this.heartbeatIntervalMs} ms): the connection counts as lost`));
  }

  /**
   * `stream` broke, ended or went silent. Without `reconnect` the subscription is over; with
   * it, the SDK subscribes again with its framework id after a growing delay, to the next
   * address, until it is back or the master says the framework is gone for good.
   */
  private lost(stream: EventStream | undefined, err: Error): void {
    if (this.closed || !stream || stream !== this.stream) return;   // already given up on
    this.stream = undefined;
    this.live = false;
    this.watch.stop();
    stream.cancel();
    this.client.close();
    const reconnect = this.config.reconnect;
    if (!reconnect) return this.finish(err);
    if (err instanceof SchedulerCallError && err.code === 'FAILED_PRECONDITION') return this.finish(err);
    if (this.attempt === 0) this.emit('disconnected', err);
    // A standby named the leader: straight there. Otherwise the addresses in turn, backing off.
    const leader = err instanceof SchedulerCallError ? err.leader : undefined;
    const delay = leader ? reconnect.initialDelayMs : Math.min(reconnect.initialDelayMs * 2 ** this.attempt, reconnect.maxDelayMs);
    const target = leader ?? this.targets.at(this.attempt);
    this.attempt++;
    this.retry = this.config.clock.setTimeout(() => this.resubscribe(target), delay);
  }

  private resubscribe(target: string): void {
    this.retry = undefined;
    if (this.closed) return;
    this.target = target;
    this.client = new SchedulerGrpcClient(target, channelCredentials(this.config.credentials));
    const opened = this.open();
    const stream = this.stream;
    opened.then(() => {
      this.attempt = 0;
      this.emit('resubscribed', target);
      // What happened while away: the master answers with the state of every task it knows.
      this.reconcile().catch((e: Error) => this.emitError(e));
    }, (e: Error) => this.lost(stream, e));
  }

  private dispatch(event: SchedulerEvent): void {
    if (this.iterating && this.buffer.length >= this.config.maxBufferedEvents) {
      this.finish(new SubscriptionError(`more than ${this.config.maxBufferedEvents} events unread: read events() faster or raise maxBufferedEvents`));
      return;
    }
    const entry: Buffered = { event, acked: false };
    this.buffer.push(entry);
    if (!this.iterating && this.buffer.length > this.config.replayWindow) this.buffer.shift();
    this.wake?.();
    this.emit('event', event);
    if (event.type === 'OFFERS') this.emit('offers', event.offers);
    else if (event.type === 'RESCIND') this.emit('rescind', event.offerId);
    else if (event.type === 'UPDATE') {
      this.emit('update', event.status);
      // With a reader on events(), the reader decides when it is done with the update.
      if (!this.iterating) { this.autoAck(event); entry.acked = true; }
    } else if (event.type === 'ERROR') this.emitError(new SubscriptionError(`master reported an error: ${event.message}`));
  }

  private autoAck(event: SchedulerEvent): void {
    if (this.config.autoAcknowledge && event.type === 'UPDATE' && event.status.uuid && !this.closed) {
      this.acknowledge(event.status).catch((err: Error) => this.emitError(err));
    }
  }

  private emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private finish(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.live = false;
    this.retry?.cancel();
    this.retry = undefined;
    this.watch.stop();
    this.closeError = err;
    this.wake?.();
    this.emit('closed', err);
    this.stream?.cancel();   // harmless on a stream that already ended
    this.stream = undefined;
    this.client.close();
  }

  /**
   * Every event, in order, as an async iterator: first the ones kept since SUBSCRIBED (up to
   * `replayWindow`), then each as it comes. One reader at a time. Ends when the subscription
   * closes; throws if it closed with an error.
   */
  async *events(): AsyncGenerator<SchedulerEvent> {
    this.iterating = true;
    for (;;) {
      const next = this.buffer.shift();
      if (next) {
        yield next.event;
        // Asked for the next one: the reader is done with this one.
        if (!next.acked) this.autoAck(next.event);
        continue;
      }
      if (this.closed) {
        if (this.closeError) throw this.closeError;
        return;
      }
      await new Promise<void>((r) => { this.wake = r; });
      this.wake = undefined;
    }
  }

  private call(name: ActionCall, body: object): Promise<void> {
    return this.ask(name, body).then(() => undefined);
  }

  /** A unary call on the live subscription, presenting its ids; resolves with the master's answer. */
  private ask(name: UnaryCall, body: object): Promise<unknown> {
    if (this.closed) return Promise.reject(new SubscriptionError(`${name} after the subscription closed`));
    if (!this.live) {
      return Promise.reject(new SubscriptionError(`${name} while the master is away: the SDK is subscribing again; call again after 'resubscribed'`));
    }
    const fn = (this.client as unknown as Record<UnaryCall, Unary>)[name].bind(this.client);
    return new Promise((resolve, reject) => {
      fn({ frameworkId: this.frameworkId, streamId: this.streamId, ...body }, (err, answer) => {
        if (err) reject(SchedulerCallError.from(name, err)); else resolve(answer);
      });
    });
  }

  /**
   * Launches `tasks` with the offers `offerIds` (all of one agent). Whatever the tasks leave
   * unused is declined with `filters` (logged as "unused in accept"). No tasks: the offers
   * are declined whole.
   */
  accept(offerIds: string[], tasks: TaskInfo[], filters?: Filters): Promise<void> {
    const operations = tasks.length ? [operationToWire({ type: 'LAUNCH', id: '', tasks })] : [];
    return this.call('Accept', { offerIds, operations, filters: filtersToWire(filters) });
  }

  /** Launches `tasks` with one offer; what they leave unused is declined. */
  launch(offer: Offer, tasks: TaskInfo[], filters?: Filters): Promise<void> {
    return this.accept([offer.id], tasks, filters);
  }

  /**
   * Gives the offers back. Their resources stay away from this framework on that agent for
   * `refuseMs` (default 5 s, at least the master's allocation interval); `reason` goes to the
   * master's offer log:
   *
   *   s.decline([offer.id], { refuseMs: 30_000, reason: 'needs a GPU' });
   */
  decline(offerIds: string[], options: DeclineOptions = {}): Promise<void> {
    const { reason } = options;
    if (reason !== undefined && typeof reason !== 'string') {
      return Promise.reject(new InvalidArgumentError('decline reason', `must be a string, got ${typeof reason}`));
    }
    return this.call('Decline', { offerIds, filters: filtersToWire(options), reason: reason ?? '' });
  }

  /** Wants offers again for `roles` (none: all the framework's), clearing its decline filters. */
  revive(roles: string[] = []): Promise<void> {
    return this.call('Revive', { roles });
  }

  /** Wants no more offers for `roles` (none: all) until `revive`. Outstanding offers stay. */
  suppress(roles: string[] = []): Promise<void> {
    return this.call('Suppress', { roles });
  }

  /** Kills a task: SIGTERM, then SIGKILL after `gracePeriodMs` (default: the task's kill policy). */
  kill(taskId: string, opts: { agentId?: string; gracePeriodMs?: number } = {}): Promise<void> {
    const killPolicy = opts.gracePeriodMs === undefined ? undefined : killPolicyToWire({ gracePeriodMs: opts.gracePeriodMs });
    return this.call('Kill', { taskId, agentId: opts.agentId ?? '', killPolicy });
  }

  /** The receipt for a status update with a uuid; needed only with `autoAcknowledge: false`. */
  acknowledge(status: Pick<TaskStatus, 'agentId' | 'taskId' | 'uuid'>): Promise<void> {
    return this.call('Acknowledge', { agentId: status.agentId, taskId: status.taskId, uuid: status.uuid });
  }

  /** Explicit reconciliation of `tasks`, or implicit (all known tasks) when none are given. */
  reconcile(tasks: { taskId: string; agentId?: string }[] = []): Promise<void> {
    return this.call('Reconcile', { tasks: tasks.map((t) => ({ taskId: t.taskId, agentId: t.agentId ?? '' })) });
  }

  /** Ends the framework at the master: its tasks are killed and its id is retired. */
  teardown(): Promise<void> {
    return this.call('Teardown', {});
  }

  /** Changes the framework's info (roles, failover timeout, capabilities…) without resubscribing. */
  updateFramework(info: FrameworkInfo): Promise<void> {
    return this.call('UpdateFramework', { frameworkInfo: frameworkInfoToWire(info) });
  }

  /**
   * The agents the master knows now, reachable or not: each one's id, hostname, `port` (where it
   * serves sandbox files), attributes and total resources. Needs the `view` right (ACLs) on a
   * locked cluster; a refusal rejects with SchedulerCallError PERMISSION_DENIED.
   */
  async agents(): Promise<ClusterAgent[]> {
    return clusterAgentsFromWire(await this.ask('GetAgents', {}) as agora.v1.GetAgentsResponse);
  }

  /**
   * Reads one of this framework's tasks' sandbox files (`'stdout'`, `'stderr'`, or a path in
   * the sandbox) from `range.offset`, at most `range.length` bytes (and never more than 1 MiB:
   * page through bigger files), through the master that holds the subscription, with the
   * framework's credentials. Rejects with SandboxReadError (`status` 404 for no such task of
   * this framework or no such file), or SubscriptionError while the master is away.
   */
  readSandboxFile(taskId: string, file = 'stdout', range: SandboxRange = {}): Promise<SandboxChunk> {
    return this.sandbox('readSandboxFile').then((t) => readSandbox(t, taskId, file, range));
  }

  /** The size in bytes of one of this framework's tasks' sandbox files now, as `readSandboxFile` reads it. */
  sandboxFileSize(taskId: string, file = 'stdout', where: Pick<SandboxRange, 'agentId'> = {}): Promise<number> {
    return this.sandbox('sandboxFileSize').then((t) => sandboxSize(t, taskId, file, where.agentId));
  }

  /** The live subscription's master, over HTTP: the host reached over gRPC, the HTTP port it gave in SUBSCRIBED. */
  private async sandbox(name: string): Promise<SandboxTarget> {
    if (this.closed) throw new SubscriptionError(`${name} after the subscription closed`);
    if (!this.live) throw new SubscriptionError(`${name} while the master is away: the SDK is subscribing again; call again after 'resubscribed'`);
    if (!this.masterHttpPort) throw new SubscriptionError(`${name}: the master did not say in SUBSCRIBED where it serves HTTP`);
    return { master: masterAt(hostOf(this.target), this.masterHttpPort, this.config.credentials), frameworkId: this.frameworkId };
  }

  /** Ends the subscription. The framework stays registered for its failover timeout. */
  close(): void {
    this.finish(undefined);
  }
}

/**
 * Subscribes a framework to the master and resolves once SUBSCRIBED arrives: the one way in.
 * Rejects with InvalidArgumentError for a bad option, or SchedulerCallError if the master
 * refuses or cannot be reached.
 */
export const subscribe = (opts: SubscribeOptions): Promise<Scheduler> => Scheduler.subscribe(opts);

function openStream(client: Client, info: FrameworkInfo): EventStream {
  return (client as unknown as { Subscribe(req: unknown): EventStream })
    .Subscribe({ frameworkInfo: frameworkInfoToWire(info) });
}
