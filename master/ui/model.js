// What the master's views show, computed from /api/v1/state and the event streams alone:
// resource sums, the per-role shares, task filters, offer-log lines in words. Pure: no DOM,
// no fetch, so every view computes the same numbers the same way.

export const SCALARS = ['cpus', 'mem', 'disk', 'gpus'];

/** A task's key: task ids are unique within a framework only. */
export const taskKey = (frameworkId, taskId) => `${frameworkId}/${taskId}`;

export const TERMINAL = new Set([
  'TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED',
  'TASK_GONE', 'TASK_GONE_BY_OPERATOR',
]);
export const isTerminal = (state) => TERMINAL.has(state);

/** `cpus:1.5;mem:960;ports:[31000-31099]` → { cpus: 1.5, mem: 960, disk: 0, gpus: 0 }. */
export function scalars(text) {
  const out = { cpus: 0, mem: 0, disk: 0, gpus: 0 };
  for (const part of String(text ?? '').split(';')) {
    const cut = part.indexOf(':');
    const name = part.slice(0, cut).trim().replace(/\(.*\)$/, '');
    if (cut > 0 && name in out) {
      const n = Number(part.slice(cut + 1));
      if (Number.isFinite(n)) out[name] += n;
    }
  }
  return out;
}

export function zero() { return { cpus: 0, mem: 0, disk: 0, gpus: 0 }; }

export function addTo(sum, r) {
  for (const k of SCALARS) sum[k] += r?.[k] ?? 0;
  return sum;
}

/** "1.5", "960 MiB", "2 GiB": a quantity of one scalar resource, for people. */
export function amount(name, n) {
  const v = Math.round(n * 100) / 100;
  if (name === 'mem' || name === 'disk') return v >= 1024 ? `${Math.round((v / 1024) * 10) / 10} GiB` : `${v} MiB`;
  return String(v);
}

/**
 * The cluster's totals, live: what agents have (active ones), what non-terminal tasks use,
 * what outstanding offers hold, and what is left idle.
 */
export function clusterResources(state) {
  const total = zero();
  const used = zero();
  const offered = zero();
  for (const a of state.agents.values()) if (a.status === 'ACTIVE') addTo(total, a.total);
  for (const t of state.tasks.values()) if (!isTerminal(t.state)) addTo(used, t.resources);
  for (const o of state.offers.values()) addTo(offered, o.scalars);
  const idle = zero();
  for (const k of SCALARS) idle[k] = Math.max(0, total[k] - used[k] - offered[k]);
  return { total, used, offered, idle };
}

/**
 * `key(task)` → what its non-terminal tasks use, and how many there are: by agent
 * (`(t) => t.agentId`) or by framework (`(t) => t.frameworkId`).
 */
export function usageBy(state, key) {
  const out = new Map();
  for (const t of state.tasks.values()) {
    if (isTerminal(t.state)) continue;
    const u = out.get(key(t)) ?? { used: zero(), tasks: 0 };
    addTo(u.used, t.resources);
    u.tasks += 1;
    out.set(key(t), u);
  }
  return out;
}

export const byAgent = (t) => t.agentId;
export const byFramework = (t) => t.frameworkId;

/**
 * The roles, each with its frameworks, what they use and its dominant share (the largest
 * fraction of any one cluster resource it holds, as DRF orders roles). A framework in several
 * roles counts whole under each: tasks do not say which of its roles they were launched in.
 */
export function roleShares(state) {
  const { total } = clusterResources(state);
  const used = usageBy(state, byFramework);
  const roles = new Map();
  for (const f of state.frameworks.values()) {
    for (const role of f.roles) {
      const r = roles.get(role) ?? { role, frameworks: [], used: zero(), tasks: 0 };
      r.frameworks.push(f.name || f.id);
      const u = used.get(f.id);
      if (u) { addTo(r.used, u.used); r.tasks += u.tasks; }
      roles.set(role, r);
    }
  }
  for (const r of roles.values()) {
    let share = 0;
    let of = '';
    for (const k of SCALARS) {
      if (total[k] <= 0) continue;
      const s = r.used[k] / total[k];
      if (s > share) { share = s; of = k; }
    }
    r.share = share;
    r.dominant = of;
  }
  return [...roles.values()].sort((a, b) => b.share - a.share || a.role.localeCompare(b.role));
}

