/**
 * The master's NATS shell towards agents. In: registrations and heartbeats (request/reply),
 * status updates and usage reports. Out: run, kill and acknowledgement messages on each agent's subjects.
 * Payloads go through common/agent-messages.ts, shared with the agent. Bytes that are not the
 * message are logged and, when a reply is expected, answered with an error — never allowed to
 * take the master down.
 */
import { Events, type Msg, type NatsConnection, type Subscription } from 'nats';
import {
  decodeAgentUsage, decodeHeartbeat, decodeRegisterRequest, decodeStatusUpdate, decodeUnregister, encodeHeartbeatReply, encodeKillTask,
  encodeReconcileTasks, encodeRegisterReply, encodeRunTask, encodeStatusAck, encodeUnregisterReply, type RegisterReply,
} from '../common/agent-messages';
import type { Logger } from '../common/log';
import type { AgentVerb, Subjects } from '../common/subjects';
import type { AgentHandler } from './calls';
import { CallError } from './errors';
import type { AgentPort } from './ports';

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

// ------------------------------------------------------------------ out

/** Publishes the core's messages to agents, on the subjects of each agent's owner. A failed
 * publish is logged: the agent's own retries (status resends, re-registration) recover what
 * a lost message would break. Each carries the master's `epoch`: an agent that has heard of a
 * newer one drops it. */
export function natsAgentPort(nc: NatsConnection, subjects: Subjects, ownerOf: (agentId: string) => string, log: Logger, epoch: number): AgentPort {
  const publish = (what: string, agentId: string, subject: (owner: string, id: string) => string, bytes: () => Uint8Array) => {
    try {
      nc.publish(subject(ownerOf(agentId), agentId), bytes());
    } catch (err) {
      log.error(`cannot send ${what} to agent`, { agentId, error: messageOf(err) });
    }
  };
  return {
    run: (agentId, m) => publish('run', agentId, subjects.run, () => encodeRunTask({ ...m, epoch })),
    kill: (agentId, m) => publish('kill', agentId, subjects.kill, () => encodeKillTask({ ...m, epoch })),
    ack: (agentId, m) => publish('ack', agentId, subjects.ack, () => encodeStatusAck({ ...m, epoch })),
    reconcile: (agentId, tasks) => publish('reconcile', agentId, subjects.reconcile, () => encodeReconcileTasks(tasks, epoch)),
  };
}

// ------------------------------------------------------------------ in

export interface AgentSubscriptions {
  /** Stops listening. */
  close(): void;
}

/**
 * Listens on every owner's subjects. The owner in the subject is who sent the message (NATS's
 * permissions let a credential publish only under its own name); a request whose reply
 * subject is not that owner's inbox is dropped, so no agent can make the master publish on
 * another's subjects. Every reply carries the master's `epoch`, so an agent learns it as it
 * registers and with each heartbeat.
 */
export function serveAgents(
  nc: NatsConnection, subjects: Subjects, handler: AgentHandler & { info: { id: string } }, log: Logger, epoch: number,
): AgentSubscriptions {
  const replies = { masterId: () => handler.info.id, epoch };
  const on = (verb: AgentVerb, request: boolean, fn: (msg: Msg, sender: string) => void): Subscription =>
    nc.subscribe(subjects.fromAnyAgent(verb), { callback: (err, msg) => {
      if (err) return log.error(`${verb} subscription failed`, { error: err.message });
      const sender = subjects.ownerOf(msg.subject);
      if (sender === undefined) return log.warn(`${verb} on a subject that names no owner; dropped`, { subject: msg.subject });
      if (request && !msg.reply?.startsWith(`${subjects.inbox(sender)}.`)) {
        return log.warn(`${verb} request whose reply subject is not its sender's inbox; dropped`, { sender, reply: msg.reply ?? '' });
      }
      fn(msg, sender);
    } });
  const subs: Subscription[] = [
    on('register', true, (msg, sender) => void onRegister(handler, msg, sender, replies, log)),
    on('heartbeat', true, (msg, sender) => onHeartbeat(handler, msg, sender, replies, log)),
    on('unregister', true, (msg, sender) => void onUnregister(handler, msg, sender, log)),
    on('status', false, (msg, sender) => onStatus(handler, msg, sender, log)),
    on('usage', false, (msg, sender) => onUsage(handler, msg, sender, log)),
  ];
  return { close: () => { for (const sub of subs) sub.unsubscribe(); } };
}

