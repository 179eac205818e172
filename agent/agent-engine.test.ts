/**
 * The agent's side of a wedged Docker engine, the test playing the master over real NATS and
 * the engine reached through a pausable relay: the agent tells the master it is degraded at
 * once (the master's heartbeat interval here is an hour), shows why in `/state`, drops runs
 * with the reason, and says it is well again as soon as the engine answers.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startNatsServer, type NatsServer } from '../common/nats-server';
import { getJson, masterAddress } from '../common/operator-client';
import { startDockerRelay, type DockerRelay } from '../test/support/docker-relay';
import { TestMaster, testTask } from '../test/support/test-master';
import { startAgent, type AgentHandle } from './agent';
import type { AgentStateView } from './api/http';
import type { EngineHealth } from './engine-watchdog';

let nats: NatsServer;
let dir: string;
let relay: DockerRelay;
let master: TestMaster;
let agent: AgentHandle;

beforeAll(async () => {
  nats = await startNatsServer();
  dir = mkdtempSync(join(tmpdir(), 'agora-agent-engine-'));
  relay = await startDockerRelay(join(dir, 'docker.sock'));
  master = await TestMaster.start(nats.url, { prefix: 'engine' });
  agent = await startAgent({
    natsUrl: nats.url, subjectPrefix: 'engine', workDir: join(dir, 'work'), containerizer: 'docker', httpHost: '127.0.0.1', httpPort: 0,
    resources: 'cpus:1;mem:256;disk:100;ports:[31000-31009]', dockerSocket: relay.path,
    dockerProbeIntervalMs: 100, dockerProbeTimeoutMs: 1_000, dockerProbeFailures: 2,
  });
  await agent.registered;
});

afterAll(async () => {
  relay?.resume();
  await agent?.stop();
  await master?.close();
  await relay?.stop();
  await nats?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const nextEngineHealth = () => new Promise<EngineHealth>((resolve) => {
  const heard = (h: EngineHealth): void => { agent.off('engine', heard); resolve(h); };
  agent.on('engine', heard);
});
const state = () => getJson<AgentStateView>(masterAddress(`127.0.0.1:${agent.httpPort}`), '/state');

describe('an agent whose Docker engine stops answering', () => {
  it('heartbeats degraded at once, drops runs saying why, and heartbeats well again once the engine answers', async () => {
    expect((await state()).degradedReason).toBeUndefined();
    const wedged = nextEngineHealth();
    const beats = master.heartbeats.length;
    relay.pause();
    const health = await wedged;
    expect(health.wedged).toBe(true);
    // The first heartbeat since: sent on the news, not an hour later.
    const degraded = await master.waitForHeartbeats(beats + 1);
    expect(degraded).toMatchObject({ agentId: agent.agentId, degradedReason: expect.stringMatching(/^the container engine has not answered for \d+ s \(2 probes in a row failed/) });
    expect((await state()).degradedReason).toMatch(/^the container engine has not answered for/);

    master.run(agent.agentId, testTask('refused', 'echo never'));
    const dropped = await master.waitForState('refused', 'TASK_DROPPED');
    expect(dropped).toMatchObject({ source: 'SOURCE_AGENT', reason: 'REASON_CONTAINER_LAUNCH_FAILED', message: expect.stringMatching(/^not launched: the agent is degraded: the container engine has not answered for/) });

    const healthy = nextEngineHealth();
    relay.resume();
    expect(await healthy).toEqual({ wedged: false });
    const well = await master.waitForHeartbeats(beats + 2);
    expect(well).not.toHaveProperty('degradedReason');
    expect((await state()).degradedReason).toBeUndefined();

    master.run(agent.agentId, testTask('accepted', 'echo launched'));
    await master.waitForState('accepted', 'TASK_FINISHED');
  });
});
