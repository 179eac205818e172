/**
 * For tests: plays the master's side of the agent protocol over a real NATS server. It
 * answers registrations and heartbeats, records every status update (resends included),
 * acknowledges them unless told not to, and sends run and kill messages. Not a mock of the
 * agent's surroundings: the bytes go through NATS exactly as they would from the master.
 */
import { EventEmitter } from 'events';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { connect, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from '../../common/nats-server';
import { parse } from '../../common/resources';
import { OPEN_OWNER, subjects, type Subjects } from '../../common/subjects';
import type { FrameworkInfo, TaskInfo, TaskStatus } from '../../common/types';
import {
  decodeHeartbeat, decodeRegisterRequest, decodeStatusUpdate, encodeHeartbeatReply, encodeKillTask, encodeRegisterReply,
  encodeRunTask, encodeStatusAck, type Heartbeat, type HeartbeatReply, type RegisterReply, type RegisterRequest, encodeReconcileTasks } from '../../common/agent-messages';
import { startAgent, type AgentHandle } from '../../agent/agent';
import type { AgentOptions } from '../../agent/config';

let counter = 0;

export class TestMaster extends EventEmitter<{ status: [TaskStatus]; register: [RegisterRequest]; heartbeat: [Heartbeat] }> {
  readonly registrations: RegisterRequest[] = [];
  readonly heartbeats: Heartbeat[] = [];
  readonly statuses: TaskStatus[] = [];
  autoAck = true;
  /** Decides the reply to each registration; by default accepts with a fresh or the presented id. */
  registerReply: (req: RegisterRequest) => RegisterReply = (req) => ({
    agentId: req.agentInfo.id || `agent-${process.pid}-${++counter}`, heartbeatIntervalMs: this.heartbeatIntervalMs, masterId: 'master-1', error: '',
  });
  heartbeatReply: (hb: Heartbeat) => HeartbeatReply = () => ({ reregister: false, masterId: 'master-1' });

  private constructor(private readonly nc: NatsConnection, readonly subjects: Subjects, public heartbeatIntervalMs: number) {
    super();
    this.setMaxListeners(100);
  }

  static async start(natsUrl: string, opts: { prefix?: string; heartbeatIntervalMs?: number } = {}): Promise<TestMaster> {
    // It answers an open cluster's agents, who all speak as the owner `anonymous`.
    const nc = await connect({ servers: natsUrl });
    const m = new TestMaster(nc, subjects(opts.prefix), opts.heartbeatIntervalMs ?? 3_600_000);
    nc.subscribe(m.subjects.register(OPEN_OWNER), { callback: (_e, msg) => {
      const req = decodeRegisterRequest(msg.data);
      m.registrations.push(req);
      msg.respond(encodeRegisterReply(m.registerReply(req)));
      m.emit('register', req);
    } });
    nc.subscribe(m.subjects.heartbeat(OPEN_OWNER), { callback: (_e, msg) => {
      const hb = decodeHeartbeat(msg.data);
      m.heartbeats.push(hb);
      msg.respond(encodeHeartbeatReply(m.heartbeatReply(hb)));
      m.emit('heartbeat', hb);
    } });
    nc.subscribe(m.subjects.status(OPEN_OWNER), { callback: (_e, msg) => {
      const { status } = decodeStatusUpdate(msg.data);
      m.statuses.push(status);
      if (m.autoAck) m.ack(status);
      m.emit('status', status);
    } });
    await nc.flush();
    return m;
  }

  run(agentId: string, task: TaskInfo, frameworkId = 'fw-1'): void {
    this.nc.publish(this.subjects.run(OPEN_OWNER, agentId), encodeRunTask({ frameworkId, frameworkInfo: framework(frameworkId), task: { ...task, agentId } }));
  }

  kill(agentId: string, taskId: string, gracePeriodMs?: number, frameworkId = 'fw-1'): void {
    this.nc.publish(this.subjects.kill(OPEN_OWNER, agentId), encodeKillTask({ frameworkId, taskId, killPolicy: gracePeriodMs === undefined ? undefined : { gracePeriodMs } }));
  }

  ack(status: TaskStatus): void {
    this.nc.publish(this.subjects.ack(OPEN_OWNER, status.agentId), encodeStatusAck({ frameworkId: status.frameworkId, taskId: status.taskId, uuid: status.uuid }));
  }

  /** Says, as a master that has just begun to lead, that it does. */
  announceLeader(masterId = 'master-1'): void {
    this.nc.publish(this.subjects.leader(), new TextEncoder().encode(masterId));
  }

  /** Asks the agent about tasks, as a master that heard nothing since their run messages. */
  reconcile(agentId: string, taskIds: string[], frameworkId = 'fw-1'): void {
    this.nc.publish(this.subjects.reconcile(OPEN_OWNER, agentId), encodeReconcileTasks(taskIds.map((taskId) => ({ frameworkId, taskId }))));
  }

  publishRaw(subject: string, bytes: Uint8Array): void {
    this.nc.publish(subject, bytes);
  }

  /** The statuses received for a task, resends included, in arrival order. */
  of(taskId: string): TaskStatus[] {
    return this.statuses.filter((s) => s.taskId === taskId);
  }

  /** The first status (received already or later) that matches. */
  waitForStatus(match: (s: TaskStatus) => boolean, what = 'status'): Promise<TaskStatus> {
    return this.waitFor('status', () => this.statuses.find(match), what);
  }

  waitForState(taskId: string, state: TaskStatus['state']): Promise<TaskStatus> {
    return this.waitForStatus((s) => s.taskId === taskId && s.state === state, `${taskId} ${state}`);
  }

  /** Resolves once `n` registrations have arrived. */
  waitForRegistrations(n: number): Promise<RegisterRequest> {
    return this.waitFor('register', () => this.registrations[n - 1], `${n} registrations`);
  }

  waitForHeartbeats(n: number): Promise<Heartbeat> {
    return this.waitFor('heartbeat', () => this.heartbeats[n - 1], `${n} heartbeats`);
  }

  async close(): Promise<void> {
    await this.nc.close();
  }

  private waitFor<T>(event: 'status' | 'register' | 'heartbeat', probe: () => T | undefined, what: string, timeoutMs = 20_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = probe();
        if (v === undefined) return;
        this.off(event, check);
        clearTimeout(t);
        resolve(v);
      };
      const t = setTimeout(() => { this.off(event, check); reject(new Error(`timed out waiting for ${what}`)); }, timeoutMs);
      this.on(event, check);
      check();
    });
  }
}