/** What every reply to an agent says of the master. */
interface ReplyHeader {
  masterId(): string;
  epoch: number;
}

function replyRegister(msg: Msg, epoch: number, reply: Partial<RegisterReply> & { masterId: string }): void {
  msg.respond(encodeRegisterReply({ agentId: '', heartbeatIntervalMs: 0, error: '', ...reply, epoch }));
}

/** Never rejects: every failure becomes an error reply. */
async function onRegister(handler: AgentHandler, msg: Msg, sender: string, header: ReplyHeader, log: Logger): Promise<void> {
  try {
    const result = await handler.registerAgent(decodeRegisterRequest(msg.data), sender);
    replyRegister(msg, header.epoch, result);
  } catch (err) {
    // The registry away is the agent's to retry, not an error of the master's: a warning.
    if (err instanceof CallError && err.code === 'UNAVAILABLE') log.warn('agent registration refused', { sender, error: messageOf(err) });
    else log.error('agent registration refused', { sender, error: messageOf(err) });
    try {
      replyRegister(msg, header.epoch, { masterId: header.masterId(), error: messageOf(err) });
    } catch (replyErr) {
      log.error('cannot answer a registration', { error: messageOf(replyErr) });
    }
  }
}

/** A heartbeat that cannot be read is answered with the reason, and no request to re-register. */
function onHeartbeat(handler: AgentHandler, msg: Msg, sender: string, header: ReplyHeader, log: Logger): void {
  try {
    const { agentId, degradedReason } = decodeHeartbeat(msg.data);
    const reply = handler.agentHeartbeat({ agentId, ...(degradedReason ? { degradedReason } : {}) }, sender);
    msg.respond(encodeHeartbeatReply({ ...reply, epoch: header.epoch }));
  } catch (err) {
    log.error('bad agent heartbeat', { sender, error: messageOf(err) });
    try {
      msg.respond(encodeHeartbeatReply({ reregister: false, masterId: header.masterId(), error: messageOf(err), epoch: header.epoch }));
    } catch (replyErr) {
      log.error('cannot answer a heartbeat', { error: messageOf(replyErr) });
    }
  }
}

/** Never rejects: every failure becomes an error reply. */
async function onUnregister(handler: AgentHandler, msg: Msg, sender: string, log: Logger): Promise<void> {
  try {
    const { agentId, reason } = decodeUnregister(msg.data);
    await handler.unregisterAgent(agentId, reason, sender);
    msg.respond(encodeUnregisterReply({ error: '' }));
  } catch (err) {
    log.error('agent unregistration refused', { sender, error: messageOf(err) });
    try {
      msg.respond(encodeUnregisterReply({ error: messageOf(err) }));
    } catch (replyErr) {
      log.error('cannot answer an unregistration', { error: messageOf(replyErr) });
    }
  }
}

function onStatus(handler: AgentHandler, msg: Msg, sender: string, log: Logger): void {
  try {
    handler.statusUpdate(decodeStatusUpdate(msg.data), sender);
  } catch (err) {
    // The agent resends what was not acknowledged, so dropping a bad update loses nothing.
    log.error('status update refused', { sender, error: messageOf(err), bytes: msg.data.length });
  }
}

function onUsage(handler: AgentHandler, msg: Msg, sender: string, log: Logger): void {
  try {
    handler.agentUsage(decodeAgentUsage(msg.data), sender);
  } catch (err) {
    // The next report replaces a bad one; nothing of it was kept.
    log.error('agent usage report refused', { sender, error: messageOf(err), errorType: err instanceof Error ? err.name : typeof err, bytes: msg.data.length });
  }
}

// ------------------------------------------------------------------ the link itself

/** What the master does when its link to the agents goes and comes back (Master.agentLinkLost / agentLinkRestored). */
export interface AgentLink {
  agentLinkLost(): void;
  agentLinkRestored(): void;
}

/**
 * Tells the master when its NATS connection drops and when it is back. Ends with the
 * connection. A connection that never drops costs nothing: nats.js reports status as events.
 */
export function followAgentLink(nc: NatsConnection, link: AgentLink, log: Logger): void {
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === Events.Disconnect) link.agentLinkLost();
      else if (status.type === Events.Reconnect) link.agentLinkRestored();
    }
  })().catch((err: unknown) => log.error('stopped following the NATS connection', { error: messageOf(err) }));
}
