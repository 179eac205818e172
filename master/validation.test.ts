import fc from 'fast-check';
import { add, contains, equals, parse } from '../common/resources';
import type { Offer } from '../common/types';
import { taskInfo } from '../test/support/master-harness';
import { newOfferId, offerEpoch, otherEpoch } from './offer-ids';
import { validateOffers, validateTask } from './validation';

const OF_EPOCH_3 = 'offer-e3-5f0c2b1e-8d4a-4c6f-9b2e-1a2b3c4d5e6f';

const offer = (id: string, agentId: string, frameworkId = 'fw-1'): Offer =>
  ({ id, frameworkId, agentId, hostname: 'h', resources: parse('cpus:2;mem:512'), role: '*', attributes: {} });

describe('validateOffers', () => {
  const book = new Map([['o1', offer('o1', 'a1')], ['o2', offer('o2', 'a1')], ['o3', offer('o3', 'a2')], ['o4', offer('o4', 'a1', 'fw-2')]]);
  const lookup = (id: string) => book.get(id);

  it('pools offers of one agent', () => {
    const check = validateOffers(['o1', 'o2'], 'fw-1', lookup, 4);
    expect(check).toMatchObject({ ok: true, agentId: 'a1' });
    expect(check.ok && equals(check.pool, parse('cpus:4;mem:1024'))).toBe(true);
  });

  it.each([
    [[], 'no offer ids given'],
    [['o1', 'o1'], 'offer o1 is listed twice'],
    [['o9'], 'offer o9 is unknown or was already used'],
    [['o4'], 'offer o4 was not made to framework fw-1'],
    [['o1', 'o3'], 'offers o1 and o3 are on different agents (a1, a2)'],
    [['o1', OF_EPOCH_3], `offer ${OF_EPOCH_3} was made by the leader of epoch 3; this leader is epoch 4`],
  ])('refuses %j: %s', (ids, message) => {
    expect(validateOffers(ids, 'fw-1', lookup, 4)).toEqual({ ok: false, message });
  });
});

describe('offer ids', () => {
  it('name the epoch of the leader that made them, and only in their own shape', () => {
    expect(newOfferId(4)).toMatch(/^offer-e4-[0-9a-f-]{36}$/);
    expect(offerEpoch(newOfferId(4))).toBe(4);
    expect(offerEpoch(OF_EPOCH_3)).toBe(3);
    // An older master's `offer-<uuid>` names no epoch, even one whose uuid starts like one.
    expect(offerEpoch('offer-e1234567-89ab-cdef-0123-456789abcdef')).toBeUndefined();
    expect(offerEpoch('offer-12345678-89ab-cdef-0123-456789abcdef')).toBeUndefined();
    expect(offerEpoch('o1')).toBeUndefined();
    expect(otherEpoch(OF_EPOCH_3, 3)).toBeUndefined();
    expect(otherEpoch('o1', 3)).toBeUndefined();
  });
});

describe('validateTask', () => {
  it('accepts exactly what fits in what is left, and leaves the difference (property)', () => {
    const amount = fc.integer({ min: 0, max: 6 });
    fc.assert(fc.property(amount, amount, fc.integer({ min: 30995, max: 31015 }), (cpus, left, port) => {
      const pool = parse('cpus:6;mem:100;ports:[31000-31010]');
      const remaining = parse(`cpus:${left};mem:100;ports:[31000-31010]`);
      const asks = parse(`cpus:${cpus};ports:[${port}-${port}]`);
      const result = validateTask(taskInfo('t1', `cpus:${cpus};ports:[${port}-${port}]`), 'a1', pool, remaining, () => false);
      if (cpus === 0) return; // an empty scalar is dropped; covered by the example tests
      expect(result.ok).toBe(contains(remaining, asks));
      if (result.ok) expect(equals(add(result.remaining, asks), remaining)).toBe(true);
      else expect(result.message).toContain('t1');
    }));
  });

  it('refuses a task that names another agent than the offers\'', () => {
    const pool = parse('cpus:1');
    expect(validateTask(taskInfo('t1', 'cpus:1', { agentId: 'a2' }), 'a1', pool, pool, () => false))
      .toEqual({ ok: false, message: 'task t1 names agent a2 but the offers are on agent a1' });
  });

  it('refuses a container publishing a host port the task does not hold, and accepts one it does', () => {
    const pool = parse('cpus:1;ports:[31000-31010]');
    const docker = (hostPort: number) => ({
      container: { type: 'DOCKER' as const, docker: { image: 'img', portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' as const }], forcePullImage: false } },
    });
    expect(validateTask(taskInfo('web', 'cpus:1;ports:[31005-31005]', docker(31006)), 'a1', pool, pool, () => false))
      .toEqual({ ok: false, message: 'task web maps host port 31006, which is not among its ports resources [31005]' });
    expect(validateTask(taskInfo('web', 'cpus:1;ports:[31005-31005]', docker(31005)), 'a1', pool, pool, () => false).ok).toBe(true);
  });

  it('names the set item that is not offered', () => {
    const pool = parse('cpus:1;disks:{a,b}');
    expect(validateTask(taskInfo('t1', 'disks:{c}'), 'a1', pool, pool, () => false))
      .toEqual({ ok: false, message: 'task t1 asks for disks:{c} but the offer has disks:{a,b} left' });
  });
});
