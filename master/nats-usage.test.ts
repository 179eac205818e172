/**
 * Usage reports through the master's NATS shell, on a real nats-server: a report that is not
 * one is logged as a WireError saying what is wrong and changes nothing; the next good one is
 * kept.
 */
import { connect, type NatsConnection } from 'nats';
import { encodeAgentUsage, type AgentUsage } from '../common/agent-messages';
import type { Logger } from '../common/log';
import { startNatsServer, type NatsServer } from '../common/nats-server';
import { OPEN_OWNER, subjects } from '../common/subjects';
import type { ResourceStatistics } from '../common/types';
import type { AgentUsageCall } from './calls';
import { serveAgents, type AgentSubscriptions } from './nats-agents';
import { harness, taskInfo } from '../test/support/master-harness';

const subj = subjects('usagetest');
let nats: NatsServer;
let nc: NatsConnection;
let served: AgentSubscriptions | undefined;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  served?.close();
  await nc?.close();
  await nats?.stop();
});

function recordingLog(lines: { level: string; msg: string; fields?: object }[]): Logger {
  const log: Logger = {
    debug: (msg, fields) => lines.push({ level: 'debug', msg, fields }),
    info: (msg, fields) => lines.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => lines.push({ level: 'error', msg, fields }),
    child: () => log,
  };
  return log;
}

const STATS: ResourceStatistics = {
  timestampMs: 1_700_000_000_000, cpusUserTimeSecs: 1.5, cpusSystemTimeSecs: 0.25, cpusLimit: 0.5, memRssBytes: 2_097_152,
  memTotalBytes: 2_200_000, memLimitBytes: 67_108_864, cpusNrPeriods: 0, cpusNrThrottled: 0, cpusThrottledTimeSecs: 0, processes: 2,
};

it('logs a malformed usage report as a typed error, keeps nothing of it, and keeps the next good one', async () => {
  const h = harness();
  const agentId = await h.addAgent('cpus:4;mem:4096');
  const fw = h.subscribe();
  h.clock.advance(0);
  h.master.accept({ ...fw.call, offerIds: [fw.stream.lastOffer().id], operations: [{ type: 'LAUNCH', id: '', tasks: [taskInfo('burn', 'cpus:0.5;mem:64')] }], filters: {} });
  h.status(fw.frameworkId, agentId, 'burn', 'TASK_RUNNING', 'u1');

  const lines: { level: string; msg: string; fields?: object }[] = [];
  const handled: AgentUsageCall[] = [];
  let goodOne!: () => void;
  const good = new Promise<void>((r) => { goodOne = r; });
  served = serveAgents(nc, subj, {
    info: h.master.info,
    registerAgent: (c, from) => h.master.registerAgent(c, from),
    agentHeartbeat: (call, from) => h.master.agentHeartbeat(call, from),
    unregisterAgent: (id, reason, from) => h.master.unregisterAgent(id, reason, from),
    statusUpdate: (c, from) => h.master.statusUpdate(c, from),
    agentUsage: (c, from) => { handled.push(c); h.master.agentUsage(c, from); goodOne(); },
    agentOwner: (id) => h.master.agentOwner(id),
  }, recordingLog(lines), 1);
  await nc.flush();

  const report = (statistics: ResourceStatistics): AgentUsage => ({
    agentId, timestampMs: STATS.timestampMs, tasks: [{ frameworkId: fw.frameworkId, taskId: 'burn', containerId: '', statistics }],
  });
  nc.publish(subj.usage(OPEN_OWNER), Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]));
  nc.publish(subj.usage(OPEN_OWNER), encodeAgentUsage(report({ ...STATS, memRssBytes: 99, cpusUserTimeSecs: -3 })));
  nc.publish(subj.usage(OPEN_OWNER), encodeAgentUsage(report(STATS)));
  await good;   // NATS delivers one subscription's messages in order: the bad ones came first

  expect(handled).toHaveLength(1);
  expect(lines.filter((l) => l.level === 'error')).toEqual([
    { level: 'error', msg: 'agent usage report refused', fields: expect.objectContaining({ errorType: 'WireError', error: expect.stringMatching(/^malformed AgentUsage \(5 bytes\)/) }) },
    { level: 'error', msg: 'agent usage report refused', fields: expect.objectContaining({
      errorType: 'WireError', error: `malformed AgentUsage of agent ${agentId}, task #0 (burn): statistics.cpusUserTimeSecs is -3; measurements are finite and >= 0`,
    }) },
  ]);
  expect(h.master.state().tasks.find((t) => t.id === 'burn')?.statistics).toEqual(STATS);
});
