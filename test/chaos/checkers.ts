/**
 * The chaos run's rules, each a pure function of the history (history.ts) to its violations.
 * None reads a clock, a file or a server, so each is specified by hand-written histories
 * (checkers.test.ts) and a run can be judged again from its history file.
 *
 * | rule | holds when |
 * | --- | --- |
 * | `started-once` | no task id has two lines in the start file: no process began twice |
 * | `acked-updates-kept` | an update the SDK framework acknowledged is not undone by the final reconciliation |
 * | `job-runs-once` | each run the jobs framework accepted ran exactly once, and ended SUCCESS, listed once |
 * | `epochs-increase` | no observer sees a master's epoch go down |
 * | `one-leader-per-epoch` | no two master processes report leading in one epoch, and no offer of an older epoch reaches the framework after a newer one began |
 * | `deposed-leaders-go` | a master reporting leader stops doing so within `staleMs` (10 s) of a newer epoch's leader reporting |
 * | `app-capacity` | an app outside a deployment and outside a fault's settling window runs at least ⌈instances × minimumHealthCapacity⌉ |
 */
import { eventsOf, type ChaosEvent, type EventOf } from './history';

export interface Violation {
  rule: RuleName;
  message: string;
  /** The events that show it, at most a handful. */
  events: ChaosEvent[];
}

export type RuleName = 'started-once' | 'acked-updates-kept' | 'job-runs-once' | 'epochs-increase' | 'one-leader-per-epoch' | 'deposed-leaders-go' | 'app-capacity';

