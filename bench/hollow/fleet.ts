/**
 * A fleet: N hollow agents (agent.ts) in one process over ONE NATS connection. Thousands of
 * connections, one per agent, would cost the server and this process more than the agents do.
 *
 * Subjects: a real agent subscribes to `<prefix>.agent.<owner>.<agentId>.>` once registered.
 * The fleet instead subscribes once to `<prefix>.agent.<owner>.>` (what an agent user may
 * receive anyway, common/security/nats-auth.ts) before any agent registers, and hands each
 * message to the agent whose id is the subject's next token. Requests (register, heartbeat,
 * unregister) share the connection's one reply inbox; `<prefix>.leader` is followed once and
 * every agent heartbeats within a random moment after a new leader speaks, as real ones do.
 *
 * Start-up is spread: agent i starts at i·spread/N, so registrations, and the heartbeats that
 * follow them an interval later, do not come in one wave.
 */
import { connect, type NatsConnection, type Subscription } from 'nats';
import { systemClock, systemRandom, type Clock, type Random, type Timer } from '../../common/clock';
import { logger } from '../../common/log';
import { natsServers, subjects as makeSubjects, type Subjects } from '../../common/subjects';
import type { TaskStatus } from '../../common/types';
import type { ServerSecurity } from '../../common/security/security-dir';
import type { ClientIdentity } from '../../common/security/client-config';
import { natsIdentity } from '../../common/security/nats-client';
import { followLeaders } from '../../agent/registration';
import { HollowAgent, type FleetLink, type HollowAgentSpec, type HollowTiming } from './agent';

export interface HollowFleetOptions {
  natsUrl: string;
  agents: number;
  subjectPrefix?: string;
  /** Agent i's spec (default: `hollow-<pid>-<i>`, the fleet's resources and attributes). */
  specOf(i: number): HollowAgentSpec;
  timing: HollowTiming;
  /** Agents start evenly over this long (0: all at once). */
  startSpreadMs: number;
  /** After a new leader speaks, each agent heartbeats within this long. */
  leaderSpreadMs?: number;
  security?: ServerSecurity;
  identity?: ClientIdentity;
  clock?: Clock;
  random?: Random;
  onStatus?(status: TaskStatus): void;
}

export interface FleetCounts {
  agents: number;
  registered: number;
  registrations: number;
  reregistrations: number;
  liveTasks: number;
  statuses: number;
}

export class HollowFleet {
  readonly agents: HollowAgent[] = [];
  private readonly byId = new Map<string, (subject: string, data: Uint8Array) => void>();
  private readonly timers: Timer[] = [];
  private readonly log = logger('hollow');
  private readonly subjects: Subjects;
  private nc: NatsConnection | undefined;
  private sub: Subscription | undefined;
  private registrations = 0;
  private reregistrations = 0;
  private statuses = 0;
  private unrouted = 0;
  private allRegistered: (() => void) | undefined;

  constructor(private readonly o: HollowFleetOptions) {
    this.subjects = makeSubjects(o.subjectPrefix);
  }

  /** Connects, subscribes, and starts the agents (spread over `startSpreadMs`). */
  async start(): Promise<void> {
    const o = this.o;
    const clock = o.clock ?? systemClock;
    const random = o.random ?? systemRandom;
    const id = natsIdentity('agent', this.subjects, o.security, o.identity);
    const nc = await connect({ servers: natsServers(o.natsUrl), name: `agora-hollow ${process.pid}`, maxReconnectAttempts: -1, waitOnFirstConnect: true, ...id.options });
    this.nc = nc;
    const agentTokens = this.subjects.prefix.split('.').length + 2;
    this.sub = nc.subscribe(`${this.subjects.prefix}.agent.${id.owner}.>`, {
      callback: (err, msg) => {
        if (err) return this.log.error('subscription error', { err });
        const handler = this.byId.get(msg.subject.split('.')[agentTokens] ?? '');
        if (handler) handler(msg.subject, msg.data);
        else this.unrouted++;
      },
    });
    await nc.flush();
    const link: FleetLink = {
      request: async (subject, data, timeout) => (await nc.request(subject, data, { timeout })).data,
      publish: (subject, data) => { if (!nc.isClosed()) nc.publish(subject, data); },
      route: (agentId, handler) => { if (handler) this.byId.set(agentId, handler); else this.byId.delete(agentId); },
    };
    for (let i = 0; i < o.agents; i++) {
      this.agents.push(new HollowAgent(o.specOf(i), {
        link, subjects: this.subjects, owner: id.owner, clock, random, timing: o.timing, log: this.log.child(`agent-${i}`),
        onRegistered: (_agentId, again) => this.registered(again),
        onStatus: (s) => { this.statuses++; o.onStatus?.(s); },
      }));
    }
    const spread = o.leaderSpreadMs ?? 1000;
    followLeaders(nc, this.subjects.leader(), { clock, random: { next: () => 0 } }, () => {
      for (const a of this.agents) this.timers.push(clock.setTimeout(() => a.beatNow(), Math.floor(random.next() * spread)));
    }, this.log);
    this.agents.forEach((a, i) => {
      const at = o.agents > 1 ? Math.floor((i * o.startSpreadMs) / o.agents) : 0;
      if (at === 0) a.start();
      else this.timers.push(clock.setTimeout(() => a.start(), at));
    });
  }

  /** Resolves once every agent has registered at least once. */
  registeredAll(): Promise<void> {
    if (this.agents.length > 0 && this.agents.every((a) => a.agentId !== '')) return Promise.resolve();
    return new Promise((resolve) => { this.allRegistered = resolve; });
  }

  counts(): FleetCounts {
    let registered = 0;
    let liveTasks = 0;
    for (const a of this.agents) {
      if (a.registered) registered++;
      liveTasks += a.liveTasks;
    }
    return { agents: this.agents.length, registered, registrations: this.registrations, reregistrations: this.reregistrations, liveTasks, statuses: this.statuses };
  }

  /** Messages that named no agent of this fleet (another fleet's under the same principal). */
  get unroutedMessages(): number {
    return this.unrouted;
  }

  /** Kills every task (TASK_KILLED), unregisters (unless told not to), and closes the connection. */
  async stop(opts: { unregister?: boolean } = {}): Promise<void> {
    for (const t of this.timers) t.cancel();
    await Promise.all(this.agents.map((a) => a.stop(opts.unregister ?? true)));
    this.sub?.unsubscribe();
    if (this.nc && !this.nc.isClosed()) {
      await this.nc.flush().catch(() => undefined);
      await this.nc.close();
    }
  }

  private registered(again: boolean): void {
    if (again) this.reregistrations++;
    else this.registrations++;
    if (this.allRegistered && this.registrations === this.agents.length) {
      this.allRegistered();
      this.allRegistered = undefined;
    }
  }
}
