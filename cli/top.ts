/**
 * `agora top`: a live terminal view of the cluster — agents by state and resources (total,
 * used, offered), each role's share of the cluster, the frameworks by their dominant share,
 * the agents, and the offer log as it happens. The screen is redrawn every `--interval`
 * from the master's state; offers arrive on the offer log's stream in between. `--once`
 * prints one frame (without the live offers) and exits, for scripts and tests.
 */
import type { AgentView, FrameworkView, MasterStateView, OfferLogEvent } from '../common/operator-types';
import { parseArgs, UsageError } from '../common/flags';
import { getJson, masterAddress } from '../common/operator-client';
import { describeOfferEvent, followOffers } from './offers';
import { ago, table } from './table';

const OFFER_LINES = 8;
const CLEAR = '\x1b[2J\x1b[H';
const fmt = (n: number) => String(Math.round(n * 100) / 100);
const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;

interface Totals { cpus: number; mem: number }

function totals(agents: readonly AgentView[]): { total: Totals; used: Totals; offered: Totals } {
  const sum = (pick: (a: AgentView) => { cpus: number; mem: number }) =>
    agents.reduce((t, a) => ({ cpus: t.cpus + pick(a).cpus, mem: t.mem + pick(a).mem }), { cpus: 0, mem: 0 });
  return { total: sum((a) => a.total), used: sum((a) => a.used), offered: sum((a) => a.offered) };
}

/** A framework's dominant share: the larger of its cpus and memory in use over the cluster's (DRF). */
function share(used: Totals, total: Totals): number {
  return Math.max(total.cpus > 0 ? used.cpus / total.cpus : 0, total.mem > 0 ? used.mem / total.mem : 0);
}

function roleRows(frameworks: readonly FrameworkView[], total: Totals): string[][] {
  const roles = new Map<string, { frameworks: number; used: Totals }>();
  for (const f of frameworks) {
    // A framework of several roles is counted whole under each: the state has no per-role split.
    for (const role of f.roles) {
      const r = roles.get(role) ?? { frameworks: 0, used: { cpus: 0, mem: 0 } };
      roles.set(role, { frameworks: r.frameworks + 1, used: { cpus: r.used.cpus + f.used.cpus, mem: r.used.mem + f.used.mem } });
    }
  }
  return [...roles].sort(([a], [b]) => a.localeCompare(b))
    .map(([role, r]) => [role, String(r.frameworks), fmt(r.used.cpus), fmt(r.used.mem), pct(share(r.used, total))]);
}

/** One screen of `agora top`, as text. Pure: `now` and the offers come in. */
export function topFrame(state: MasterStateView, offers: readonly OfferLogEvent[] | undefined, now = Date.now()): string {
  const { total, used, offered } = totals(state.agents);
  const active = state.agents.filter((a) => a.status === 'ACTIVE').length;
  const running = state.tasks.filter((t) => t.state === 'TASK_RUNNING').length;
  const lines = [
    `agora top — master ${state.master.id} (${state.master.hostname}), up ${ago(state.master.startedAt, now)}`,
    `agents ${state.agents.length} (${active} active, ${state.agents.length - active} unreachable) · frameworks ${state.frameworks.length} · tasks ${state.tasks.length} (${running} running) · offers out ${state.offers.length}`,
    `cpus ${fmt(used.cpus)} used, ${fmt(offered.cpus)} offered of ${fmt(total.cpus)} · mem ${fmt(used.mem)} used, ${fmt(offered.mem)} offered of ${fmt(total.mem)} MB`,
    '',
    table(['ROLE', 'FRAMEWORKS', 'CPUS USED', 'MEM USED', 'SHARE'], roleRows(state.frameworks, total)),
    '',
    table(['FRAMEWORK', 'NAME', 'ROLES', 'TASKS', 'CPUS', 'MEM', 'SHARE', 'CONNECTED'],
      [...state.frameworks].sort((a, b) => share(b.used, total) - share(a.used, total))
        .map((f) => [f.id, f.name, f.roles.join(','), String(f.taskCount), fmt(f.used.cpus), fmt(f.used.mem), pct(share(f.used, total)), f.connected ? 'yes' : 'no'])),
    '',
    table(['AGENT', 'HOSTNAME', 'STATUS', 'CPUS used/offered/total', 'MEM used/offered/total', 'HEARTBEAT'],
      state.agents.map((a) => [a.id, a.hostname, a.status, `${fmt(a.used.cpus)}/${fmt(a.offered.cpus)}/${fmt(a.total.cpus)}`,
        `${fmt(a.used.mem)}/${fmt(a.offered.mem)}/${fmt(a.total.mem)}`, `${ago(a.lastHeartbeatAt, now)} ago`])),
    '',
    offers === undefined ? 'offer log: live in `agora top` (`agora offers --follow` for all of it)'
      : ['offer log (newest last):', ...(offers.length > 0 ? offers.slice(-OFFER_LINES).map(describeOfferEvent) : ['  nothing yet'])].join('\n'),
  ];
  return lines.join('\n');
}

/** Runs until `stop` resolves (Ctrl-C), redrawing every interval; `--once` prints one frame. */
export async function top(argv: string[], write: (text: string) => void, stop: Promise<unknown>): Promise<number> {
  const { flags } = parseArgs(argv, { master: 'string', once: 'boolean', 'interval-ms': 'number' });
  const intervalMs = flags['interval-ms'] ?? 2000;
  if (!(intervalMs >= 200)) throw new UsageError(`--interval-ms must be at least 200, got ${intervalMs}`);
  const addr = masterAddress(flags.master);
  const read = () => getJson<MasterStateView>(addr, '/api/v1/state');
  if (flags.once) {
    write(`${topFrame(await read(), undefined)}\n`);
    return 0;
  }
  const offers: OfferLogEvent[] = [];
  const abort = new AbortController();
  const following = followOffers(addr, { replay: OFFER_LINES, signal: abort.signal }, (e) => {
    offers.push(e);
    if (offers.length > OFFER_LINES) offers.shift();
  }).catch(() => undefined);   // the frame says so when the master is gone; the state read fails loudly
  let state = await read();
  let stopped = false;
  void stop.then(() => { stopped = true; });
  while (!stopped) {
    write(`${CLEAR}${topFrame(state, offers)}\n`);
    await Promise.race([new Promise((r) => setTimeout(r, intervalMs)), stop]);
    if (stopped) break;
    state = await read();
  }
  abort.abort();
  await following;
  return 0;
}
