/**
 * An Accept that cannot be honoured ends its tasks with a reason, and changes nothing else:
 * the master keeps serving and the agent's resources are not over-committed.
 */
import { scalar } from '../common/resources';
import type { Offer } from '../common/types';
import { subscribe, task, type Scheduler, type TaskSpec } from '../frameworks/sdk';
import { startCluster, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

describe('accepting what was not offered', () => {
  let cluster: TestCluster;
  let s: Scheduler;
  let log: EventLog;

  beforeAll(async () => {
    cluster = await startCluster({ containerizer: 'process' });
    s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'bad-accepts' } });
    log = new EventLog(s);
  });
  afterAll(async () => {
    s.close();
    await cluster.stop();
  });

  const spec = (id: string, extra: Partial<TaskSpec> = {}): TaskSpec => ({ id, command: 'true', cpus: 0.1, mem: 32, process: true, ...extra });
  /** An outstanding offer: each Accept consumes one, and recovers what it left unused. */
  const nextOffer = (): Promise<Offer> => log.offer();
  const noFilter = { refuseMs: 0 };

  /** What tasks hold on the agent now; a refused launch must leave it as it was. */
  const held = async () => (await cluster.state()).agents[0]!.used;
  const expectNothingCommitted = async (before: Awaited<ReturnType<typeof held>>) => {
    const agent = (await cluster.state()).agents[0]!;
    expect(agent.used).toEqual(before);
    expect(agent.used.cpus + agent.offered.cpus).toBeLessThanOrEqual(agent.total.cpus);
    expect(agent.used.mem + agent.offered.mem).toBeLessThanOrEqual(agent.total.mem);
  };

  it('drops every task of an Accept naming an unknown offer id, saying which offer', async () => {
    const real = await log.offer();
    const before = await held();
    await s.accept(['offer-that-never-was'], [task(spec('ghost'), { agentId: cluster.agents[0]!.agentId, role: '*' })]);
    const st = await log.status('ghost', 'TASK_DROPPED');
    await expectNothingCommitted(before);
    expect(st.reason).toBe('REASON_INVALID_OFFERS');
    expect(st.source).toBe('SOURCE_MASTER');
    expect(st.message).toContain('offer-that-never-was');
    await s.decline([real.id], noFilter);
  });

  it('drops the tasks of a second Accept of the same offer', async () => {
    const offer = await log.offer((o) => scalar(o.resources, 'cpus') === 2);
    await s.launch(offer, [task(spec('first', { command: 'sleep 600' }), offer)], noFilter);
    await log.status('first', 'TASK_RUNNING');
    const before = await held();
    await s.launch(offer, [task(spec('second'), offer)], noFilter);
    const st = await log.status('second', 'TASK_DROPPED');
    expect(st.message).toContain(offer.id);
    await expectNothingCommitted(before);   // only 'first' holds anything
    await s.kill('first');
    await log.status('first', 'TASK_KILLED');
  });

  it.each([
    ['more cpus than offered', spec('too-many-cpus', { cpus: 3 }), /cpus/],
    ['more mem than offered', spec('too-much-mem', { mem: 4096 }), /mem/],
    ['a port outside the offered ranges', spec('bad-port', { ports: [40000] }), /40000/],
    ['a container host port it does not hold', spec('unheld-port', {
      process: false, image: 'agora/busybox:latest', portMappings: [{ hostPort: 31050, containerPort: 80, protocol: 'tcp' }],
    }), /maps host port 31050, which is not among its ports/],
  ])('ends a task asking for %s as TASK_ERROR naming the problem', async (_what, bad, why) => {
    const offer = await nextOffer();
    const before = await held();
    await s.launch(offer, [task(bad, offer)], noFilter);
    const st = await log.status(bad.id, 'TASK_ERROR');
    expect(st.reason).toBe('REASON_TASK_INVALID');
    expect(st.message).toMatch(why);
    await expectNothingCommitted(before);
  });

  it('counts tasks of one Accept together: the one that no longer fits is refused', async () => {
    const offer = await log.offer((o) => scalar(o.resources, 'cpus') >= 1.5);
    const [a, b] = [spec('half-a', { cpus: 1.5, command: 'sleep 600' }), spec('half-b', { cpus: 1.5 })];
    await s.launch(offer, [task(a, offer), task(b, offer)], noFilter);
    const st = await log.status('half-b', 'TASK_ERROR');
    expect(st.message).toMatch(/cpus/);
    await log.status('half-a', 'TASK_RUNNING');
    const agent = (await cluster.state()).agents[0]!;
    expect(agent.used.cpus).toBe(1.5);   // never over-committed
    expect(agent.used.cpus + agent.offered.cpus).toBeLessThanOrEqual(agent.total.cpus);
    await s.kill('half-a');
    await log.status('half-a', 'TASK_KILLED');
  });

  it('keeps serving after all that: no task holds anything and a valid launch runs', async () => {
    const agent = (await cluster.state()).agents[0]!;
    expect(agent.used).toMatchObject({ cpus: 0, mem: 0 });
    expect(agent.available.cpus + agent.offered.cpus).toBe(2);
    const offer = await nextOffer();
    await s.launch(offer, [task(spec('fine'), offer)], noFilter);
    await log.status('fine', 'TASK_FINISHED');
  });
});