/** How many of each: { ACTIVE: 3, UNREACHABLE: 1 }, { TASK_RUNNING: 9, … }. */
export function countBy(items, key) {
  const out = {};
  for (const x of items) out[key(x)] = (out[key(x)] ?? 0) + 1;
  return out;
}

/** `TASK_RUNNING` → `running`: the words of a state, for badges and filters. */
export const stateWord = (state) => String(state ?? '').replace(/^TASK_/, '').toLowerCase().replace(/_/g, ' ');

/**
 * The tasks filter: `show` is 'active' (not terminal), 'all', or one state (TASK_RUNNING);
 * `query` matches, case-insensitively, a task's id, name, state, framework name or id, and
 * agent hostname or id — every word must match somewhere.
 */
export function filterTasks(state, { show = 'active', query = '' } = {}) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const out = [];
  for (const t of state.tasks.values()) {
    if (show === 'active' ? isTerminal(t.state) : show !== 'all' && t.state !== show) continue;
    if (words.length > 0) {
      const f = state.frameworks.get(t.frameworkId);
      const a = state.agents.get(t.agentId);
      const hay = `${t.id} ${t.name} ${t.state} ${t.frameworkId} ${f?.name ?? ''} ${t.agentId} ${a?.hostname ?? ''}`.toLowerCase();
      if (!words.every((w) => hay.includes(w))) continue;
    }
    out.push(t);
  }
  // Live first, then the most recently changed: what an operator looks for.
  return out.sort((a, b) => (isTerminal(a.state) - isTerminal(b.state)) || b.updatedAt - a.updatedAt || a.id.localeCompare(b.id));
}

/** A task's health in words: 'healthy', 'unhealthy' or '' (no checks, or no verdict yet). */
export const healthWord = (t) => (t.healthy === true ? 'healthy' : t.healthy === false ? 'unhealthy' : '');

/** A live task's usage as its agent reported it: "0.12 cpu · 41 MiB", or '' when none came yet. */
export function usageText(t) {
  const s = t.statistics;
  if (!s) return '';
  const parts = [];
  if (Number.isFinite(s.cpusUserTimeSecs) || Number.isFinite(s.cpusSystemTimeSecs)) {
    parts.push(`${Math.round(((s.cpusUserTimeSecs ?? 0) + (s.cpusSystemTimeSecs ?? 0)) * 10) / 10} s cpu time`);
  }
  if (Number.isFinite(s.memRssBytes)) parts.push(`${Math.round(s.memRssBytes / 1048576)} MiB rss`);
  return parts.join(' · ');
}

/** An offer-log line's details in words: what it came to, and why. */
export function offerDetail(e) {
  switch (e.type) {
    case 'OFFERED': return '';
    case 'ACCEPTED': return `launched ${e.taskIds.length > 0 ? e.taskIds.join(', ') : 'no tasks'}${e.unused ? `; unused ${e.unused}` : ''}`;
    case 'DECLINED': return `${e.reason ? `“${e.reason}”` : 'no reason given'}; refused for ${spanMs(e.refuseMs)}`;
    case 'RESCINDED': return e.reason;
    case 'EXPIRED': return `not answered within ${spanMs(e.timeoutMs)}`;
    default: return '';
  }
}

function spanMs(ms) {
  const s = Math.round((ms ?? 0) / 1000);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  return `${Math.round((s / 3600) * 10) / 10} h`;
}

/** The offer-log filter: each given field must equal the line's; `kind` is OFFERED, DECLINED, … */
export function offerMatches(e, { framework = '', agent = '', role = '', kind = '' } = {}) {
  return (!framework || e.frameworkId === framework) && (!agent || e.agentId === agent)
    && (!role || e.role === role) && (!kind || e.type === kind);
}

/** The hash routes. */
export const agentHref = (id) => `#/agent/${encodeURIComponent(id)}`;
export const taskHref = (t) => `#/task/${encodeURIComponent(t.frameworkId)}/${encodeURIComponent(t.id)}`;
