/**
 * The chaos run's history: every thing that happened, one JSON object a line, in the order the
 * harness learned of it. The checkers (checkers.ts) and the report (report.ts) read nothing else,
 * so a run can be judged again from its `history.jsonl` alone.
 *
 * Times (`t`) are the harness's wall clock in ms (Date.now()): every observer lives in the one
 * harness process, so their order is the order the harness saw things in, which is all the
 * checkers rely on.
 */
import { appendFileSync, readFileSync } from 'fs';

/** What the load generator asks of the cluster (load.ts). */
export type OpKind = 'launch' | 'kill' | 'app-create' | 'app-scale' | 'app-destroy' | 'job-create' | 'job-run';

/** The faults (nemesis.ts); framework-leader kills wait for framework replicas. */
export type NemesisKind =
  | 'kill-leader' | 'pause-leader' | 'kill-nats-node' | 'restart-nats' | 'restart-redis' | 'kill-redis' | 'kill-agent'
  | 'restart-docker' | 'kill-services-leader' | 'kill-jobs-leader';

export type ChaosEvent = { t: number } & (
  /** An operation asked (`op` numbers it), and its answer. */
  | { type: 'invoke'; op: number; f: OpKind; args: Record<string, unknown> }
  | { type: 'complete'; op: number; f: OpKind; ok: boolean; result?: Record<string, unknown>; error?: string }
  /** An offer the SDK framework received; `epoch` read from its id (`offer-e<epoch>-…`). */
  | { type: 'offer'; offerId: string; epoch: number | null; agentId: string }
  /** A status update the SDK framework received, and its acknowledgement at the master. */
  | { type: 'update'; taskId: string; state: string; uuid?: string; reason?: string; source?: string }
  | { type: 'ack'; taskId: string; state: string; uuid: string; ok: boolean; error?: string }
  /** One master's `/health`, recorded when it changes; `observer` is the master's slot (m1, m2, m3). No role: it stopped answering. */
  | { type: 'health'; observer: string; pid?: number; role?: string; epoch: number | null; leader?: string | null }
  /** A fault injected (start) and healed (end); `fault` numbers it. */
  | { type: 'nemesis'; phase: 'start' | 'end'; fault: number; kind: NemesisKind; target?: string; detail?: string }
  /** A supervised process went away or came (back) up. */
  | { type: 'process'; name: string; phase: 'down' | 'up'; pid?: number; cause: string }
  /** One line of the ground-truth start file: a task's command really began (`at`: its own clock, ms). */
  | { type: 'start'; taskId: string; at: number; engine?: 'docker' | 'process' }
  /** The master's final answer to an explicit reconciliation of one SDK task. */
  | { type: 'reconciled'; taskId: string; state: string }
  /** The jobs framework's final list of one job's runs. */
  /** Each run's attempts: how each ended (exit code, when), as the jobs API lists them. */
  | { type: 'job-runs'; jobId: string; runs: { runId: string; status: string; attempts?: { exitCode: number | null; endedAt: number | null }[] }[] }
  /** A sample of one app at the services framework. */
  | { type: 'app'; appId: string; instances: number; running: number; minimumHealthCapacity: number; deploying: boolean }
  /** The cluster did not get steady again after a fault: the run injects no more faults. */
  | { type: 'stuck'; fault: number; what: string }
  /** The run's phases: load (faults injected), heal (everything back, load drained), final (the last reads), done. */
  | { type: 'phase'; name: 'load' | 'heal' | 'final' | 'done' }
);

export type EventOf<T extends ChaosEvent['type']> = Extract<ChaosEvent, { type: T }>;

/** Distributes Omit over the union, so each variant keeps its own fields. */
type WithoutTime<E> = E extends unknown ? Omit<E, 't'> : never;
export type NewEvent = WithoutTime<ChaosEvent>;

/** Appends events to a JSONL file (synchronously: a crash of the harness loses nothing it wrote) and keeps them. */
export class History {
  readonly events: ChaosEvent[] = [];
  constructor(readonly path: string, private readonly now: () => number = Date.now) {}

  add(e: NewEvent): ChaosEvent {
    const event = { t: this.now(), ...e } as ChaosEvent;
    this.events.push(event);
    appendFileSync(this.path, `${JSON.stringify(event)}\n`);
    return event;
  }
}

export function readHistory(path: string): ChaosEvent[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as ChaosEvent);
}

export function eventsOf<T extends ChaosEvent['type']>(h: readonly ChaosEvent[], type: T): EventOf<T>[] {
  return h.filter((e): e is EventOf<T> => e.type === type);
}

/** The epoch an offer id names (`offer-e<epoch>-<uuid>`, master/offer-ids.ts), or null. */
export function offerEpoch(offerId: string): number | null {
  const m = /^offer-e(\d+)-/.exec(offerId);
  return m ? Number(m[1]) : null;
}
