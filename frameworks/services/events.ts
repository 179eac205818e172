/**
 * What happened, as the services framework's decisions say it (`ServicesEvent`, typed), and
 * the same in Marathon's event types and JSON shapes (`marathonEvents`, the view), for
 * `/v2/events` (server-sent events) and the web UI: status_update_event,
 * instance_changed_event, health_status_changed_event, instance_health_changed_event,
 * deployment_info, deployment_success, deployment_failed, deployment_step_success,
 * app_terminated_event, api_post_event, unhealthy_instance_kill_event, and
 * event_stream_attached / detached (from the stream itself). Listeners are called in order;
 * one that throws is dropped.
 */
import { Listeners } from '../../common/listeners';
import type { App } from './app';
import type { Deployment, InstanceRecord } from './model';
import { appDefinition, planJson } from './views';

export type ServicesEvent =
  /** An instance's task moved to `taskState` (a launch is TASK_STAGING). */
  | { type: 'instance'; instance: InstanceRecord; taskState: string; message: string }
  | { type: 'health'; instance: InstanceRecord; healthy: boolean }
  /** Killed by its agent for failing its health checks. */
  | { type: 'unhealthy-kill'; instance: InstanceRecord; reason: string }
  | { type: 'deployment-started'; deployment: Deployment }
  | { type: 'deployment-done'; deployment: Deployment }
  | { type: 'deployment-failed'; deployment: Deployment; reason: string }
  /** An app definition posted through the API. */
  | { type: 'api-post'; clientIp: string; uri: string; app: App; version: string };

export interface MarathonEvent {
  eventType: string;
  timestamp: string;
  [field: string]: unknown;
}

/** Marathon's instance condition for a task state: TASK_RUNNING → Running, TASK_GONE_BY_OPERATOR → Gone. */
export function conditionOf(taskState: string): string {
  const special: Record<string, string> = { TASK_GONE_BY_OPERATOR: 'Gone', TASK_LOST: 'Unknown', TASK_UNKNOWN: 'Unknown' };
  const name = taskState.replace(/^TASK_/, '').toLowerCase();
  return special[taskState] ?? name.charAt(0).toUpperCase() + name.slice(1);
}

/** One typed event in Marathon's words: the event types it stands for, with their bodies. */
export function marathonEvents(e: ServicesEvent): [string, Record<string, unknown>][] {
  switch (e.type) {
    case 'instance': {
      const i = e.instance;
      return [
        ['status_update_event', { slaveId: i.agentId, taskId: i.taskId, taskStatus: e.taskState, message: e.message, appId: i.appId, host: i.hostname, ports: i.hostPorts, ipAddresses: [], version: i.version }],
        ['instance_changed_event', { instanceId: i.instanceId, condition: conditionOf(e.taskState), runSpecId: i.appId, agentId: i.agentId, host: i.hostname, runSpecVersion: i.version }],
      ];
    }
    case 'health': {
      const i = e.instance;
      return [
        ['health_status_changed_event', { appId: i.appId, instanceId: i.instanceId, taskId: i.taskId, version: i.version, alive: e.healthy }],
        ['instance_health_changed_event', { instanceId: i.instanceId, runSpecId: i.appId, runSpecVersion: i.version, healthy: e.healthy }],
      ];
    }
    case 'unhealthy-kill': {
      const i = e.instance;
      return [['unhealthy_instance_kill_event', { appId: i.appId, taskId: i.taskId, instanceId: i.instanceId, version: i.version, reason: e.reason, host: i.hostname, slaveId: i.agentId }]];
    }
    case 'deployment-started':
      return [['deployment_info', { plan: planJson(e.deployment), currentStep: { actions: e.deployment.actions } }]];
    case 'deployment-done': {
      const d = e.deployment;
      return [
        ...d.actions.filter((a) => a.action === 'StopApplication').map((a): [string, Record<string, unknown>] => ['app_terminated_event', { appId: a.app }]),
        ['deployment_step_success', { plan: planJson(d), currentStep: { actions: d.actions } }],
        ['deployment_success', { id: d.id, plan: planJson(d) }],
      ];
    }
    case 'deployment-failed':
      return [['deployment_failed', { id: e.deployment.id, plan: planJson(e.deployment), reason: e.reason }]];
    case 'api-post':
      return [['api_post_event', { clientIp: e.clientIp, uri: e.uri, appDefinition: { ...appDefinition(e.app), version: e.version } }]];
  }
}

/** The Marathon-shaped stream `/v2/events` serves. */
export class EventBus {
  private readonly listeners = new Listeners<MarathonEvent>();

  constructor(private readonly now: () => number) {}

  emit(eventType: string, body: Record<string, unknown>): void {
    this.listeners.emit({ ...body, eventType, timestamp: new Date(this.now()).toISOString() });
  }

  /** A typed event, shaped as Marathon's. */
  publish(e: ServicesEvent): void {
    for (const [type, body] of marathonEvents(e)) this.emit(type, body);
  }

  subscribe(listener: (e: MarathonEvent) => void): () => void {
    return this.listeners.add(listener);
  }
}
