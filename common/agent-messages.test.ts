/**
 * AgentUsage on the wire: what an agent encodes the master decodes unchanged, and a report
 * that no agent could have measured is refused whole, saying what is wrong. A heartbeat and
 * a registration carry an agent's degraded reason, and an older agent's (without the field)
 * reads as not degraded. Every master → agent message and reply carries the master's epoch,
 * and an older master's (without the field) reads as epoch 0.
 */
import {
  decodeAgentUsage, decodeHeartbeat, decodeHeartbeatReply, decodeKillTask, decodeRegisterReply, decodeRegisterRequest, decodeRunTask, decodeStatusAck,
  encodeAgentUsage, encodeHeartbeat, encodeHeartbeatReply, encodeKillTask, encodeRegisterReply, encodeRegisterRequest, encodeRunTask, encodeStatusAck,
  type AgentUsage,
} from './agent-messages';
import { pb, WireError } from './proto';

const REPORT: AgentUsage = {
  agentId: 'agent-1', timestampMs: 1_700_000_005_000,
  tasks: [{
    frameworkId: 'fw-1', taskId: 'burn', containerId: 'c-1',
    statistics: {
      timestampMs: 1_700_000_004_990, cpusUserTimeSecs: 1.25, cpusSystemTimeSecs: 0.5, cpusLimit: 0.5, memRssBytes: 3_145_728,
      memTotalBytes: 3_300_000, memLimitBytes: 67_108_864, cpusNrPeriods: 40, cpusNrThrottled: 12, cpusThrottledTimeSecs: 0.6, processes: 2,
    },
  }],
};

describe('AgentUsage codec', () => {
  it('round-trips a report; zero limits decode as unknown', () => {
    expect(decodeAgentUsage(encodeAgentUsage(REPORT))).toEqual(REPORT);
    const { cpusLimit: _c, memLimitBytes: _m, ...unlimited } = REPORT.tasks[0]!.statistics;
    const report = { ...REPORT, tasks: [{ ...REPORT.tasks[0]!, statistics: unlimited }] };
    expect(decodeAgentUsage(encodeAgentUsage(report))).toEqual(report);
    const empty = pb.AgentUsage.encode({ agentId: 'agent-1', tasks: [{ frameworkId: 'fw-1', taskId: 'burn', statistics: {} }] }).finish();
    expect(decodeAgentUsage(empty).tasks[0]!.statistics).toEqual({
      timestampMs: 0, cpusUserTimeSecs: 0, cpusSystemTimeSecs: 0, memRssBytes: 0, memTotalBytes: 0,
      cpusNrPeriods: 0, cpusNrThrottled: 0, cpusThrottledTimeSecs: 0, processes: 0,
    });
  });

  it('refuses bytes that are not a report, a report without an agent, a task without ids or statistics', () => {
    expect(() => decodeAgentUsage(Uint8Array.from([0xff, 0xff, 0xff]))).toThrow(/^malformed AgentUsage \(3 bytes\)/);
    expect(() => decodeAgentUsage(encodeAgentUsage({ ...REPORT, agentId: '' }))).toThrow(new WireError('malformed AgentUsage: it names no agent (agent_id is empty)'));
    expect(() => decodeAgentUsage(encodeAgentUsage({ ...REPORT, tasks: [{ ...REPORT.tasks[0]!, taskId: '' }] })))
      .toThrow('malformed AgentUsage of agent agent-1, task #0: framework_id and task_id are both required');
    const bare = pb.AgentUsage.encode({ agentId: 'agent-1', tasks: [{ frameworkId: 'fw-1', taskId: 'burn' }] }).finish();
    expect(() => decodeAgentUsage(bare)).toThrow('malformed AgentUsage of agent agent-1, task #0 (burn): it carries no statistics');
  });

  it('refuses a negative or non-finite measurement, naming the field', () => {
    const bad = { ...REPORT, tasks: [{ ...REPORT.tasks[0]!, statistics: { ...REPORT.tasks[0]!.statistics, cpusUserTimeSecs: -1 } }] };
    expect(() => decodeAgentUsage(encodeAgentUsage(bad)))
      .toThrow('malformed AgentUsage of agent agent-1, task #0 (burn): statistics.cpusUserTimeSecs is -1; measurements are finite and >= 0');
    const nan = { ...REPORT, tasks: [{ ...REPORT.tasks[0]!, statistics: { ...REPORT.tasks[0]!.statistics, cpusThrottledTimeSecs: NaN } }] };
    expect(() => decodeAgentUsage(encodeAgentUsage(nan))).toThrow(/statistics\.cpusThrottledTimeSecs is NaN/);
  });
});

