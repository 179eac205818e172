/**
 * A wedged container engine, on real parts: an agent talks to the real dockerd through a
 * pausable relay (support/docker-relay.ts), so pausing the relay hangs "its" engine and no
 * one else's. The agent sees the engine stop answering, says it is degraded, and the master
 * stops offering it; a run that reaches it anyway is dropped with the reason; kills wait in
 * the engine's line and complete once it answers. When the relay resumes, the agent recovers
 * on its own, the master offers it again, and a task launches and runs there.
 *
 * A second agent (process tasks, no Docker) keeps being offered throughout: each of its
 * offers is an allocation that happened without the degraded agent in it.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { encodeRunTask } from '../common/agent-messages';
import { OPEN_OWNER, subjects } from '../common/subjects';
import type { Offer } from '../common/types';
import { subscribe, task, type Scheduler } from '../frameworks/sdk';
import { nextEngineHealth } from './support/engine-health';
import { startDockerRelay, type DockerRelay } from './support/docker-relay';
import { readSandbox, startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';
import { frameworkInfo } from './support/master-harness';

jest.setTimeout(120_000);

describe('an agent whose container engine wedges', () => {
  let dir: string;
  let relay: DockerRelay;
  let cluster: TestCluster;
  let s: Scheduler;
  let log: EventLog;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agora-wedge-'));
    relay = await startDockerRelay(join(dir, 'docker.sock'));
    cluster = await startCluster({
      secure: false, containerizer: 'docker', resources: 'cpus:2;mem:1024;disk:1024;ports:[31000-31009]',
      // Probes every 200 ms, each given 1 s (a busy engine here answers /info in well under
      // that); three failures in a row: wedged about 3.6 s after the engine goes quiet.
      agentOptions: { dockerSocket: relay.path, dockerProbeIntervalMs: 200, dockerProbeTimeoutMs: 1_000, dockerProbeFailures: 3, killGracePeriodMs: 1_000 },
    });
    await cluster.addAgent({ containerizer: 'process', hostname: 'steady', resources: 'cpus:1;mem:256;disk:100;ports:[32000-32009]' });
    s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'engine-wedge' } });
    log = new EventLog(s);
  });

  afterAll(async () => {
    relay?.resume();   // whatever happened, the agent must be able to clear its containers
    await s?.teardown().catch(() => undefined);
    s?.close();
    await cluster?.stop();
    await relay?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is degraded and not offered while the engine is silent, drops a run with the reason, and recovers on its own', async () => {
    const agent = cluster.agents[0]!;
    const wedgedId = agent.agentId;
    const onWedged = (o: Offer) => o.agentId === wedgedId;

    // A task runs before the engine wedges; it is killed while the engine is silent.
    const first = await log.offer(onWedged);
    await s.launch(first, [task({ id: 'survivor', command: 'sleep 600', cpus: 0.1, mem: 32, image: TEST_IMAGE }, first)], { refuseMs: 0 });
    await log.status('survivor', 'TASK_RUNNING');
    const outstanding = await log.offer(onWedged);
    // Everything else goes back, so that the steady agent is offered again and again below.
    const others = log.takeAll().map((o) => o.id);
    if (others.length > 0) await s.decline(others, { refuseMs: 0 });

    const wedged = nextEngineHealth(agent);
    relay.pause();
    expect(await wedged).toEqual({ wedged: true, reason: expect.stringMatching(/^the container engine has not answered for \d+ s \(3 probes in a row failed; the last: /) });

    // The master heard at once: the outstanding offer is taken back, naming the reason.
    await log.waitFor((e) => e.type === 'RESCIND' && e.offerId === outstanding.id);
    const view = (await cluster.state()).agents.find((a) => a.id === wedgedId)!;
    expect(view.status).toBe('ACTIVE');
    expect(view.degradedReason).toMatch(/^the container engine has not answered for \d+ s/);

    // Three allocations later, the steady agent was offered each time and the degraded one never.
    const offersBefore = log.events.filter((e) => e.type === 'OFFERS').length;
    for (let i = 0; i < 3; i++) {
      const steady = await log.offer((o) => o.hostname === 'steady');
      await s.decline([steady.id], { refuseMs: 0 });
    }
    const offeredSince = log.events.filter((e) => e.type === 'OFFERS').slice(offersBefore).flatMap((e) => (e.type === 'OFFERS' ? e.offers : []));
    expect(offeredSince.filter(onWedged)).toEqual([]);

    // A run that reaches it anyway (sent before the master heard) is dropped, saying why.
    const { nc } = await cluster.natsAs('master', 'master');
    try {
      const late = task({ id: 'late', command: 'echo never', cpus: 0.1, mem: 32, image: TEST_IMAGE }, first);
      nc.publish(subjects().run(OPEN_OWNER, wedgedId), encodeRunTask({ frameworkId: s.frameworkId, frameworkInfo: frameworkInfo({ id: s.frameworkId }), task: late, epoch: 1 }));   // the leader's epoch: an older one's run would be dropped unanswered
      await nc.flush();
    } finally {
      await nc.close();
    }
    const dropped = await log.status('late', 'TASK_DROPPED');
    expect(dropped.reason).toBe('REASON_CONTAINER_LAUNCH_FAILED');
    expect(dropped.message).toMatch(/^not launched: the agent is degraded: the container engine has not answered for \d+ s/);

    // A kill asked for now waits in the engine's line; it is done once the engine answers.
    await s.kill('survivor');

    const healthy = nextEngineHealth(agent);
    relay.resume();
    expect(await healthy).toEqual({ wedged: false });
    await log.status('survivor', 'TASK_KILLED');

    // Offered again, and a task launches and runs there.
    const again = await log.offer(onWedged);
    expect((await cluster.state()).agents.find((a) => a.id === wedgedId)).not.toHaveProperty('degradedReason');
    await s.launch(again, [task({ id: 'after', command: 'echo the engine is back', cpus: 0.1, mem: 32, image: TEST_IMAGE }, again)]);
    await log.status('after', 'TASK_RUNNING');
    await log.status('after', 'TASK_FINISHED');
    expect(await readSandbox(cluster, s.frameworkId, 'after', 'stdout')).toBe('the engine is back\n');
  });
});
