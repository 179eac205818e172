/**
 * The NATS subjects agents and the master talk on. The prefix (default `agora`) lets two
 * clusters share one NATS deployment. Only the leading master subscribes to `master.*`.
 */
export interface Subjects {
  /** Request/reply: RegisterAgentRequest → RegisterAgentResponse. */
  register: string;
  /** Request/reply: AgentHeartbeat → HeartbeatResponse. */
  heartbeat: string;
  /** Agent → master: StatusUpdateMessage, resent until acknowledged. */
  status: string;
  /** Agent → master: AgentUsage, every usage interval; no reply. */
  usage: string;
  /** Request/reply: UnregisterAgentRequest → UnregisterAgentResponse, when an agent stops for good. */
  unregister: string;
  /** Master → one agent: RunTaskMessage. */
  run(agentId: string): string;
  /** Master → one agent: KillTaskMessage. */
  kill(agentId: string): string;
  /** Master → one agent: StatusUpdateAck. */
  ack(agentId: string): string;
  /** Every subject an agent listens on, for one subscription. */
  agentAll(agentId: string): string;
}

export function subjects(prefix = 'agora'): Subjects {
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) {
    throw new Error(`invalid NATS subject prefix '${prefix}': use letters, digits, '-', '_' and dots`);
  }
  const agent = (id: string) => {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) throw new Error(`agent id '${id}' cannot be part of a NATS subject`);
    return `${prefix}.agent.${id}`;
  };
  return {
    register: `${prefix}.master.register`,
    heartbeat: `${prefix}.master.heartbeat`,
    status: `${prefix}.master.status`,
    unregister: `${prefix}.master.unregister`,
    usage: `${prefix}.master.usage`,
    run: (id) => `${agent(id)}.run`,
    kill: (id) => `${agent(id)}.kill`,
    ack: (id) => `${agent(id)}.ack`,
    agentAll: (id) => `${agent(id)}.>`,
  };
}
