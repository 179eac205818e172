/**
 * Keeping a framework subscribed to its master, for as long as it runs: subscribe (again and
 * again, with backoff, until the master is there), hand the connection to the framework's
 * runtime (`attach`), feed it offers and updates, take the connection away when it drops
 * (`detach`), and start over as a new framework when the master no longer knows the old id
 * (its failover timeout passed). The SDK itself resubscribes after a lost stream; this is
 * what happens around it.
 */
import type { Logger } from '../../common/log';
import type { ClientIdentity } from '../../common/security/client-config';
import type { FrameworkInfo, Offer, TaskStatus } from '../../common/types';
import { SchedulerCallError, subscribe, type Scheduler } from '../sdk';
import { StoppedError } from './http';

/** What a framework's runtime must offer to be kept subscribed. */
export interface Subscriber {
  /** The framework id it runs under; cleared here when the master no longer knows it. */
  state: { frameworkId?: string };
  attach(driver: Scheduler, frameworkId: string): Promise<void>;
  detach(): void;
  onOffers(offers: Offer[]): Promise<void>;
  onUpdate(status: TaskStatus): Promise<void>;
}

export interface SubscriptionOptions {
  master?: string;
  grpcAddress?: string;
  framework: Partial<Omit<FrameworkInfo, 'id'>> & { name: string };
  log: Logger;
  /** Who the framework is to the master; default: the client config's user. */
  credentials?: ClientIdentity;
}

export interface Subscription {
  /** Resolves with the framework id once subscribed (and attached) for the first time. */
  subscribed: Promise<string>;
  /** The live connection, if any. */
  scheduler(): Scheduler | undefined;
  close(): void;
}

export function keepSubscribed(target: Subscriber, o: SubscriptionOptions): Subscription {
  const keeper = new Keeper(target, o);
  void keeper.connect(0);
  return { subscribed: keeper.subscribed, scheduler: () => keeper.scheduler, close: () => keeper.close() };
}

/** One framework kept subscribed: a connection at a time, made again until closed. */
class Keeper {
  scheduler: Scheduler | undefined;
  readonly subscribed: Promise<string>;
  private firstSubscribed!: (id: string) => void;
  private stopping = false;
  private retry: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly target: Subscriber, private readonly o: SubscriptionOptions) {
    this.subscribed = new Promise<string>((r) => { this.firstSubscribed = r; });
  }

  async connect(attempt: number): Promise<void> {
    if (this.stopping) return;
    const { target, o } = this;
    let s: Scheduler | undefined;
    try {
      s = await subscribe({
        master: o.master, grpcAddress: o.grpcAddress, autoAcknowledge: false, reconnect: {},
        ...(o.credentials ? { credentials: o.credentials } : {}),
        framework: { ...o.framework, ...(target.state.frameworkId ? { id: target.state.frameworkId } : {}) },
      });
      if (this.stopping) return s.close();
      this.scheduler = s;
      this.wire(s);
      await target.attach(s, s.frameworkId);
      this.firstSubscribed(s.frameworkId);
      o.log.info('subscribed', { frameworkId: s.frameworkId });
    } catch (err) {
      this.failed(s, err as Error, attempt);
    }
  }

  /** The connection's events to the framework's runtime. */
  private wire(s: Scheduler): void {
    const { target, o: { log } } = this;
    const failed = (what: string) => (e: Error) => { if (!(e instanceof StoppedError)) log.error(`${what} failed`, { error: e.message }); };
    s.on('offers', (offers) => { target.onOffers(offers).catch(failed('offers')); });
    s.on('update', (status) => { target.onUpdate(status).catch(failed('update')); });
    s.on('disconnected', (e) => { log.warn('lost the master; subscribing again', { error: e.message }); target.detach(); });
    s.on('resubscribed', () => { target.attach(s, s.frameworkId).catch(failed('re-attaching')); });
    s.on('error', (e) => log.warn('master connection', { error: e.message }));
    s.on('closed', (e) => {
      target.detach();
      this.scheduler = undefined;
      if (this.stopping) return;
      // Removed by the master (failover timeout passed, torn down): start over as a new framework.
      if (e instanceof SchedulerCallError && e.code === 'FAILED_PRECONDITION') target.state.frameworkId = undefined;
      log.warn('subscription closed; subscribing again', { error: e?.message });
      this.retry = setTimeout(() => void this.connect(1), 1000);
    });
  }

  /** Not subscribed, or subscribed and not attached: undo, and try again with backoff. */
  private failed(s: Scheduler | undefined, err: Error, attempt: number): void {
    const { target, o: { log } } = this;
    if (s) {
      // Subscribed, but not attached (the store failed): close this subscription before the
      // next try, or two would take the framework id from each other for ever.
      s.removeAllListeners();
      s.close();
      this.scheduler = undefined;
      target.detach();
    }
    if (this.stopping) return;
    if (err instanceof SchedulerCallError && err.code === 'FAILED_PRECONDITION' && target.state.frameworkId) {
      log.warn('the master no longer knows our framework id; subscribing as a new framework', { error: err.message });
      target.state.frameworkId = undefined;
    } else if (attempt % 10 === 0) {
      log.warn('cannot subscribe to the master yet', { error: err.message });
    }
    this.retry = setTimeout(() => void this.connect(attempt + 1), Math.min(200 * 2 ** Math.min(attempt, 5), 5000));
  }

  close(): void {
    this.stopping = true;
    if (this.retry) clearTimeout(this.retry);
    this.scheduler?.close();
  }
}
