/**
 * Registration and heartbeats: how the agent makes and keeps itself known to the master.
 *
 * The agent asks to register until the master says yes, waiting a random time in
 * [0, factor·2^n] (capped) between attempts, so a thousand agents that lost their master
 * together do not come back in one wave. Once registered it heartbeats at the interval the
 * master asked for. A master that answers a heartbeat with `reregister` does not know the
 * agent (it restarted, or a standby took over without the agent in its registry): the agent
 * registers again, presenting its id and the tasks it runs, so none of them is lost. A
 * stopped agent unregisters, so its resources stop being offered. A reply from a master older
 * than the newest one the agent has heard of (epoch-fence.ts) is no reply: the agent does not
 * register with a deposed master, nor take a heartbeat's answer from one.
 */
import type { Clock, Random, Timer } from '../common/clock';
import type { Logger } from '../common/log';
import type { Subjects } from '../common/subjects';
import type { AgentInfo, Task } from '../common/types';
import type { EpochFence } from './epoch-fence';
import {
  decodeHeartbeatReply, decodeRegisterReply, decodeUnregisterReply, encodeHeartbeat, encodeRegisterRequest, encodeUnregister, type RegisterReply,
} from '../common/agent-messages';

/** The one thing registration needs from NATS. */
export interface MasterLink {
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
}

export interface RegistrarDeps {
  link: MasterLink;
  subjects: Subjects;
  /** The owner this agent's subjects name (its principal). */
  owner: string;
  clock: Clock;
  random: Random;
  backoffFactorMs: number;
  backoffMaxMs: number;
  requestTimeoutMs: number;
  /** Wins over the master's interval when set. */
  heartbeatIntervalMs: number | undefined;
  version: string;
  /** The agent as it presents itself; `id` is '' until the first registration. */
  agentInfo(): AgentInfo;
  /** Why the agent takes no launches now, if it does not: sent with every registration and heartbeat. */
  degradedReason?(): string | undefined;
  /** The tasks to present when registering again. */
  tasks(): Task[];
  /** Resolves once the agent is ready for the master's messages. */
  onRegistered(reply: RegisterReply, reregistered: boolean): Promise<void>;
  /** Judges each reply's epoch; without it every reply is taken. */
  fence?: Pick<EpochFence, 'admit' | 'highest'>;
  log: Logger;
}

/** When the master sends no interval: Mesos's agent ping timeout. */
export const FALLBACK_HEARTBEAT_MS = 15_000;

/** Attempt n (from 0) waits a random time in [0, factor·2^n], never more than max. */
export function registrationBackoffMs(attempt: number, random: Random, factorMs: number, maxMs: number): number {
  return Math.floor(random.next() * Math.min(maxMs, factorMs * 2 ** Math.min(attempt, 30)));
}

export class Registrar {
  private timer: Timer | undefined;
  private stopped = false;
  private registeredOnce = false;
  private heartbeatMs = FALLBACK_HEARTBEAT_MS;
  private failedHeartbeats = 0;
  private isRegistered = false;
  /** A heartbeat is waiting for its reply; `beatAgain`: another was asked for meanwhile. */
  private beating = false;
  private beatAgain = false;

  constructor(private readonly deps: RegistrarDeps) {}

  /** Accepted by the master, and not since told it is unknown there. */
  get registered(): boolean {
    return this.isRegistered;
  }

  start(): void {
    // Straight away, not through the clock: a paused test clock must not hold back the first try.
    this.now(() => this.attempt(0));
  }

  /**
   * Heartbeats now rather than at the next interval (the agent became degraded, or recovered,
   * and the master should know at once), then at the interval again. Nothing before the first
   * registration: that carries the news itself.
   */
  beatNow(): void {
    if (this.stopped || !this.isRegistered) return;
    if (this.beating) {
      this.beatAgain = true;
      return;
    }
    this.timer?.cancel();
    this.timer = undefined;
    this.now(() => this.heartbeat());
  }

