/**
 * Garbage collection of finished sandboxes: the policy, pure. Given the sandboxes waiting to
 * be removed (each with the moment its run ended), the time and how full the work
 * directory's filesystem is, it says which go now and when to look again. The shell
 * (`gc-collector.ts`) reads the disk, removes directories and keeps the timer.
 *
 * As in Mesos (`--gc_delay`, `--gc_disk_headroom`), a finished sandbox may live at most
 *
 *   maxAge = gcDelay × max(0, 1 − headroom − usage)
 *
 * so the fuller the disk the sooner it goes, and at `usage ≥ 1 − headroom` it goes at once.
 * Note that even an empty disk keeps a sandbox only `gcDelay × (1 − headroom)`: with the
 * defaults, 0.9 of a week. Mesos behaves the same way (its disk check prunes directories
 * older than this age), and the flag is documented as a maximum.
 */
import assert from 'assert';

export interface GcPolicy {
  /** The longest a finished sandbox is kept (an empty disk keeps it `gcDelayMs × (1 − diskHeadroom)`). */
  readonly gcDelayMs: number;
  /** The fraction of the disk kept free: at usage `1 − diskHeadroom` sandboxes go at once. */
  readonly diskHeadroom: number;
}

/** A directory waiting for removal: the sandbox of a run that ended at `endedAtMs`. */
export interface GcCandidate {
  readonly path: string;
  readonly endedAtMs: number;
}

export interface GcDecision {
  /** How old a finished sandbox may be at this disk usage. */
  readonly maxAgeMs: number;
  /** Paths to remove now, oldest first. */
  readonly remove: readonly string[];
  /** When the oldest one left falls due at this usage; undefined when none is left. */
  readonly nextDueAtMs: number | undefined;
}

/** How old a finished sandbox may be when the work directory's filesystem is `usage` full. */
export function maxAgeMs(policy: GcPolicy, usage: number): number {
  assert(policy.gcDelayMs >= 0 && policy.diskHeadroom >= 0 && policy.diskHeadroom <= 1, 'a validated GC policy');
  // A reading out of range is clamped. One that is no number at all (a failed statfs) is
  // taken as an empty disk: removing is what cannot be undone, so not knowing removes least.
  const u = Number.isFinite(usage) ? Math.min(1, Math.max(0, usage)) : 0;
  return Math.floor(policy.gcDelayMs * Math.max(0, 1 - policy.diskHeadroom - u));
}

/** What to remove at `nowMs` with the disk `usage` full, and when the next one falls due. */
export function decide(candidates: Iterable<GcCandidate>, policy: GcPolicy, nowMs: number, usage: number): GcDecision {
  const maxAge = maxAgeMs(policy, usage);
  const due: GcCandidate[] = [];
  let nextDueAtMs: number | undefined;
  for (const c of candidates) {
    const dueAt = c.endedAtMs + maxAge;
    if (dueAt <= nowMs) due.push(c);
    else nextDueAtMs = nextDueAtMs === undefined ? dueAt : Math.min(nextDueAtMs, dueAt);
  }
  due.sort((a, b) => a.endedAtMs - b.endedAtMs || (a.path < b.path ? -1 : 1));
  return { maxAgeMs: maxAge, remove: due.map((c) => c.path), nextDueAtMs };
}
