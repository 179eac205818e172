/**
 * A framework on the runtime (runtime.ts), as its subscription sees it: the master
 * connection's inputs go straight to the runtime. Services and jobs extend it with their
 * commands and views.
 */
import type { Offer, TaskStatus } from '../../common/types';
import type { Driver } from './driver';
import type { FrameworkRuntime } from './runtime';

export abstract class OnRuntime<S extends { frameworkId?: string }> {
  protected abstract readonly runtime: Pick<FrameworkRuntime<S, unknown, unknown, unknown>, 'attach' | 'detach' | 'stop' | 'onOffers' | 'onUpdate' | 'step'>;

  /** Runs `fn` in the framework's turn; the state changes only inside. */
  step<T>(fn: () => Promise<T> | T): Promise<T> {
    return this.runtime.step(fn);
  }

  attach(driver: Driver, frameworkId: string): Promise<void> {
    return this.runtime.attach(driver, frameworkId);
  }

  detach(): void {
    this.runtime.detach();
  }

  /** Takes no more steps; resolves once the one under way is done (its writes in). */
  stop(): Promise<void> {
    return this.runtime.stop();
  }

  onOffers(offers: Offer[]): Promise<void> {
    return this.runtime.onOffers(offers);
  }

  onUpdate(status: TaskStatus): Promise<void> {
    return this.runtime.onUpdate(status);
  }
}