function framework(id: string): FrameworkInfo {
  return { id, name: 'test', roles: ['*'], failoverTimeoutMs: 0, capabilities: [], principal: '', user: '', hostname: '', labels: {} };
}

/** A task for tests: a shell command with small resources. */
export function testTask(taskId: string, command: string, more: Partial<TaskInfo> = {}): TaskInfo {
  return {
    taskId, name: taskId, agentId: '', resources: parse('cpus:0.1;mem:32'),
    command: { value: command, argv: [], environment: {}, user: '' }, container: { type: 'DEFAULT' }, labels: {},
    ...more,
  };
}

/** A real nats-server, a TestMaster on it, and one registered agent: what most agent tests start from. */
export interface AgentRig {
  nats: NatsServer;
  master: TestMaster;
  agent: AgentHandle;
  agentId: string;
  workDir: string;
  stop(): Promise<void>;
}

export async function startAgentRig(options: Omit<AgentOptions, 'natsUrl' | 'workDir'>): Promise<AgentRig> {
  const nats = await startNatsServer();
  const master = await TestMaster.start(nats.url);
  const workDir = mkdtempSync(join(tmpdir(), 'agora-agent-'));
  const agent = await startAgent({ natsUrl: nats.url, workDir, httpHost: '127.0.0.1', httpPort: 0, ...options });
  const agentId = await agent.registered;
  return {
    nats, master, agent, agentId, workDir,
    stop: async () => {
      await agent.stop();
      await master.close();
      await nats.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}
