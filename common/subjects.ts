/**
 * The NATS subjects agents and the master talk on. The prefix (default `agora`) lets two
 * clusters share one NATS deployment. Only the leading master subscribes to `master.*`.
 *
 * Every subject names the agent's **owner**, the principal whose credential it connected
 * with (`anonymous` on an open cluster), so NATS's subject permissions enforce who is
 * speaking (common/security/nats-auth.ts):
 *
 *   <prefix>.master.<owner>.register|heartbeat|status|usage|unregister    agent → master
 *   <prefix>.agent.<owner>.<agentId>.run|kill|ack|reconcile               master → agent
 *   <prefix>.reply.<owner>.…                                              the agent's replies
 *   <prefix>.leader                                                       master → every agent
 *
 * The master ties each agent id to the owner it registered as and refuses messages about an
 * agent from any other owner.
 */

/** The owner of agents on an open cluster (`--insecure`), where nobody is authenticated. */
export const OPEN_OWNER = 'anonymous';

export type AgentVerb = 'register' | 'heartbeat' | 'status' | 'usage' | 'unregister';

export interface Subjects {
  readonly prefix: string;
  /** Request/reply: RegisterAgentRequest → RegisterAgentResponse. */
  register(owner: string): string;
  /** Request/reply: AgentHeartbeat → HeartbeatResponse. */
  heartbeat(owner: string): string;
  /** Agent → master: StatusUpdateMessage, resent until acknowledged. */
  status(owner: string): string;
  /** Agent → master: AgentUsage, every usage interval; no reply. */
  usage(owner: string): string;
  /** Request/reply: UnregisterAgentRequest → UnregisterAgentResponse, when an agent stops for good. */
  unregister(owner: string): string;
  /** What the master subscribes to for one verb: every owner's. */
  fromAnyAgent(verb: AgentVerb): string;
  /** The owner named by a subject the master received on, or undefined for any other subject. */
  ownerOf(subject: string): string | undefined;
  /** Master → one agent: RunTaskMessage. */
  run(owner: string, agentId: string): string;
  /** Master → one agent: KillTaskMessage. */
  kill(owner: string, agentId: string): string;
  /** Master → one agent: StatusUpdateAck. */
  ack(owner: string, agentId: string): string;
  /** Master → one agent: ReconcileTasksMessage. */
  reconcile(owner: string, agentId: string): string;
  /**
   * Master → every agent: a master has just begun to lead (its master id). Agents heartbeat at
   * once, so a new leader hears them, and takes back their tasks, within moments rather than a
   * heartbeat interval later.
   */
  leader(): string;
  /** Every subject an agent listens on, for one subscription. */
  agentAll(owner: string, agentId: string): string;
  /** The inbox prefix of an owner's requests: replies come back under it. */
  inbox(owner: string): string;
}

const TOKEN = /^[A-Za-z0-9_-]+$/;

export function subjects(prefix = 'agora'): Subjects {
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) {
    throw new Error(`invalid NATS subject prefix '${prefix}': use letters, digits, '-', '_' and dots`);
  }
  const token = (what: string, value: string) => {
    if (!TOKEN.test(value)) throw new Error(`${what} '${value}' cannot be part of a NATS subject`);
    return value;
  };
  const toMaster = (verb: AgentVerb) => (owner: string) => `${prefix}.master.${token('agent owner', owner)}.${verb}`;
  const agent = (owner: string, id: string) => `${prefix}.agent.${token('agent owner', owner)}.${token('agent id', id)}`;
  const masterTokens = prefix.split('.').length + 1;
  return {
    prefix,
    register: toMaster('register'),
    heartbeat: toMaster('heartbeat'),
    status: toMaster('status'),
    usage: toMaster('usage'),
    unregister: toMaster('unregister'),
    fromAnyAgent: (verb) => `${prefix}.master.*.${verb}`,
    ownerOf: (subject) => {
      if (!subject.startsWith(`${prefix}.master.`)) return undefined;
      const owner = subject.split('.')[masterTokens];
      return owner !== undefined && TOKEN.test(owner) ? owner : undefined;
    },
    run: (owner, id) => `${agent(owner, id)}.run`,
    kill: (owner, id) => `${agent(owner, id)}.kill`,
    ack: (owner, id) => `${agent(owner, id)}.ack`,
    reconcile: (owner, id) => `${agent(owner, id)}.reconcile`,
    agentAll: (owner, id) => `${agent(owner, id)}.>`,
    leader: () => `${prefix}.leader`,
    inbox: (owner) => `${prefix}.reply.${token('agent owner', owner)}`,
  };
}

/**
 * The NATS servers in a `--nats` value: one URL, or several separated by commas (the nodes of a
 * cluster), so a process reconnects to another node when its own goes.
 */
export const natsServers = (url: string): string[] => url.split(',').map((u) => u.trim()).filter((u) => u !== '');
