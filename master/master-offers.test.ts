import fc from 'fast-check';
import { add, contains, parse, scalar } from '../common/resources';
import { declineReason } from './framework-calls';
import { harness, taskInfo } from '../test/support/master-harness';

const launch = (...tasks: ReturnType<typeof taskInfo>[]) => [{ type: 'LAUNCH' as const, id: '', tasks }];

describe('offers', () => {
  it('offers a registered agent\'s whole resources to a subscribed framework soon after, and logs OFFERED', async () => {
    const h = harness();
    const agentId = await h.addAgent('cpus:4;mem:4096');
    const fw = h.subscribe();
    h.clock.advance(0);
    const offer = fw.stream.lastOffer();
    expect(offer).toMatchObject({ frameworkId: fw.frameworkId, agentId, role: '*' });
    expect(offer.id).toMatch(/^offer-/);
    expect(scalar(offer.resources, 'cpus')).toBe(4);
    expect(h.offerLog.recent()).toEqual([expect.objectContaining({ type: 'OFFERED', offerId: offer.id, resources: 'cpus:4;mem:4096' })]);
    expect(h.agentView(agentId).offered.cpus).toBe(4);
    expect(h.agentView(agentId).available.cpus).toBe(0);
  });

  it('does not offer to a framework that suppressed its roles, until it revives', async () => {
    const h = harness();
    await h.addAgent();
    const fw = h.subscribe();
    h.master.suppress({ ...fw.call, roles: [] });
    h.clock.advance(5000);
    expect(fw.stream.offers()).toHaveLength(0);
    h.master.revive({ ...fw.call, roles: [] });
    h.clock.advance(0);
    expect(fw.stream.offers()).toHaveLength(1);
  });

  it('expires an offer after offerTimeoutMs, with RESCIND to the framework and EXPIRED in the log', async () => {
    const h = harness({ offerTimeoutMs: 3000, allocationIntervalMs: 10_000 });
    await h.addAgent();
    const fw = h.subscribe();
    h.clock.advance(0);
    const offerId = fw.stream.lastOffer().id;
    h.clock.advance(2999);
    expect(fw.stream.of('RESCIND')).toHaveLength(0);
    h.clock.advance(1);
    expect(fw.stream.of('RESCIND')).toEqual([{ type: 'RESCIND', offerId }]);
    expect(h.offerLog.recent().at(-1)).toMatchObject({ type: 'EXPIRED', offerId, timeoutMs: 3000 });
    expect(h.master.state().offers).toHaveLength(0);
  });

  it('by default expires an offer nobody answers after 60 s, so a framework that hoards offers cannot starve the others', async () => {
    const h = harness();
    const agentId = await h.addAgent();
    const fw = h.subscribe();
    h.clock.advance(0);
    const offerId = fw.stream.lastOffer().id;
    h.clock.advance(59_999);
    expect(fw.stream.of('RESCIND')).toHaveLength(0);
    h.clock.advance(1);
    expect(fw.stream.of('RESCIND')).toEqual([{ type: 'RESCIND', offerId }]);
    expect(h.offerLog.recent().filter((e) => e.type === 'EXPIRED')).toEqual([expect.objectContaining({ type: 'EXPIRED', offerId, timeoutMs: 60_000 })]);
    expect(h.agentView(agentId).offered.cpus).toBe(0);
    h.clock.advance(1000);   // the next allocation cycle offers the resources again
    expect(fw.stream.lastOffer().id).not.toBe(offerId);
    expect(h.agentView(agentId).offered.cpus).toBe(4);
  });
});

