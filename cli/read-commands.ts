/** `agora agents`, `agora frameworks`, `agora tasks`, `agora weights`: what an operator looks at (the offer log: offers.ts). */
import type { MasterStateView } from '../common/operator-types';
import { TASK_STATES, type TaskState } from '../common/types';
import { getJson, masterAddress, postJson, putJson } from '../common/operator-client';
import { parseArgs, UsageError } from '../common/flags';
import { ago, table } from './table';

const fmt = (n: number) => String(Math.round(n * 100) / 100);

export async function agents(argv: string[], out: (s: string) => void): Promise<number> {
  if (argv[0] === 'gone') return markGone(argv.slice(1), out);
  const { flags } = parseArgs(argv, { master: 'string', json: 'boolean' });
  const state = await getJson<MasterStateView>(masterAddress(flags.master), '/api/v1/state');
  if (flags.json) { out(JSON.stringify(state.agents, null, 2)); return 0; }
  out(table(['ID', 'HOSTNAME', 'STATUS', 'CPUS (used/total)', 'MEM MB (used/total)', 'HEARTBEAT'],
    state.agents.map((a) => [a.id, a.hostname, a.status,
      `${fmt(a.used.cpus)}/${fmt(a.total.cpus)}`, `${fmt(a.used.mem)}/${fmt(a.total.mem)}`, `${ago(a.lastHeartbeatAt)} ago`])));
  return 0;
}

/** `agora agents gone <agent-id>`: the machine is dead for good; its tasks end TASK_GONE_BY_OPERATOR. */
async function markGone(argv: string[], out: (s: string) => void): Promise<number> {
  const { flags, positional } = parseArgs(argv, { master: 'string' }, { positional: true });
  if (positional.length !== 1) throw new UsageError('agora agents gone needs exactly one agent id');
  await postJson(masterAddress(flags.master), `/api/v1/agents/${encodeURIComponent(positional[0]!)}/gone`);
  out(`agent ${positional[0]} marked gone: its tasks are TASK_GONE_BY_OPERATOR and it may not register again`);
  return 0;
}

/** `agora weights` lists the role weights; `agora weights set prod=3 batch=0.5` changes them. */
export async function weights(argv: string[], out: (s: string) => void): Promise<number> {
  const { flags, positional } = parseArgs(argv, { master: 'string', json: 'boolean' }, { positional: true });
  const addr = masterAddress(flags.master);
  let current: Record<string, number>;
  if (positional[0] === 'set') {
    const pairs = positional.slice(1);
    if (pairs.length === 0) throw new UsageError('agora weights set needs role=weight pairs, e.g. agora weights set prod=3');
    const update: Record<string, number> = {};
    for (const pair of pairs) {
      const m = /^([^=]+)=(.+)$/.exec(pair);
      if (!m || !Number.isFinite(Number(m[2]))) throw new UsageError(`'${pair}' is not role=weight, e.g. prod=3`);
      update[m[1]!] = Number(m[2]);
    }
    current = await putJson<Record<string, number>>(addr, '/api/v1/weights', update);
  } else if (positional.length === 0) {
    current = await getJson<Record<string, number>>(addr, '/api/v1/weights');
  } else {
    throw new UsageError(`unexpected argument '${positional[0]}': use agora weights [set role=weight ...]`);
  }
  if (flags.json) { out(JSON.stringify(current, null, 2)); return 0; }
  out(table(['ROLE', 'WEIGHT'], Object.entries(current).sort().map(([role, w]) => [role, String(w)])));
  return 0;
}

/** `--state running` or `--state TASK_RUNNING`, any case; anything else is refused naming the states there are. */
function stateFilter(text: string | undefined): TaskState | undefined {
  if (text === undefined) return undefined;
  const name = text.toUpperCase().replace(/^(TASK_)?/, 'TASK_');
  const state = TASK_STATES.find((s) => s === name);
  if (!state) throw new UsageError(`'${text}' is not a task state: one of ${TASK_STATES.map((s) => s.slice(5).toLowerCase()).join(', ')}`);
  return state;
}

export async function tasks(argv: string[], out: (s: string) => void): Promise<number> {
  const { flags } = parseArgs(argv, { master: 'string', json: 'boolean', framework: 'string', state: 'string' });
  const only = stateFilter(flags.state);
  const state = await getJson<MasterStateView>(masterAddress(flags.master), '/api/v1/state');
  const list = state.tasks.filter((t) => (!flags.framework || t.frameworkId === flags.framework) && (!only || t.state === only));
  if (flags.json) { out(JSON.stringify(list, null, 2)); return 0; }
  out(table(['ID', 'STATE', 'FRAMEWORK', 'AGENT', 'CPUS', 'MEM', 'MESSAGE'],
    list.map((t) => [t.id, t.state, t.frameworkId, t.agentId, fmt(t.resources.cpus), fmt(t.resources.mem), t.message])));
  return 0;
}

/** `agora frameworks`: who is subscribed, for which roles, with what. */
export async function frameworks(argv: string[], out: (s: string) => void): Promise<number> {
  const { flags } = parseArgs(argv, { master: 'string', json: 'boolean' });
  const state = await getJson<MasterStateView>(masterAddress(flags.master), '/api/v1/state');
  if (flags.json) { out(JSON.stringify(state.frameworks, null, 2)); return 0; }
  out(table(['ID', 'NAME', 'ROLES', 'CONNECTED', 'TASKS', 'CPUS (used/offered)', 'MEM MB (used/offered)', 'SUPPRESSED', 'SINCE'],
    state.frameworks.map((f) => [f.id, f.name, f.roles.join(','), f.connected ? 'yes' : 'no', String(f.taskCount),
      `${fmt(f.used.cpus)}/${fmt(f.offered.cpus)}`, `${fmt(f.used.mem)}/${fmt(f.offered.mem)}`, f.suppressedRoles.join(',') || '-', `${ago(f.registeredAt)} ago`])));
  return 0;
}
