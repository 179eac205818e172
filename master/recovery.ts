/**
 * A master starting on a registry that already holds records takes over from an earlier
 * one. Agents are expected back: they are listed at once as **recovering** until they register
 * again (their next heartbeat is answered `reregister`) or `agentReregisterTimeoutMs` ends,
 * when they turn unreachable. Meanwhile their resources are not offered — they have not said
 * which their tasks hold — and reconciliation answers nothing for tasks on them (reconcile.ts):
 * a master restart must not look like a partition to frameworks. Frameworks are known again, disconnected, and their
 * failover timers re-armed from the stored deadline: one that does not return is removed at
 * its original deadline, one that returns keeps its id. Unlike Mesos (MESOS-4659), a master
 * restart does not give every framework a fresh failover timeout — nor remove them all.
 */
import assert from 'node:assert/strict';
import type { AgentInfo } from '../common/types';
import { armFailover } from './framework-calls';
import type { AgentRegistry, StoredFramework } from './registry';
import { now, persist, removeFramework, type MasterState } from './state';

/** What a registry holds, read back by the shell. */
export interface Recovered {
  agents: readonly AgentInfo[];
  frameworks: readonly StoredFramework[];
  gone?: readonly string[];
  /** Role weights operators set; they win over the configured ones. */
  weights?: Readonly<Record<string, number>>;
}

/** Reads everything `recover` needs from a registry. */
export async function readRegistry(registry: AgentRegistry): Promise<Recovered> {
  const [agents, frameworks, gone, weights] = await Promise.all([
    registry.list(), registry.listFrameworks(), registry.listGone(), registry.loadWeights(),
  ]);
  return { agents, frameworks, gone, weights };
}

export function recover(s: MasterState, { agents, frameworks, gone = [], weights = {} }: Recovered): void {
  const at = now(s);
  for (const id of gone) s.goneAgents.add(id);
  for (const [role, w] of Object.entries(weights)) s.weights.set(role, w);
  for (const info of agents) {
    assert(info.id, 'a registry agent has an id');
    if (s.goneAgents.has(info.id)) continue;
    if (s.agents.has(info.id)) continue; // already registered again: its own report is newer
    s.agents.set({ info, registeredAt: at, lastHeartbeatAt: at, version: '', recoveringUntil: at + s.config.agentReregisterTimeoutMs });
  }
  for (const stored of frameworks) recoverFramework(s, stored, at);
  s.log.info('recovered from the registry', { agents: agents.length, frameworks: s.frameworks.all().length });
}

function recoverFramework(s: MasterState, { info, failoverDeadlineMs }: StoredFramework, at: number): void {
  assert(info.id, 'a registry framework has an id');
  if (s.frameworks.get(info.id)) return; // subscribed again already
  // Connected when the last master stopped: its failover timeout starts now, as it would have
  // when that master noticed the stream go. A timeout of 0 would remove it at once, and a
  // removed id cannot subscribe again, so such a framework is forgotten instead: it may come
  // back with its id like one this master never met.
  const deadlineMs = failoverDeadlineMs ?? (info.failoverTimeoutMs > 0 ? at + info.failoverTimeoutMs : undefined);
  if (deadlineMs === undefined) {
    persist(s, `remove framework ${info.id}`, () => s.registry.removeFramework(info.id));
    return;
  }
  const record = { info, registeredAt: at, suppressedRoles: new Set<string>() };
  s.frameworks.add(record);
  if (deadlineMs <= at) {
    removeFramework(s, record, `its failover deadline passed while no master was running (${at - deadlineMs} ms ago)`);
    return;
  }
  armFailover(s, record, deadlineMs);
  if (failoverDeadlineMs === null) persist(s, `save framework ${info.id}`, () => s.registry.saveFramework(info, deadlineMs));
}
