/**
 * The master's NATS shell towards agents. In: registrations and heartbeats (request/reply),
 * status updates and usage reports. Out: run, kill and acknowledgement messages on each agent's subjects.
 * Payloads go through common/agent-messages.ts, shared with the agent. Bytes that are not the
 * message are logged and, when a reply is expected, answered with an error — never allowed to
 * take the master down.
 */
import { type Msg, type NatsConnection, type Subscription } from 'nats';
import {
  decodeAgentUsage, decodeHeartbeat, decodeRegisterRequest, decodeStatusUpdate, decodeUnregister, encodeHeartbeatReply, encodeKillTask,
  encodeRegisterReply, encodeRunTask, encodeStatusAck, encodeUnregisterReply, type RegisterReply,
} from '../common/agent-messages';
import type { Logger } from '../common/log';
import type { Subjects } from '../common/subjects';
import type { AgentHandler } from './calls';
import type { AgentPort } from './ports';

const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

// ------------------------------------------------------------------ out

/** Publishes the core's messages to agents. A failed publish is logged: the agent's own
 * retries (status resends, re-registration) recover what a lost message would break. */
export function natsAgentPort(nc: NatsConnection, subjects: Subjects, log: Logger): AgentPort {
  const publish = (what: string, agentId: string, subject: (id: string) => string, bytes: () => Uint8Array) => {
    try {
      nc.publish(subject(agentId), bytes());
    } catch (err) {
      log.error(`cannot send ${what} to agent`, { agentId, error: messageOf(err) });
    }
  };
  return {
    run: (agentId, m) => publish('run', agentId, subjects.run, () => encodeRunTask(m)),
    kill: (agentId, m) => publish('kill', agentId, subjects.kill, () => encodeKillTask(m)),
    ack: (agentId, m) => publish('ack', agentId, subjects.ack, () => encodeStatusAck(m)),
  };
}

// ------------------------------------------------------------------ in

export interface AgentSubscriptions {
  /** Stops listening. */
  close(): void;
}

export function serveAgents(
  nc: NatsConnection, subjects: Subjects, handler: AgentHandler & { info: { id: string } }, log: Logger,
): AgentSubscriptions {
  const masterId = () => handler.info.id;
  const subs: Subscription[] = [
    nc.subscribe(subjects.register, { callback: (err, msg) => {
      if (err) return log.error('register subscription failed', { error: err.message });
      void onRegister(handler, msg, masterId, log);
    } }),
    nc.subscribe(subjects.heartbeat, { callback: (err, msg) => {
      if (err) return log.error('heartbeat subscription failed', { error: err.message });
      onHeartbeat(handler, msg, masterId, log);
    } }),
    nc.subscribe(subjects.unregister, { callback: (err, msg) => {
      if (err) return log.error('unregister subscription failed', { error: err.message });
      void onUnregister(handler, msg, log);
    } }),
    nc.subscribe(subjects.status, { callback: (err, msg) => {
      if (err) return log.error('status subscription failed', { error: err.message });
      onStatus(handler, msg, log);
    } }),
    nc.subscribe(subjects.usage, { callback: (err, msg) => {
      if (err) return log.error('usage subscription failed', { error: err.message });
      onUsage(handler, msg, log);
    } }),
  ];
  return { close: () => { for (const sub of subs) sub.unsubscribe(); } };
}

function replyRegister(msg: Msg, reply: Partial<RegisterReply> & { masterId: string }): void {
  msg.respond(encodeRegisterReply({ agentId: '', heartbeatIntervalMs: 0, error: '', ...reply }));
}

/** Never rejects: every failure becomes an error reply. */
async function onRegister(handler: AgentHandler, msg: Msg, masterId: () => string, log: Logger): Promise<void> {
  try {
    const result = await handler.registerAgent(decodeRegisterRequest(msg.data));
    replyRegister(msg, result);
  } catch (err) {
    log.error('agent registration refused', { error: messageOf(err) });
    try {
      replyRegister(msg, { masterId: masterId(), error: messageOf(err) });
    } catch (replyErr) {
      log.error('cannot answer a registration', { error: messageOf(replyErr) });
    }
  }
}

/** A heartbeat that cannot be read is answered with the reason, and no request to re-register. */
function onHeartbeat(handler: AgentHandler, msg: Msg, masterId: () => string, log: Logger): void {
  try {
    msg.respond(encodeHeartbeatReply(handler.agentHeartbeat(decodeHeartbeat(msg.data).agentId)));
  } catch (err) {
    log.error('bad agent heartbeat', { error: messageOf(err) });
    try {
      msg.respond(encodeHeartbeatReply({ reregister: false, masterId: masterId(), error: messageOf(err) }));
    } catch (replyErr) {
      log.error('cannot answer a heartbeat', { error: messageOf(replyErr) });
    }
  }
}

/** Never rejects: every failure becomes an error reply. */
async function onUnregister(handler: AgentHandler, msg: Msg, log: Logger): Promise<void> {
  try {
    const { agentId, reason } = decodeUnregister(msg.data);
    await handler.unregisterAgent(agentId, reason);
    msg.respond(encodeUnregisterReply({ error: '' }));
  } catch (err) {
    log.error('agent unregistration refused', { error: messageOf(err) });
    try {
      msg.respond(encodeUnregisterReply({ error: messageOf(err) }));
    } catch (replyErr) {
      log.error('cannot answer an unregistration', { error: messageOf(replyErr) });
    }
  }
}

function onStatus(handler: AgentHandler, msg: Msg, log: Logger): void {
  try {
    handler.statusUpdate(decodeStatusUpdate(msg.data));
  } catch (err) {
    // The agent resends what was not acknowledged, so dropping a bad update loses nothing.
    log.error('bad status update', { error: messageOf(err), bytes: msg.data.length });
  }
}

function onUsage(handler: AgentHandler, msg: Msg, log: Logger): void {
  try {
    handler.agentUsage(decodeAgentUsage(msg.data));
  } catch (err) {
    // The next report replaces a bad one; nothing of it was kept.
    log.error('bad agent usage report', { error: messageOf(err), errorType: err instanceof Error ? err.name : typeof err, bytes: msg.data.length });
  }
}
