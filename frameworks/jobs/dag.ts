/**
 * Dependencies between jobs, as a DAG: a job with parents runs when every parent has
 * succeeded since the job last ran (a `softError` parent counts when it failed, too). Pure;
 * the state it needs — when each job last counted as done, when each child last ran — is
 * plain data the framework keeps in Redis, so it survives a restart (Chronos lost it:
 * chronos#811).
 */

export interface DagJob {
  id: string;
  parents: readonly string[];
  softError?: boolean;
}

export interface DagState {
  /** When each job last finished in a way that lets its children go (success, or any end with softError). */
  doneAt: Record<string, number>;
  /** When each dependent job was last started by its parents. */
  triggeredAt: Record<string, number>;
}

/**
 * Why `job` cannot join `jobs` (replacing one of the same id): a parent that does not exist,
 * or a cycle, named in order (`a → b → c → a`). Undefined when it can.
 */
export function dependencyProblem(jobs: readonly DagJob[], job: DagJob): string | undefined {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  byId.set(job.id, job);
  const missing = job.parents.filter((p) => !byId.has(p));
  if (missing.length > 0) return `parent${missing.length > 1 ? 's' : ''} ${missing.map((p) => `'${p}'`).join(', ')} of '${job.id}' do${missing.length > 1 ? '' : 'es'} not exist`;
  const cycle = findCycle([...byId.values()]);
  return cycle ? `the dependencies would form a cycle: ${cycle.join(' → ')}` : undefined;
}

/** A cycle among the jobs' parent links, as ids from a job back to itself; undefined if none. */
export function findCycle(jobs: readonly DagJob[]): string[] | undefined {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  // Iterative depth-first search: a long chain of jobs must not overflow the stack.
  for (const root of [...byId.keys()].sort()) {
    if (state.has(root)) continue;
    const stack: { id: string; next: number }[] = [{ id: root, next: 0 }];
    state.set(root, 'visiting');
    path.push(root);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const parents = byId.get(top.id)?.parents ?? [];
      if (top.next >= parents.length) {
        state.set(top.id, 'done');
        stack.pop();
        path.pop();
        continue;
      }
      const p = parents[top.next++]!;
      if (!byId.has(p)) continue;
      if (state.get(p) === 'visiting') return [...path.slice(path.indexOf(p)), p].reverse();
      if (state.get(p) === 'done') continue;
      state.set(p, 'visiting');
      path.push(p);
      stack.push({ id: p, next: 0 });
    }
  }
  return undefined;
}

/**
 * A job ended at `at`: the new state, and the children that may now run — those all of whose
 * parents are done since the child was last triggered.
 */
export function afterEnd(jobs: readonly DagJob[], state: DagState, ended: { id: string; at: number; success: boolean }): { state: DagState; run: string[] } {
  const job = jobs.find((j) => j.id === ended.id);
  if (!ended.success && !job?.softError) return { state, run: [] };
  const doneAt = { ...state.doneAt, [ended.id]: ended.at };
  const triggeredAt = { ...state.triggeredAt };
  const run: string[] = [];
  for (const child of jobs) {
    if (!child.parents.includes(ended.id)) continue;
    const since = triggeredAt[child.id] ?? -Infinity;
    if (child.parents.every((p) => (doneAt[p] ?? -Infinity) > since)) {
      run.push(child.id);
      triggeredAt[child.id] = ended.at;
    }
  }
  return { state: { doneAt, triggeredAt }, run: run.sort() };
}
