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
 * Status updates that carry a uuid are acknowledged automatically unless
 * `autoAcknowledge: false`: with `events()`, once the consumer asks for the next event (it is
 * done with this one); otherwise once the listeners have run. An update the framework never
 * got to is never acknowledged, so the agent sends it again: nothing acknowledged is lost.
 */
import { EventEmitter } from 'events';
import { credentials, makeGenericClientConstructor, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { eventFromWire, filtersToWire, frameworkInfoToWire, killPolicyToWire, operationToWire } from '../../common/codec';
import type { agora } from '../../common/proto';
import { schedulerService, type UnaryCall } from '../../common/scheduler-service';
import type { Filters, FrameworkInfo, Offer, SchedulerEvent, TaskInfo, TaskStatus } from '../../common/types';
import { SchedulerCallError, SubscriptionError } from './errors';
import { grpcAddress, masterAddress } from './master-address';

export interface SubscribeOptions {
  /** The master's HTTP address (`host:5050`); defaults to AGORA_MASTER, then the local cluster. */
  master?: string;
  /** The master's gRPC address (`host:5053`), to skip looking it up over HTTP. */
  grpcAddress?: string;
  /**
   * Stay subscribed when the master goes away: subscribe again with the framework id, with a
   * delay doubling from `initialDelayMs` (default 200) up to `maxDelayMs` (default 10 s), to
   * the next of `grpcAddresses` (default: the one above) each time, and reconcile implicitly
   * once back. `false`: the first loss closes the subscription (emits `closed`).
   */
  reconnect?: false | { initialDelayMs?: number; maxDelayMs?: number; grpcAddresses?: string[] };
  framework: Partial<FrameworkInfo> & { name: string };
  autoAcknowledge?: boolean;
  /** How many events may wait unread in `events()` before the subscription fails. */
  maxBufferedEvents?: number;
  /**
   * How many of the latest events `events()` replays when it is first called (from
   * SUBSCRIBED on, if no more arrived). Until then only these are kept, so a framework that
   * only listens with `on()` holds no growing backlog.
   */
  replayWindow?: number;
}

interface Buffered {
  event: SchedulerEvent;
  /** Already acknowledged, when it reached the listeners before anyone iterated. */
  acked: boolean;
}

type Events = {
  event: [SchedulerEvent];
  offers: [Offer[]];
  rescind: [string];
  update: [TaskStatus];
  error: [Error];
  closed: [Error | undefined];
  /** The stream to the master broke; the SDK is subscribing again (with `reconnect`). */
  disconnected: [Error];
  /** Subscribed again with the same framework id, to this gRPC address. */
  resubscribed: [string];
};

const SchedulerGrpcClient = makeGenericClientConstructor(schedulerService, 'Scheduler');
type Unary = (req: unknown, cb: (err: ServiceError | null) => void) => void;

export class Scheduler extends EventEmitter<Events> {
  frameworkId = '';
  streamId = '';
  heartbeatIntervalMs = 0;
  private closed = false;
  private closeError: Error | undefined;
  private readonly buffer: Buffered[] = [];
  private wake: (() => void) | undefined;
  private iterating = false;

  private info!: FrameworkInfo;
  private reconnect: SubscribeOptions['reconnect'] = false;
  private targets: string[] = [];
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;

  private constructor(
    private client: Client,
    private stream: ClientReadableStream<agora.v1.Event>,
    private readonly autoAcknowledge: boolean,
    private readonly maxBuffered: number,
    private readonly replayWindow: number,
  ) {
    super();
  }

  /** Subscribes and resolves once SUBSCRIBED arrives. */
  static async subscribe(opts: SubscribeOptions): Promise<Scheduler> {
    const target = opts.grpcAddress ?? (await grpcAddress(masterAddress(opts.master)));
    const client = new SchedulerGrpcClient(target, credentials.createInsecure());
    const info: FrameworkInfo = {
      id: '', roles: ['*'], failoverTimeoutMs: 0, capabilities: [], principal: '', user: '', hostname: '', labels: {},
      ...opts.framework,
    };
    const stream = openStream(client, info);
    const s = new Scheduler(client, stream, opts.autoAcknowledge ?? true, opts.maxBufferedEvents ?? 100_000, opts.replayWindow ?? 1000);
    s.info = info;
    s.reconnect = opts.reconnect ?? false;
    s.targets = [target, ...(opts.reconnect ? opts.reconnect.grpcAddresses ?? [] : [])].filter((t, i, all) => all.indexOf(t) === i);
    await s.attach(stream, (err) => { if (stream === s.stream) s.lost(err); });
    return s;
  }

  /**
   * The stream broke. Without `reconnect` the subscription is over; with it, the SDK subscribes
   * again with its framework id after a growing delay, to the next address, until it is back
   * or the master says the framework is gone for good.
   */
  private lost(err: Error): void {
    if (this.closed) return;
    if (!this.reconnect) return this.finish(err);
    if (err instanceof SchedulerCallError && err.code === 'FAILED_PRECONDITION') return this.finish(err);
    if (this.retry) return;
    this.stream.cancel();
    this.client.close();
    if (this.attempt === 0) this.emit('disconnected', err);
    const { initialDelayMs = 200, maxDelayMs = 10_000 } = this.reconnect;
    const delay = Math.min(initialDelayMs * 2 ** this.attempt, maxDelayMs);
    const target = this.targets[this.attempt % this.targets.length] as string;
    this.attempt++;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (this.closed) return;
      this.client = new SchedulerGrpcClient(target, credentials.createInsecure());
      this.stream = openStream(this.client, { ...this.info, id: this.frameworkId });
      const stream = this.stream;
      const onLost = (e: Error): void => { if (stream === this.stream) this.lost(e); };
      this.attach(stream, onLost).then(() => {
        this.attempt = 0;
        this.emit('resubscribed', target);
        // What happened while away: the master answers with the state of every task it knows.
        this.reconcile().catch((e: Error) => this.emitError(e));
      }, onLost);
    }, delay);
  }

  private attach(stream: ClientReadableStream<agora.v1.Event>, onLost: (err: Error) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let subscribed = false;
      stream.on('data', (wire: agora.v1.Event) => {
        const event = eventFromWire(wire);
        if (!event) return;   // a newer master's event type: skip it
        if (event.type === 'SUBSCRIBED') {
          this.frameworkId = event.frameworkId;
          this.streamId = event.streamId;
          this.heartbeatIntervalMs = event.heartbeatIntervalMs;
          if (!subscribed) { subscribed = true; resolve(); }
        }
        this.dispatch(event);
      });
      stream.on('error', (err: ServiceError) => {
        if (this.closed) return;   // our own close() cancelled the stream
        const e = SchedulerCallError.from('Subscribe', err);
        if (!subscribed) reject(e);
        else onLost(e);
      });
      stream.on('end', () => {
        const e = new SubscriptionError('the master ended the subscription');
        if (!subscribed) reject(e);
        else onLost(e);
      });
    });
  }

  private dispatch(event: SchedulerEvent): void {
    if (this.iterating && this.buffer.length >= this.maxBuffered) {
      this.finish(new SubscriptionError(`more than ${this.maxBuffered} events unread: read events() faster or raise maxBufferedEvents`));
      return;
    }
    if (!this.iterating && this.buffer.length >= this.replayWindow) this.buffer.shift();
    const entry: Buffered = { event, acked: false };
    this.buffer.push(entry);
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
    if (this.autoAcknowledge && event.type === 'UPDATE' && event.status.uuid && !this.closed) {
      this.acknowledge(event.status).catch((err: Error) => this.emitError(err));
    }
  }

  private emitError(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  private finish(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.closeError = err;
    this.wake?.();
    this.emit('closed', err);
    this.stream.cancel();   // harmless on a stream that already ended
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

  private call(name: UnaryCall, body: object): Promise<void> {
    if (!this.streamId) return Promise.reject(new SubscriptionError(`${name} before SUBSCRIBED`));
    const fn = (this.client as unknown as Record<UnaryCall, Unary>)[name].bind(this.client);
    return new Promise((resolve, reject) => {
      fn({ frameworkId: this.frameworkId, streamId: this.streamId, ...body }, (err) => {
        if (err) reject(SchedulerCallError.from(name, err)); else resolve();
      });
    });
  }

  accept(offerIds: string[], tasks: TaskInfo[], filters?: Filters): Promise<void> {
    const operations = tasks.length ? [operationToWire({ type: 'LAUNCH', id: '', tasks })] : [];
    return this.call('Accept', { offerIds, operations, filters: filtersToWire(filters) });
  }

  /** Launches `tasks` with one offer; what they leave unused is declined. */
  launch(offer: Offer, tasks: TaskInfo[], filters?: Filters): Promise<void> {
    return this.accept([offer.id], tasks, filters);
  }

  decline(offerIds: string[], filters?: Filters): Promise<void> {
    return this.call('Decline', { offerIds, filters: filtersToWire(filters) });
  }

  revive(roles: string[] = []): Promise<void> {
    return this.call('Revive', { roles });
  }

  suppress(roles: string[] = []): Promise<void> {
    return this.call('Suppress', { roles });
  }

  kill(taskId: string, opts: { agentId?: string; gracePeriodMs?: number } = {}): Promise<void> {
    const killPolicy = opts.gracePeriodMs === undefined ? undefined : killPolicyToWire({ gracePeriodMs: opts.gracePeriodMs });
    return this.call('Kill', { taskId, agentId: opts.agentId ?? '', killPolicy });
  }

  acknowledge(status: Pick<TaskStatus, 'agentId' | 'taskId' | 'uuid'>): Promise<void> {
    return this.call('Acknowledge', { agentId: status.agentId, taskId: status.taskId, uuid: status.uuid });
  }

  /** Explicit reconciliation of `tasks`, or implicit (all known tasks) when none are given. */
  reconcile(tasks: { taskId: string; agentId?: string }[] = []): Promise<void> {
    return this.call('Reconcile', { tasks: tasks.map((t) => ({ taskId: t.taskId, agentId: t.agentId ?? '' })) });
  }

  teardown(): Promise<void> {
    return this.call('Teardown', {});
  }

  updateFramework(info: FrameworkInfo): Promise<void> {
    return this.call('UpdateFramework', { frameworkInfo: frameworkInfoToWire(info) });
  }

  /** Ends the subscription. The framework stays registered for its failover timeout. */
  close(): void {
    this.finish(undefined);
  }
}

export const subscribe = (opts: SubscribeOptions): Promise<Scheduler> => Scheduler.subscribe(opts);

function openStream(client: Client, info: FrameworkInfo): ClientReadableStream<agora.v1.Event> {
  return (client as unknown as { Subscribe(req: unknown): ClientReadableStream<agora.v1.Event> })
    .Subscribe({ frameworkInfo: frameworkInfoToWire(info) });
}
