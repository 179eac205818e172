/**
 * The framework's event bus, in Marathon's event types and JSON shapes, for `/v2/events`
 * (server-sent events) and the web UI: status_update_event, instance_changed_event,
 * health_status_changed_event, deployment_info, deployment_success, deployment_failed,
 * deployment_step_success, app_terminated_event, api_post_event, unhealthy_instance_kill_event,
 * event_stream_attached / detached. Listeners are called in order; one that throws is dropped.
 */
import { Listeners } from '../../common/listeners';

export interface MarathonEvent {
  eventType: string;
  timestamp: string;
  [field: string]: unknown;
}

export class EventBus {
  private readonly listeners = new Listeners<MarathonEvent>();
  private held: MarathonEvent[] | undefined;

  constructor(private readonly now: () => number) {}

  emit(eventType: string, body: Record<string, unknown>): void {
    const event: MarathonEvent = { ...body, eventType, timestamp: new Date(this.now()).toISOString() };
    if (this.held) this.held.push(event);
    else this.deliver(event);
  }

  /**
   * Keeps events back until `release()`: the framework holds them while a step runs, so a
   * client that reacts to an event reads the state the whole step left, not half of it.
   */
  hold(): void {
    this.held ??= [];
  }

  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const e of held) this.deliver(e);
  }

  private deliver(event: MarathonEvent): void {
    this.listeners.emit(event);
  }

  subscribe(listener: (e: MarathonEvent) => void): () => void {
    return this.listeners.add(listener);
  }
}