describe('accept', () => {
  it('launches a valid task: TASK_STAGING in the master, RunTask to the agent, ACCEPTED with the unused part', async () => {
    const h = harness();
    const agentId = await h.addAgent('cpus:4;mem:4096');
    const fw = h.subscribe();
    h.clock.advance(0);
    const offer = fw.stream.lastOffer();
    h.master.accept({ ...fw.call, offerIds: [offer.id], operations: launch(taskInfo('t1', 'cpus:1;mem:128')), filters: {} });

    expect(h.agents.runs).toHaveLength(1);
    expect(h.agents.runs[0]).toMatchObject({ agentId, message: { frameworkId: fw.frameworkId, task: { taskId: 't1', agentId } } });
    expect(h.master.state().tasks).toEqual([expect.objectContaining({ id: 't1', state: 'TASK_STAGING', agentId })]);
    expect(h.agentView(agentId).used).toMatchObject({ cpus: 1, mem: 128 });
    expect(h.agentView(agentId).offered.cpus).toBe(0);
    expect(h.offerLog.recent().at(-1)).toMatchObject({ type: 'ACCEPTED', offerId: offer.id, taskIds: ['t1'], unused: 'cpus:3;mem:3968' });
    expect(fw.stream.updates()).toHaveLength(0); // STAGING is not announced, as in Mesos
  });

  it('drops every task with REASON_INVALID_OFFERS when an offer is unknown or already used', async () => {
    const h = harness();
    await h.addAgent();
    const fw = h.subscribe();
    h.clock.advance(0);
    const offer = fw.stream.lastOffer();
    h.master.accept({ ...fw.call, offerIds: ['offer-x'], operations: launch(taskInfo('t0', 'cpus:1')), filters: {} });
    h.master.accept({ ...fw.call, offerIds: [offer.id], operations: launch(taskInfo('t1', 'cpus:1')), filters: {} });
    h.master.accept({ ...fw.call, offerIds: [offer.id], operations: launch(taskInfo('t2', 'cpus:1')), filters: {} });

    const [first, third] = fw.stream.updates();
    expect(first).toMatchObject({
      taskId: 't0', state: 'TASK_DROPPED', reason: 'REASON_INVALID_OFFERS', source: 'SOURCE_MASTER', uuid: '',
      message: 'invalid offers: offer offer-x is unknown or was already used',
    });
    expect(third).toMatchObject({ taskId: 't2', state: 'TASK_DROPPED', message: `invalid offers: offer ${offer.id} is unknown or was already used` });
    expect(h.agents.runs.map((r) => r.message.task.taskId)).toEqual(['t1']);
  });

  it('does not let a framework accept another framework\'s offer, and leaves that offer alone', async () => {
    const h = harness();
    await h.addAgent();
    const a = h.subscribe({ name: 'a' });
    h.clock.advance(0);
    const b = h.subscribe({ name: 'b' });
    const offer = a.stream.lastOffer();
    h.master.accept({ ...b.call, offerIds: [offer.id], operations: launch(taskInfo('t1', 'cpus:1')), filters: {} });
    expect(b.stream.updates()[0]).toMatchObject({ state: 'TASK_DROPPED', message: `invalid offers: offer ${offer.id} was not made to framework ${b.frameworkId}` });
    expect(h.master.state().offers.map((o) => o.id)).toEqual([offer.id]);
  });

  it.each([
    ['cpus', 'cpus:8;mem:128', 'task t1 asks for cpus:8 but the offer has cpus:4 left'],
    ['mem', 'cpus:1;mem:8192', 'task t1 asks for mem:8192 but the offer has mem:4096 left'],
    ['ports', 'cpus:1;ports:[40000-40000]', 'task t1: port 40000 is outside the offered ports [31000-32000]'],
    ['gpus', 'cpus:1;gpus:1', 'task t1 asks for gpus:1 but the offer has gpus:0 left'],
  ])('refuses a task over-asking %s with TASK_ERROR naming the problem, and leaves the agent unchanged', async (_what, asks, message) => {
    const h = harness();
    const agentId = await h.addAgent('cpus:4;mem:4096;ports:[31000-32000]');
    const fw = h.subscribe();
    h.clock.advance(0);
    h.master.accept({ ...fw.call, offerIds: [fw.stream.lastOffer().id], operations: launch(taskInfo('t1', asks)), filters: {} });
    expect(fw.stream.updates()).toEqual([expect.objectContaining({
      taskId: 't1', state: 'TASK_ERROR', reason: 'REASON_TASK_INVALID', source: 'SOURCE_MASTER', uuid: '', message,
    })]);
    expect(h.agents.runs).toHaveLength(0);
    expect(h.agentView(agentId).used.text).toBe('');
    expect(h.master.state().tasks).toHaveLength(0);
    expect(h.offerLog.recent().at(-1)).toMatchObject({ type: 'DECLINED', reason: 'unused in accept' });
  });

  it('checks tasks cumulatively: the second of two 3-cpu tasks on a 4-cpu offer is refused', async () => {
    const h = harness();
    await h.addAgent('cpus:4;mem:4096;ports:[31000-32000]');
    const fw = h.subscribe();
    h.clock.advance(0);
    h.master.accept({
      ...fw.call, offerIds: [fw.stream.lastOffer().id], filters: {},
      operations: launch(taskInfo('t1', 'cpus:3;ports:[31000-31000]'), taskInfo('t2', 'cpus:3'), taskInfo('t3', 'cpus:1;ports:[31000-31000]')),
    });
    expect(h.agents.runs.map((r) => r.message.task.taskId)).toEqual(['t1']);
    expect(fw.stream.updates().map((u) => [u.taskId, u.message])).toEqual([
      ['t2', 'task t2 asks for cpus:3 but the offer has cpus:1 left'],
      ['t3', 'task t3: port 31000 is already taken by another task in this accept'],
    ]);
  });

  it('refuses tasks with an empty or duplicate id, no command, or a Docker container without an image', async () => {
    const h = harness();
    await h.addAgent('cpus:8;mem:8192');
    const fw = h.subscribe();
    h.clock.advance(0);
    const noCommand = taskInfo('t3', 'cpus:1', { command: { value: '', argv: [], environment: {}, user: '' } });
    const noImage = taskInfo('t4', 'cpus:1', { container: { type: 'DOCKER' } });
    h.master.accept({
      ...fw.call, offerIds: [fw.stream.lastOffer().id], filters: {},
      operations: launch(taskInfo('', 'cpus:1'), taskInfo('t1', 'cpus:1'), taskInfo('t1', 'cpus:1'), noCommand, noImage, taskInfo('t5', '')),
    });
    expect(fw.stream.updates().map((u) => u.message)).toEqual([
      'a task has an empty task id',
      'task id t1 is already in use by this framework',
      'task t3 has no command: set command.value (shell) or command.argv (exec)',
      'task t4 has container type DOCKER but no docker image',
      'task t5 asks for no resources',
    ]);
  });

  it('filters the unused part of an accepted offer for max(refuse, interval)', async () => {
    const h = harness({ allocationIntervalMs: 1000 });
    await h.addAgent('cpus:4;mem:4096');
    const fw = h.subscribe();
    h.clock.advance(0);
    h.master.accept({ ...fw.call, offerIds: [fw.stream.lastOffer().id], operations: launch(taskInfo('t1', 'cpus:1;mem:128')), filters: { refuseMs: 20_000 } });
    h.clock.advance(19_999);
    expect(fw.stream.offers()).toHaveLength(1);
    h.clock.advance(1001);
    expect(fw.stream.offers()).toHaveLength(2);
    expect(fw.stream.lastOffer().resources).toEqual(parse('cpus:3;mem:3968'));
  });

  it('never over-commits an agent, whatever a framework accepts (property)', async () => {
    const taskArb = fc.record({ cpus: fc.integer({ min: 0, max: 5 }), mem: fc.integer({ min: 0, max: 3000 }), port: fc.integer({ min: 30990, max: 31010 }) });
    await fc.assert(fc.asyncProperty(fc.array(fc.array(taskArb, { maxLength: 4 }), { maxLength: 6 }), async (rounds) => {
      const h = harness();
      const agentId = await h.addAgent('cpus:4;mem:4096;ports:[31000-31005]');
      const fw = h.subscribe();
      let n = 0;
      for (const round of rounds) {
        h.clock.advance(6000);
        const offers = fw.stream.offers();
        const offerId = offers[offers.length - 1]?.id ?? 'offer-none';
        const tasks = round.map((t) => taskInfo(`t${n++}`, `cpus:${t.cpus};mem:${t.mem};ports:[${t.port}-${t.port}]`));
        h.master.accept({ ...fw.call, offerIds: [offerId], operations: launch(...tasks), filters: {} });
        const view = h.agentView(agentId);
        expect(contains(parse('cpus:4;mem:4096'), add(parse(`cpus:${view.used.cpus};mem:${view.used.mem}`), parse(`cpus:${view.offered.cpus};mem:${view.offered.mem}`)))).toBe(true);
      }
    }), { numRuns: 60 });
  });
});