const TERMINAL = new Set(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE', 'TASK_GONE_BY_OPERATOR']);
export const isTerminalState = (s: string): boolean => TERMINAL.has(s);

/** Rule `started-once`: every task id at most one line in the start file. */
export function startedOnce(h: readonly ChaosEvent[]): Violation[] {
  const byTask = new Map<string, EventOf<'start'>[]>();
  for (const s of eventsOf(h, 'start')) byTask.set(s.taskId, [...(byTask.get(s.taskId) ?? []), s]);
  return [...byTask.entries()].filter(([, starts]) => starts.length > 1).map(([taskId, starts]) => ({
    rule: 'started-once', message: `task ${taskId} started ${starts.length} times`, events: starts.slice(0, 5),
  }));
}

/** Task ids the load generator asked to kill (whether or not the call was answered). */
function killed(h: readonly ChaosEvent[]): Set<string> {
  return new Set(eventsOf(h, 'invoke').filter((e) => e.f === 'kill').map((e) => String(e.args.taskId)));
}

/**
 * Rule `acked-updates-kept`. For each SDK task with an acknowledged update (`ack` with ok):
 * - a terminal state acknowledged: the final reconciliation may not show the task live again
 *   (a missing answer is allowed: the master may have forgotten a finished task);
 * - only live states acknowledged: the final reconciliation must answer TASK_RUNNING — or, if the
 *   load generator asked to kill it, TASK_KILLING or TASK_KILLED. Anything else (LOST, GONE,
 *   UNKNOWN, no answer) means the RUNNING the framework was told, and acknowledged, was lost.
 */
export function ackedUpdatesKept(h: readonly ChaosEvent[]): Violation[] {
  const acks = new Map<string, EventOf<'ack'>[]>();
  for (const a of eventsOf(h, 'ack')) if (a.ok) acks.set(a.taskId, [...(acks.get(a.taskId) ?? []), a]);
  const final = new Map(eventsOf(h, 'reconciled').map((r) => [r.taskId, r]));
  const kills = killed(h);
  const out: Violation[] = [];
  for (const [taskId, acked] of acks) {
    const answer = final.get(taskId);
    const terminal = acked.find((a) => isTerminalState(a.state));
    if (terminal) {
      if (answer && !isTerminalState(answer.state)) {
        out.push({ rule: 'acked-updates-kept', message: `task ${taskId}: ${terminal.state} was acknowledged, yet the final reconciliation says ${answer.state}`, events: [terminal, answer] });
      }
      continue;
    }
    const allowed = kills.has(taskId) ? ['TASK_RUNNING', 'TASK_KILLING', 'TASK_KILLED'] : ['TASK_RUNNING'];
    if (!answer || !allowed.includes(answer.state)) {
      const last = acked[acked.length - 1]!;
      out.push({
        rule: 'acked-updates-kept',
        message: `task ${taskId}: ${last.state} was acknowledged, yet the final reconciliation ${answer ? `says ${answer.state}` : 'has no answer'} (expected ${allowed.join(' or ')})`,
        events: answer ? [last, answer] : [last],
      });
    }
  }
  return out;
}

/** A jobs task id names its run: `<jobId>.<runId>.<attempt>` (frameworks/jobs/launch.ts). */
export function runOfTaskId(taskId: string): { jobId: string; runId: string; attempt: number } | undefined {
  const m = /^(.+)\.([0-9]{14}[a-z0-9]{5})\.([0-9]+)$/.exec(taskId);
  return m ? { jobId: m[1]!, runId: m[2]!, attempt: Number(m[3]) } : undefined;
}

/** How long after a `restart-docker` fault ends an attempt's end still counts as within it (ms). */
const ENGINE_SETTLE_MS = 5_000;

/**
 * Per run, its attempts whose exit status the Docker engine lost: each ended with 255 during a
 * `restart-docker` fault (or within ENGINE_SETTLE_MS of its end). Docker 20.10 stopped while it
 * handles a container's exit restores that container as exited 255, whatever the command
 * returned; a run then tried again under ON_FAILURE has started twice, though no part of Agora
 * lost anything. Each such attempt excuses one more start line of its run, and no other.
 */
export function engineLostExits(h: readonly ChaosEvent[]): Map<string, number> {
  const starts = new Map<number, number>();
  const windows: [number, number][] = [];
  for (const e of eventsOf(h, 'nemesis')) {
    if (e.kind !== 'restart-docker') continue;
    if (e.phase === 'start') starts.set(e.fault, e.t);
    else windows.push([starts.get(e.fault) ?? e.t, e.t + ENGINE_SETTLE_MS]);
  }
  const out = new Map<string, number>();
  for (const list of eventsOf(h, 'job-runs')) {
    for (const run of list.runs) {
      const lost = (run.attempts ?? []).filter((a) => a.exitCode === 255 && a.endedAt !== null && windows.some(([from, to]) => a.endedAt! >= from && a.endedAt! <= to));
      if (lost.length > 0) out.set(run.runId, lost.length);
    }
  }
  return out;
}

/**
 * Rule `job-runs-once`. A run's tasks are its attempts. The load's jobs never fail, and restart
 * ON_FAILURE: an attempt lost before its command began is tried again, which is right; a second
 * attempt after one that began is the same occurrence run twice. For every run in the start file: one start line at
 * most. For every run the jobs framework acknowledged (`job-run` answered with a runId): exactly
 * one start line, and the job's final list holds it once, SUCCESS.
 */
export function jobRunsOnce(h: readonly ChaosEvent[]): Violation[] {
  const out: Violation[] = [];
  const starts = new Map<string, EventOf<'start'>[]>();
  for (const s of eventsOf(h, 'start')) {
    const run = runOfTaskId(s.taskId);
    if (run) starts.set(run.runId, [...(starts.get(run.runId) ?? []), s]);
  }
  const lostExits = engineLostExits(h);
  for (const [runId, lines] of starts) {
    if (lines.length > 1 + (lostExits.get(runId) ?? 0)) out.push({ rule: 'job-runs-once', message: `run ${runId} started ${lines.length} times`, events: lines.slice(0, 5) });
  }
  const lists = new Map(eventsOf(h, 'job-runs').map((l) => [l.jobId, l]));
  for (const done of eventsOf(h, 'complete')) {
    if (done.f !== 'job-run' || !done.ok || typeof done.result?.runId !== 'string') continue;
    const runId = done.result.runId;
    const jobId = String(done.result.jobId);
    const listed = lists.get(jobId)?.runs.filter((r) => r.runId === runId) ?? [];
    const started = starts.get(runId)?.length ?? 0;
    if (started === 0) out.push({ rule: 'job-runs-once', message: `run ${runId} of ${jobId} was accepted but never started`, events: [done] });
    if (listed.length !== 1 || listed[0]!.status !== 'SUCCESS') {
      const list = lists.get(jobId);
      out.push({
        rule: 'job-runs-once',
        message: `run ${runId} of ${jobId} is listed ${listed.length} times at the end${listed.length ? `, ${listed.map((r) => r.status).join(', ')}` : ''} (expected once, SUCCESS)`,
        events: list ? [done, list] : [done],
      });
    }
  }
  return out;
}

/** Rule `epochs-increase`: per observer, the epochs a master's /health reports never go down (nulls — none known yet — skipped). */
export function epochsIncrease(h: readonly ChaosEvent[]): Violation[] {
  const last = new Map<string, EventOf<'health'>>();
  const out: Violation[] = [];
  for (const e of eventsOf(h, 'health')) {
    if (e.epoch === null) continue;
    const before = last.get(e.observer);
    if (before && before.epoch !== null && e.epoch < before.epoch) {
      out.push({ rule: 'epochs-increase', message: `${e.observer} reported epoch ${e.epoch} after ${before.epoch}`, events: [before, e] });
    }
    last.set(e.observer, e);
  }
  return out;
}

/**
 * Rule `one-leader-per-epoch`: (a) no two master processes (pids) report role leader in the same
 * epoch; (b) once a newer epoch began — its first offer at the SDK framework, or the first /health
 * of a leader in it — no offer of an older epoch reaches the framework: an older leader acted.
 */
export function oneLeaderPerEpoch(h: readonly ChaosEvent[]): Violation[] {
  const out: Violation[] = [];
  const leaders = new Map<number, EventOf<'health'>[]>();
  for (const e of eventsOf(h, 'health')) {
    if (e.role !== 'leader' || e.epoch === null) continue;
    const seen = leaders.get(e.epoch) ?? [];
    if (!seen.some((s) => s.pid === e.pid)) leaders.set(e.epoch, [...seen, e]);
  }
  for (const [epoch, seen] of leaders) {
    if (seen.length > 1) out.push({ rule: 'one-leader-per-epoch', message: `pids ${seen.map((s) => s.pid).join(' and ')} both led in epoch ${epoch}`, events: seen });
  }
  let newest: ChaosEvent | undefined;
  let newestEpoch = 0;
  for (const e of h) {
    const epoch = e.type === 'offer' ? e.epoch : e.type === 'health' && e.role === 'leader' ? e.epoch : null;
    if (epoch === null) continue;
    if (e.type === 'offer' && epoch < newestEpoch) {
      out.push({ rule: 'one-leader-per-epoch', message: `offer ${e.offerId} of epoch ${epoch} arrived after epoch ${newestEpoch} began`, events: [newest!, e] });
    }
    if (epoch > newestEpoch) { newestEpoch = epoch; newest = e; }
  }
  return out;
}

/**
 * Rule `deposed-leaders-go`: a master that reports leading in epoch E stops saying so (it exits,
 * as `agora master --ha` does when deposed, or answers otherwise, or not at all) within `staleMs`
 * of a newer epoch's leader first reporting. A master stuck in between — deposed, not acting, yet
 * still answering `role: leader` and never exiting for its supervisor — breaks it.
 */
export function deposedLeadersGo(h: readonly ChaosEvent[], staleMs: number): Violation[] {
  const out: Violation[] = [];
  const leading = new Map<string, EventOf<'health'>>();   // observer → its health while it says leader
  const newer: EventOf<'health'>[] = [];                  // the first report of each epoch's leader, in order
  const check = (observer: string, until: number, ended?: ChaosEvent) => {
    const since = leading.get(observer);
    if (!since) return;
    leading.delete(observer);
    const next = newer.find((n) => n.epoch! > since.epoch! && n.t <= until);
    const from = next ? Math.max(since.t, next.t) : until;
    if (next && until - from > staleMs) {
      out.push({
        rule: 'deposed-leaders-go',
        message: `${observer} (pid ${since.pid}) still reported leading in epoch ${since.epoch} ${Math.round((until - next.t) / 1000)} s after epoch ${next.epoch} began`,
        events: ended ? [since, next, ended] : [since, next],
      });
    }
  };
  for (const e of h) {
    if (e.type === 'process' && e.phase === 'down') check(e.name, e.t, e);
    if (e.type !== 'health') continue;
    const still = leading.get(e.observer);
    if (still && e.role === 'leader' && e.epoch === still.epoch && e.pid === still.pid) continue;   // another field changed
    check(e.observer, e.t, e);
    if (e.role !== 'leader' || e.epoch === null) continue;
    leading.set(e.observer, e);
    if (!newer.some((n) => n.epoch === e.epoch)) newer.push(e);
  }
  const end = h.length ? h[h.length - 1]!.t : 0;
  for (const observer of [...leading.keys()]) check(observer, end);
  return out;
}

export interface CapacityOptions {
  /** How long after a fault ends, or an app is created or scaled, it may still be short (ms). */
  settleMs: number;
}

/** The intervals in which an app may be short for a reason outside it: each fault from start to end + settleMs. */
function faultWindows(h: readonly ChaosEvent[], settleMs: number): [number, number][] {
  const starts = new Map<number, number>();
  const windows: [number, number][] = [];
  for (const e of eventsOf(h, 'nemesis')) {
    if (e.phase === 'start') starts.set(e.fault, e.t);
    else windows.push([starts.get(e.fault) ?? e.t, e.t + settleMs]);
  }
  // A fault never healed (the run stopped in it) excuses everything after it.
  for (const [fault, t] of starts) if (!eventsOf(h, 'nemesis').some((e) => e.phase === 'end' && e.fault === fault)) windows.push([t, Infinity]);
  return windows;
}

/**
 * Rule `app-capacity`, approximated: Agora's tasks here are processes that no fault kills (a
 * SIGKILLed agent leaves them running), so an app's instances are never really dead; what can
 * make it short is a deployment (creating, scaling), or a fault that hides instances for a while
 * (the framework or master away, an agent re-registering). A sample is a violation when its app
 * runs fewer than ⌈instances × minimumHealthCapacity⌉, no deployment is in progress, its last
 * create or scale was answered more than settleMs before, and no fault was under way or ended
 * within settleMs.
 */
export function appCapacity(h: readonly ChaosEvent[], o: CapacityOptions): Violation[] {
  const windows = faultWindows(h, o.settleMs);
  const changed = new Map<string, number>();
  const out: Violation[] = [];
  const opApp = new Map<number, string>();
  for (const e of h) {
    if (e.type === 'invoke' && (e.f === 'app-create' || e.f === 'app-scale')) opApp.set(e.op, String(e.args.appId));
    if (e.type === 'complete' && opApp.has(e.op)) changed.set(opApp.get(e.op)!, e.t);
    if (e.type !== 'app') continue;
    const floor = Math.ceil(e.instances * e.minimumHealthCapacity);
    if (e.running >= floor || e.deploying) continue;
    if (e.t - (changed.get(e.appId) ?? -Infinity) <= o.settleMs) continue;
    if (windows.some(([from, to]) => e.t >= from && e.t <= to)) continue;
    out.push({ rule: 'app-capacity', message: `app ${e.appId} ran ${e.running} of ${e.instances} (floor ${floor}) outside any deployment or fault`, events: [e] });
  }
  return out;
}

export const DEFAULT_CAPACITY: CapacityOptions = { settleMs: 30_000 };
export const DEFAULT_STALE_MS = 10_000;

/** Every rule over one history. */
export function checkAll(h: readonly ChaosEvent[], capacity: CapacityOptions = DEFAULT_CAPACITY, staleMs = DEFAULT_STALE_MS): Violation[] {
  return [...startedOnce(h), ...ackedUpdatesKept(h), ...jobRunsOnce(h), ...epochsIncrease(h), ...oneLeaderPerEpoch(h), ...deposedLeadersGo(h, staleMs), ...appCapacity(h, capacity)];
}
