/**
 * One allocation cycle, around the pure allocator: snapshot the master's state, ask
 * `allocate` for decisions, check each against what the agent really has free (a decision
 * that does not fit is an allocator bug), and turn them into offers — one OFFERS event per
 * framework per cycle, one OFFERED line per offer in the offer log.
 */
import assert from 'node:assert/strict';
import type { Random } from '../common/clock';
import { add, contains, format, type Resources } from '../common/resources';
import type { Offer } from '../common/types';
import { newOfferId } from './offer-ids';
import { agentUsage, assertNotOvercommitted, offerable, type AgentUsage } from './agents';
import type { AllocationSnapshot, OfferDecision } from './allocator/types';
import { expireOffer, now, tell, type MasterState } from './state';

export type AllocateFn = (snapshot: AllocationSnapshot, now: number, random: Random) => OfferDecision[];

export function usageOf(s: MasterState, agentId: string): AgentUsage {
  const agent = s.agents.get(agentId);
  assert(agent, `agent ${agentId} is not registered`);
  return agentUsage(agent.info.resources, s.tasks.usedOn(agentId), s.offers.offeredOn(agentId));
}

export function buildSnapshot(s: MasterState, at: number): AllocationSnapshot {
  return {
    // Only an active agent that takes launches is offered (`offerable`).
    agents: s.agents.all().filter(offerable).map((a) => {
      const usage = usageOf(s, a.info.id);
      return { id: a.info.id, available: usage.available, total: usage.total };
    }),
    frameworks: s.frameworks.all().map((f) => ({
      id: f.info.id,
      roles: f.info.roles,
      suppressedRoles: f.suppressedRoles,
      allocated: merge(s.tasks.usedBy(f.info.id), s.offers.offeredTo(f.info.id)),
      active: f.connection !== undefined,
    })),
    weights: s.weights,
    filters: s.filters.active(at),
    minAllocatable: s.config.minAllocatable,
  };
}

function merge(a: Map<string, Resources>, b: Map<string, Resources>): Map<string, Resources> {
  const out = new Map(a);
  for (const [role, rs] of b) out.set(role, add(out.get(role) ?? [], rs));
  return out;
}

export function runAllocation(s: MasterState, allocate: AllocateFn): void {
  const at = now(s);
  const decisions = allocate(buildSnapshot(s, at), at, s.config.random);
  const byFramework = new Map<string, Offer[]>();
  for (const decision of decisions) {
    const offer = makeOffer(s, decision, at);
    const list = byFramework.get(offer.frameworkId) ?? [];
    list.push(offer);
    byFramework.set(offer.frameworkId, list);
  }
  for (const [frameworkId, offers] of byFramework) {
    for (const offer of offers) {
      s.offerLog.record({
        type: 'OFFERED', at, offerId: offer.id, frameworkId, agentId: offer.agentId, role: offer.role, resources: format(offer.resources),
      });
    }
    tell(s, frameworkId, { type: 'OFFERS', offers });
    const sentAt = now(s);
    for (const offer of offers) {
      const held = s.offers.get(offer.id);
      if (held) held.sentAt = sentAt;
    }
  }
}

function makeOffer(s: MasterState, decision: OfferDecision, at: number): Offer {
  const { frameworkId, agentId, role, resources } = decision;
  const framework = s.frameworks.get(frameworkId);
  assert(framework?.connection, `allocator offered to framework ${frameworkId}, which is not connected`);
  assert(framework.info.roles.includes(role), `allocator offered role ${role} to framework ${frameworkId}, which is not in it`);
  const agent = s.agents.get(agentId);
  assert(agent, `allocator offered resources of unknown agent ${agentId}`);
  const free = usageOf(s, agentId).available;
  assert(contains(free, resources), `allocator offered ${format(resources)} of agent ${agentId}, which has ${format(free)} free`);
  const offer: Offer = {
    id: newOfferId(s.config.epoch), frameworkId, agentId, hostname: agent.info.hostname, resources, role, attributes: { ...agent.info.attributes },
  };
  const timeoutMs = s.config.offerTimeoutMs;
  const expiry = timeoutMs > 0
    ? s.config.clock.setTimeout(() => expireOffer(s, offer.id, timeoutMs), timeoutMs)
    : undefined;
  s.offers.add({ offer, offeredAt: at, expiry });
  assertNotOvercommitted(agentId, usageOf(s, agentId));
  return offer;
}
