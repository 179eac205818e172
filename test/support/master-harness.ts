/**
 * Test helpers for the master core: a FakeClock-driven master with recording ports. Only
 * tests and benches import this file.
 */
import { FakeClock, seededRandom, type Timer } from '../../common/clock';
import { parse } from '../../common/resources';
import type { FrameworkInfo, Offer, SchedulerEvent, TaskInfo, TaskStatus } from '../../common/types';
import { resolveConfig, type MasterOptions } from '../../master/config';
import { Master, type MasterDeps } from '../../master/master';
import { OfferLog } from '../../master/offer-log';
import { OperatorJournal } from '../../master/operator-events';
import type { AgentPort, AgentTaskRef, FrameworkStream, KillTask, RunTask, StatusAck } from '../../master/ports';

export class RecordingStream implements FrameworkStream {
  readonly events: SchedulerEvent[] = [];
  closed = false;

  send(event: SchedulerEvent): void {
    if (this.closed) throw new Error(`event ${event.type} sent on a closed stream`);
    this.events.push(event);
  }

  close(): void {
    this.closed = true;
  }

  of<T extends SchedulerEvent['type']>(type: T): Extract<SchedulerEvent, { type: T }>[] {
    return this.events.filter((e): e is Extract<SchedulerEvent, { type: T }> => e.type === type);
  }

  /** Every offer received, in order. */
  offers(): Offer[] {
    return this.of('OFFERS').flatMap((e) => e.offers);
  }

  lastOffer(): Offer {
    const all = this.offers();
    const last = all[all.length - 1];
    if (!last) throw new Error('no offer received');
    return last;
  }

  updates(): TaskStatus[] {
    return this.of('UPDATE').map((e) => e.status);
  }
}

export class RecordingAgents implements AgentPort {
  readonly runs: { agentId: string; message: RunTask }[] = [];
  readonly kills: { agentId: string; message: KillTask }[] = [];
  readonly acks: { agentId: string; message: StatusAck }[] = [];
  run(agentId: string, message: RunTask): void { this.runs.push({ agentId, message }); }
  kill(agentId: string, message: KillTask): void { this.kills.push({ agentId, message }); }
  ack(agentId: string, message: StatusAck): void { this.acks.push({ agentId, message }); }
  readonly reconciles: { agentId: string; tasks: readonly AgentTaskRef[] }[] = [];
  reconcile(agentId: string, tasks: readonly AgentTaskRef[]): void { this.reconciles.push({ agentId, tasks }); }
}

export function frameworkInfo(overrides: Partial<FrameworkInfo> = {}): FrameworkInfo {
  return { id: '', name: 'test-fw', roles: ['*'], failoverTimeoutMs: 0, capabilities: [], principal: '', user: '', hostname: '', labels: {}, ...overrides };
}

export function taskInfo(taskId: string, resources: string, overrides: Partial<TaskInfo> = {}): TaskInfo {
  return {
    taskId, name: taskId, agentId: '', resources: parse(resources),
    command: { value: 'sleep 1000', argv: [], environment: {}, user: '' }, container: { type: 'DEFAULT' }, labels: {}, ...overrides,
  };
}

/**
 * `registry`: the core's registry seam, e.g. one that fails as a fenced Redis would;
 * `stopwatchMs` and `allocate`: to time or replace the allocation pass.
 */
export function harness(options: MasterOptions = {}, deps: Partial<Pick<MasterDeps, 'registry' | 'log' | 'stopwatchMs' | 'allocate'>> = {}) {
  const clock = new FakeClock();
  const config = resolveConfig({ clock, random: seededRandom(7), hostname: 'master.test', ...options });
  const agents = new RecordingAgents();
  const offerLog = new OfferLog(config.offerLogCapacity);
  const events = new OperatorJournal('test', config.operatorEventCapacity, clock);
  const master = new Master({ config, agentPort: agents, offerLog, events, ...deps });
  master.start();

  // Agents added here are alive: they heartbeat on the fake clock until a test silences them.
  const heartbeats = new Map<string, Timer>();

  async function addAgent(resources = 'cpus:4;mem:4096;ports:[31000-32000]', id = ''): Promise<string> {
    const result = await master.registerAgent({
      agentInfo: { id, hostname: `host-${id || 'new'}`, resources: parse(resources), attributes: {}, port: 5051 }, tasks: [], version: 'test',
    });
    heartbeats.set(result.agentId, clock.setInterval(() => master.agentHeartbeat({ agentId: result.agentId }), config.agentHeartbeatIntervalMs));
    return result.agentId;
  }

  /** The agent stops heartbeating, as a crashed or partitioned one would. */
  function silence(agentId: string): void {
    heartbeats.get(agentId)?.cancel();
    heartbeats.delete(agentId);
  }

  function subscribe(overrides: Partial<FrameworkInfo> = {}) {
    const stream = new RecordingStream();
    const { frameworkId, streamId } = master.subscribe(frameworkInfo(overrides), stream);
    return { frameworkId, streamId, stream, call: { frameworkId, streamId } };
  }

  /** An agent's update, stamped now unless `timestampMs` says when the agent made it. */
  function status(frameworkId: string, agentId: string, taskId: string, state: TaskStatus['state'], uuid: string, timestampMs = clock.now()): void {
    master.statusUpdate({ frameworkId, status: {
      taskId, state, message: '', source: 'SOURCE_AGENT', reason: 'REASON_UNKNOWN', agentId, frameworkId, uuid,
      timestampMs, containerId: '',
    } });
  }

  function agentView(agentId: string) {
    const view = master.state().agents.find((a) => a.id === agentId);
    if (!view) throw new Error(`agent ${agentId} not in the state`);
    return view;
  }

  return { clock, config, agents, offerLog, events, master, addAgent, silence, subscribe, status, agentView };
}