describe('decline', () => {
  it('keeps declined resources away for refuse ms, then offers them again', async () => {
    const h = harness({ allocationIntervalMs: 1000 });
    await h.addAgent();
    const fw = h.subscribe();
    h.clock.advance(0);
    const offer = fw.stream.lastOffer();
    h.master.decline({ ...fw.call, offerIds: [offer.id], filters: { refuseMs: 10_000 } });
    expect(h.offerLog.recent().at(-1)).toMatchObject({ type: 'DECLINED', offerId: offer.id, refuseMs: 10_000, reason: 'declined by framework' });
    h.clock.advance(9_999);
    expect(fw.stream.offers()).toHaveLength(1);
    h.clock.advance(1_001);
    expect(fw.stream.offers()).toHaveLength(2);
  });

  it('applies at least the allocation interval, however short the refuse time (MESOS-4302)', async () => {
    const h = harness({ allocationIntervalMs: 4000 });
    await h.addAgent();
    const fw = h.subscribe();
    h.clock.advance(0);
    h.master.decline({ ...fw.call, offerIds: [fw.stream.lastOffer().id], filters: { refuseMs: 0 } });
    expect(h.offerLog.recent().at(-1)).toMatchObject({ type: 'DECLINED', refuseMs: 4000 });
  });

  it('uses the 5 s default when the framework gives no refuse time', async () => {
    const h = harness({ allocationIntervalMs: 1000 });
    await h.addAgent();
    const fw = h.subscribe();
    h.clock.advance(0);
    h.master.decline({ ...fw.call, offerIds: [fw.stream.lastOffer().id], filters: {} });
    h.clock.advance(4999);
    expect(fw.stream.offers()).toHaveLength(1);
    h.clock.advance(1001);
    expect(fw.stream.offers()).toHaveLength(2);
  });

  it('logs the framework\'s reason for a decline, and "declined by framework" when it gives none or a blank one', async () => {
    const h = harness();
    await h.addAgent();
    await h.addAgent();
    await h.addAgent();
    const fw = h.subscribe();
    h.clock.advance(0);
    const [a, b, c] = fw.stream.offers();
    h.master.decline({ ...fw.call, offerIds: [a!.id], filters: {}, reason: 'needs\n a GPU' });
    h.master.decline({ ...fw.call, offerIds: [b!.id], filters: {} });
    h.master.decline({ ...fw.call, offerIds: [c!.id], filters: {}, reason: '  \t ' });
    expect(h.offerLog.recent().slice(-3).map((e) => [e.offerId, e.type === 'DECLINED' && e.reason])).toEqual([
      [a!.id, 'needs a GPU'], [b!.id, 'declined by framework'], [c!.id, 'declined by framework'],
    ]);
  });

  it('keeps at most 500 characters of a reason: 499 of a 10 000-character one and an ellipsis', async () => {
    const h = harness();
    await h.addAgent();
    const fw = h.subscribe();
    h.clock.advance(0);
    h.master.decline({ ...fw.call, offerIds: [fw.stream.lastOffer().id], filters: {}, reason: 'x'.repeat(10_000) });
    const logged = h.offerLog.recent().at(-1);
    expect(logged?.type === 'DECLINED' && logged.reason).toBe(`${'x'.repeat(499)}…`);
    // exactly 500 stays whole; a cut never splits a character outside the BMP
    expect(declineReason('y'.repeat(500))).toBe('y'.repeat(500));
    expect(Array.from(declineReason('😀'.repeat(600)))).toHaveLength(500);
    expect(declineReason('😀'.repeat(600))).toBe(`${'😀'.repeat(499)}…`);
  });

  it('revive clears the framework\'s filters and allocates soon', async () => {
    const h = harness();
    await h.addAgent();
    const fw = h.subscribe();
    h.clock.advance(0);
    h.master.decline({ ...fw.call, offerIds: [fw.stream.lastOffer().id], filters: { refuseMs: 3_600_000 } });
    h.clock.advance(10_000);
    expect(fw.stream.offers()).toHaveLength(1);
    h.master.revive({ ...fw.call, roles: ['*'] });
    h.clock.advance(0);
    expect(fw.stream.offers()).toHaveLength(2);
  });

  it('rejects reviving a role the framework does not have', async () => {
    const h = harness();
    const fw = h.subscribe({ roles: ['web'] });
    expect(() => h.master.revive({ ...fw.call, roles: ['db'] })).toThrow("role db is not one of framework");
  });
});