describe('degraded_reason on heartbeats and registrations', () => {
  const why = 'the container engine has not answered for 30 s (3 probes in a row failed; the last: no answer within 5000 ms)';

  it('round-trips the reason, and no reason (empty on the wire) as none', () => {
    expect(decodeHeartbeat(encodeHeartbeat({ agentId: 'agent-1', timestampMs: 1_700_000_000_000, degradedReason: why })))
      .toEqual({ agentId: 'agent-1', timestampMs: 1_700_000_000_000, degradedReason: why });
    expect(decodeHeartbeat(encodeHeartbeat({ agentId: 'agent-1', timestampMs: 1_700_000_000_000 })))
      .toEqual({ agentId: 'agent-1', timestampMs: 1_700_000_000_000 });
    const info = { id: 'agent-1', hostname: 'h', resources: [], attributes: {}, port: 5051 };
    expect(decodeRegisterRequest(encodeRegisterRequest({ agentInfo: info, tasks: [], version: '0.1.0', degradedReason: why })).degradedReason).toBe(why);
    expect(decodeRegisterRequest(encodeRegisterRequest({ agentInfo: info, tasks: [], version: '0.1.0' }))).not.toHaveProperty('degradedReason');
  });

  it('reads a heartbeat of an agent that predates the field as not degraded', () => {
    const old = pb.AgentHeartbeat.encode({ agentId: 'agent-1', timestamp: 1_700_000_000 }).finish();
    expect(decodeHeartbeat(old)).toEqual({ agentId: 'agent-1', timestampMs: 1_700_000_000_000 });
  });
});

describe('the master\'s epoch on replies, runs, kills and acks', () => {
  const run = { frameworkId: 'fw-1', frameworkInfo: { id: 'fw-1', name: 'n', roles: ['*'], failoverTimeoutMs: 0, capabilities: [], principal: '', user: '', hostname: '', labels: {} },
    task: { taskId: 't1', name: 't1', agentId: 'agent-1', resources: [], command: { value: 'true', argv: [], environment: {}, user: '' }, container: { type: 'DEFAULT' as const }, labels: {} } };

  it('round-trips the epoch, up to 2^53-1', () => {
    const big = Number.MAX_SAFE_INTEGER;
    expect(decodeRunTask(encodeRunTask({ ...run, epoch: 4 })).epoch).toBe(4);
    expect(decodeKillTask(encodeKillTask({ frameworkId: 'fw-1', taskId: 't1', epoch: big })).epoch).toBe(big);
    expect(decodeStatusAck(encodeStatusAck({ frameworkId: 'fw-1', taskId: 't1', uuid: 'u', epoch: 9 }))).toEqual({ frameworkId: 'fw-1', taskId: 't1', uuid: 'u', epoch: 9 });
    expect(decodeRegisterReply(encodeRegisterReply({ agentId: 'a', heartbeatIntervalMs: 5000, masterId: 'm', error: '', epoch: 3 })).epoch).toBe(3);
    expect(decodeHeartbeatReply(encodeHeartbeatReply({ reregister: false, masterId: 'm', epoch: 3 })).epoch).toBe(3);
  });

  it('reads an older master\'s message (no epoch on the wire) as epoch 0', () => {
    const old = pb.RunTaskMessage.encode({ frameworkId: 'fw-1', task: { taskId: 't1' } }).finish();
    expect(decodeRunTask(old).epoch).toBe(0);
    expect(decodeStatusAck(pb.StatusUpdateAck.encode({ frameworkId: 'fw-1', taskId: 't1', uuid: 'u' }).finish()).epoch).toBe(0);
    expect(decodeHeartbeatReply(pb.HeartbeatResponse.encode({ masterId: 'm' }).finish()).epoch).toBe(0);
    expect(decodeKillTask(encodeKillTask({ frameworkId: 'fw-1', taskId: 't1' })).epoch).toBe(0);
  });

  it('refuses an epoch past 2^53-1, which no two masters could be told apart by', () => {
    const huge = pb.KillTaskMessage.encode({ frameworkId: 'fw-1', taskId: 't1', epoch: 2 ** 60 }).finish();
    expect(() => decodeKillTask(huge)).toThrow(/^malformed KillTaskMessage: epoch \d+ is not an integer in 0\.\.2\^53-1$/);
  });
});
