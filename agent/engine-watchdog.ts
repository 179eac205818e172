/**
 * The container engine's watchdog. A Docker engine can wedge — Docker 20.10 before .27 when
 * many containers go at once (moby/moby#42545) — and then every call to it hangs: launches
 * never start, kills never end. An agent that went on taking launches would swallow them.
 *
 * Every `intervalMs` after the previous probe ended, the engine is probed (`/_ping` and
 * `/info`, outside the agent's line of Docker calls: docker-client.ts). A probe that fails or
 * has not answered within `timeoutMs` is a failure. After `failuresToWedge` failures in a row
 * the engine is **wedged**: the agent is **degraded** — it refuses launches and tells the
 * master, which stops offering it. One answered probe and it is healthy again.
 *
 * `watchStep` is the pure core (a fold over probe results); `EngineWatchdog` runs it on the
 * agent's clock.
 */
import type { Clock, Timer } from '../common/clock';
import type { Logger } from '../common/log';

/** What the watchdog knows: failures in a row, when the engine last answered, and whether it is wedged. */
export interface WatchState {
  failures: number;
  /** When a probe last succeeded (at first: when watching began). */
  lastAnswerAt: number;
  wedged: boolean;
  /** Why the newest failed probe failed. */
  lastError?: string;
}

export type ProbeOutcome = { ok: true } | { ok: false; why: string };

/** The engine as the agent sees it: healthy, or wedged with the reason the master is told. */
export type EngineHealth = { wedged: false } | { wedged: true; reason: string };

export function initialWatch(now: number): WatchState {
  return { failures: 0, lastAnswerAt: now, wedged: false };
}

/** The state after one probe: a success clears everything; the `failuresToWedge`-th failure in a row wedges. */
export function watchStep(state: WatchState, outcome: ProbeOutcome, now: number, failuresToWedge: number): WatchState {
  if (outcome.ok) return { failures: 0, lastAnswerAt: now, wedged: false };
  const failures = state.failures + 1;
  return { failures, lastAnswerAt: state.lastAnswerAt, wedged: state.wedged || failures >= failuresToWedge, lastError: outcome.why };
}

/** What the agent says of a state: the reason names how long the engine has been silent, as of `now`. */
export function healthOf(state: WatchState, now: number): EngineHealth {
  if (!state.wedged) return { wedged: false };
  const seconds = Math.round((now - state.lastAnswerAt) / 1000);
  return {
    wedged: true,
    reason: `the container engine has not answered for ${seconds} s (${state.failures} probes in a row failed; the last: ${state.lastError ?? 'unknown'})`,
  };
}

export interface EngineWatchdogDeps {
  clock: Clock;
  /** From the end of one probe to the start of the next. */
  intervalMs: number;
  /** A probe not answered by then is a failure (and is aborted). */
  timeoutMs: number;
  failuresToWedge: number;
  /** One look at the engine: resolves if it answered; `signal` aborts at the timeout. */
  probe(signal: AbortSignal): Promise<void>;
  /** Told when the engine becomes wedged or healthy again (not on every probe). */
  onChange(health: EngineHealth): void;
  log: Logger;
}

export class EngineWatchdog {
  private state: WatchState;
  private timer: Timer | undefined;
  /** The probe in flight: aborted, and its timeout cancelled, on stop. */
  private inFlight: { abort: AbortController; timeout: Timer } | undefined;
  private stopped = false;

  constructor(private readonly deps: EngineWatchdogDeps) {
    this.state = initialWatch(deps.clock.now());
  }

  /** Healthy, or wedged with a reason that counts the silence up to now. */
  health(): EngineHealth {
    return healthOf(this.state, this.deps.clock.now());
  }

  start(): void {
    this.stopped = false;
    this.state = initialWatch(this.deps.clock.now());
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
    this.inFlight?.timeout.cancel();
    this.inFlight?.abort.abort();
    this.inFlight = undefined;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.deps.clock.setTimeout(() => {
      this.timer = undefined;
      this.probeOnce();
    }, this.deps.intervalMs);
  }

  /** One probe, raced against the timeout on the agent's clock; whichever comes first counts. */
  private probeOnce(): void {
    const d = this.deps;
    const ac = new AbortController();
    let settled = false;
    const settle = (outcome: ProbeOutcome): void => {
      if (settled || this.stopped) return;
      settled = true;
      timeout.cancel();
      this.inFlight = undefined;
      this.record(outcome);
      this.schedule();
    };
    const timeout = d.clock.setTimeout(() => {
      settle({ ok: false, why: `no answer within ${d.timeoutMs} ms` });
      ac.abort();
    }, d.timeoutMs);
    this.inFlight = { abort: ac, timeout };
    let probing: Promise<void>;
    try {
      probing = d.probe(ac.signal);
    } catch (err) {
      probing = Promise.reject(err);
    }
    probing.then(() => settle({ ok: true }), (err: unknown) => settle({ ok: false, why: (err as Error).message ?? String(err) }));
  }

  private record(outcome: ProbeOutcome): void {
    const d = this.deps;
    const was = this.state.wedged;
    this.state = watchStep(this.state, outcome, d.clock.now(), d.failuresToWedge);
    if (!outcome.ok) d.log.debug('engine probe failed', { consecutive: this.state.failures, why: outcome.why });
    if (was === this.state.wedged) return;
    const health = this.health();
    if (health.wedged) d.log.error(`the agent is degraded and takes no launches: ${health.reason}`);
    else d.log.info('the container engine answers again; the agent takes launches');
    d.onChange(health);
  }
}