  stop(): void {
    this.stopped = true;
    this.isRegistered = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /**
   * Tells the master this agent is gone for good, so its resources stop being offered. Best
   * effort: a master that does not answer in time will find out the agent stopped
   * heartbeating.
   */
  async unregister(reason: string): Promise<void> {
    const d = this.deps;
    const agentId = d.agentInfo().id;
    if (!agentId) return;
    try {
      const reply = decodeUnregisterReply(await d.link.request(d.subjects.unregister(d.owner), encodeUnregister({ agentId, reason }), d.requestTimeoutMs));
      if (reply.error) d.log.warn('the master did not take the unregistration', { error: reply.error });
    } catch (err) {
      d.log.warn('could not unregister from the master', { err });
    }
  }

  private async attempt(n: number): Promise<void> {
    const d = this.deps;
    const info = d.agentInfo();
    const again = info.id !== '';
    let reply: RegisterReply | undefined;
    try {
      const degradedReason = d.degradedReason?.();
      const req = encodeRegisterRequest({ agentInfo: info, tasks: again ? d.tasks() : [], version: d.version, ...(degradedReason ? { degradedReason } : {}) });
      reply = decodeRegisterReply(await d.link.request(d.subjects.register(d.owner), req, d.requestTimeoutMs));
      if (!(d.fence?.admit('registration', reply.epoch ?? 0, { masterId: reply.masterId }) ?? true)) {
        throw new Error(`answered by a deposed master (epoch ${reply.epoch ?? 0}; this agent has seen epoch ${d.fence?.highest})`);
      }
      if (reply.error) throw new Error(`the master refused: ${reply.error}`);
      if (!reply.agentId) throw new Error('the master replied without an agent id');
      d.subjects.agentAll(d.owner, reply.agentId); // throws on an id that cannot be a subject
    } catch (err) {
      if (this.stopped) return;
      const delay = registrationBackoffMs(n, d.random, d.backoffFactorMs, d.backoffMaxMs);
      d.log.warn(`registration failed; retrying in ${delay} ms`, { attempt: n + 1, err });
      this.schedule(() => this.attempt(n + 1), delay);
      return;
    }
    if (this.stopped) return;
    this.heartbeatMs = d.heartbeatIntervalMs ?? (reply.heartbeatIntervalMs || FALLBACK_HEARTBEAT_MS);
    const reregistered = this.registeredOnce;
    this.registeredOnce = true;
    this.failedHeartbeats = 0;
    this.isRegistered = true;
    d.log.info(reregistered ? 're-registered with the master' : 'registered with the master', { agentId: reply.agentId, masterId: reply.masterId });
    await d.onRegistered(reply, reregistered);
    this.schedule(() => this.heartbeat(), this.heartbeatMs);
  }

  private async heartbeat(): Promise<void> {
    this.beating = true;
    try {
      await this.beat();
    } finally {
      this.beating = false;
    }
    if (this.beatAgain) {
      this.beatAgain = false;
      this.beatNow();
    }
  }

  private async beat(): Promise<void> {
    const d = this.deps;
    const agentId = d.agentInfo().id;
    const degradedReason = d.degradedReason?.();
    try {
      const hb = encodeHeartbeat({ agentId, timestampMs: d.clock.now(), ...(degradedReason ? { degradedReason } : {}) });
      const bytes = await d.link.request(d.subjects.heartbeat(d.owner), hb, d.requestTimeoutMs);
      const reply = decodeHeartbeatReply(bytes);
      if (this.stopped) return;
      // A deposed master's answer (its `reregister` included) is no answer: keep beating.
      if (!(d.fence?.admit('heartbeat', reply.epoch ?? 0, { masterId: reply.masterId }) ?? true)) {
        this.schedule(() => this.heartbeat(), this.heartbeatMs);
        return;
      }
      this.failedHeartbeats = 0;
      if (reply.reregister) {
        this.isRegistered = false;
        d.log.warn('the master does not know this agent; registering again', { agentId, masterId: reply.masterId });
        this.now(() => this.attempt(0));
        return;
      }
    } catch (err) {
      if (this.stopped) return;
      // Keep beating: when a master is back it answers, and tells us if it needs us again.
      this.failedHeartbeats++;
      if (this.failedHeartbeats === 1 || this.failedHeartbeats % 10 === 0) {
        d.log.warn('heartbeat unanswered', { agentId, consecutive: this.failedHeartbeats, err });
      }
    }
    this.schedule(() => this.heartbeat(), this.heartbeatMs);
  }

  private now(fn: () => Promise<void>): void {
    fn().catch((err) => this.deps.log.error('registration loop failed', { err }));
  }

  private schedule(fn: () => Promise<void>, ms: number): void {
    if (this.stopped) return;
    this.timer?.cancel();
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      fn().catch((err) => this.deps.log.error('registration loop failed', { err }));
    }, ms);
  }
}

/**
 * A master that begins to lead says so on `subject`: the agent heartbeats at once (a master
 * that does not know it yet answers `reregister`) instead of up to a heartbeat interval later.
 * After a random wait of up to a second, so that a thousand agents do not arrive in one instant.
 */
export function followLeaders(
  nc: { subscribe(subject: string, opts: { callback: (err: Error | null) => void }): unknown },
  subject: string, time: { clock: Clock; random: Random }, beat: () => void, log: Logger,
): void {
  nc.subscribe(subject, { callback: (err) => {
    if (err) return log.warn('cannot follow leader announcements; a new leader is heard at the next heartbeat', { err });
    time.clock.setTimeout(beat, Math.floor(time.random.next() * 1000));
  } });
}
