import fc from 'fast-check';
import { add, contains, equals, parse, ranges, scalar, subtract } from '../../common/resources';
import type { Offer, TaskInfo } from '../../common/types';
import { InvalidArgumentError } from './errors';
import { pack } from './pack';
import { fit, pickPorts, type TaskSpec } from './tasks';

const offerOf = (resources: string): Offer => ({
  id: 'offer-1', frameworkId: 'fw-1', agentId: 'agent-1', hostname: 'h1', role: '*', attributes: {}, resources: parse(resources),
});
const spec = (id: string, cpus: number, mem: number, ports?: number[]): TaskSpec => ({ id, command: 'true', cpus, mem, ports });
const portsOf = (t: TaskInfo): number[] => ranges(t.resources, 'ports').flatMap(([b, e]) => Array.from({ length: e - b + 1 }, (_, i) => b + i));

describe('packing tasks into one offer', () => {
  it('places the largest first: 0.8 + 0.2 cpus fill a 1-cpu offer where the order given would fit 0.2 + 0.5', () => {
    const offer = offerOf('cpus:1;mem:1024');
    const specs = [spec('small', 0.2, 100), spec('mid', 0.5, 100), spec('big', 0.8, 100)];
    const packed = pack(offer, specs);
    expect(packed.tasks.map((t) => t.taskId)).toEqual(['big', 'small']);
    expect(packed.unplaced).toEqual([{ spec: specs[1], reason: 'cpus: needs 0.5, 0.2 left' }]);   // at its turn, after big
    expect(packed.left).toEqual(parse('mem:824'));
    // fit takes from the front and stops at the first that does not fit
    expect(fit(offer, [...specs]).map((t) => t.taskId)).toEqual(['small', 'mid']);
  });

  it('ranks by dominant share: a task asking 3/4 of the memory goes before one asking 1/2 of the cpus', () => {
    const packed = pack(offerOf('cpus:4;mem:4096'), [spec('cpu-heavy', 2, 256), spec('mem-heavy', 0.5, 3072)]);
    expect(packed.tasks.map((t) => t.taskId)).toEqual(['mem-heavy', 'cpu-heavy']);
  });

  it('keeps the order given among equal shares, and changes nothing it was given', () => {
    const specs = [spec('a', 0.5, 64), spec('b', 0.5, 64), spec('c', 0.5, 64)];
    const before = JSON.stringify(specs);
    expect(pack(offerOf('cpus:1;mem:1024'), specs).tasks.map((t) => t.taskId)).toEqual(['a', 'b']);
    expect(JSON.stringify(specs)).toBe(before);
  });

  it('picks free ports for each 0, never the same port twice, and tells the task its ports in PORT0… and PORTS', () => {
    const offer = offerOf('cpus:2;mem:1024;ports:[31000-31002]');
    const packed = pack(offer, [spec('web', 0.5, 64, [0, 0]), spec('api', 0.5, 64, [0, 0])]);
    expect(packed.tasks.map(portsOf)).toEqual([[31000, 31001]]);
    expect(packed.tasks[0]!.command.environment).toEqual({ PORT0: '31000', PORT1: '31001', PORTS: '31000,31001' });
    expect(packed.unplaced.map((u) => [u.spec.id, u.reason])).toEqual([['api', 'needs 2 free ports, 1 left']]);
    expect(ranges(packed.left, 'ports')).toEqual([[31002, 31002]]);
  });

  it('keeps literal ports, and says when one is taken by an earlier task or not offered at all', () => {
    const offer = offerOf('cpus:2;mem:1024;ports:[31000-31005]');
    const packed = pack(offer, [spec('first', 0.5, 64, [31003, 0]), spec('second', 0.4, 64, [31003]), spec('third', 0.1, 64, [8080])]);
    expect(packed.tasks.map((t) => [t.taskId, portsOf(t)])).toEqual([['first', [31000, 31003]]]);
    expect(packed.tasks[0]!.command.environment).toMatchObject({ PORT0: '31003', PORT1: '31000' });
    expect(packed.unplaced.map((u) => [u.spec.id, u.reason])).toEqual([
      ['second', 'port 31003 went to another task of this offer'],
      ['third', "port 8080 is not among the offer's unreserved ports"],
    ]);
  });

  it('lets a spec\'s own env win over the port variables', () => {
    const [t] = pack(offerOf('cpus:1;mem:64;ports:[31000-31000]'), [{ ...spec('p', 0.1, 16, [0]), env: { PORT0: 'mine', X: '1' } }]).tasks;
    expect(t!.command.environment).toEqual({ PORT0: 'mine', PORTS: '31000', X: '1' });
  });

  it('names every resource that runs short', () => {
    const packed = pack(offerOf('cpus:1;mem:128'), [spec('fat', 2, 512)]);
    expect(packed.unplaced[0]!.reason).toBe('cpus: needs 2, 1 left, mem: needs 512, 128 left');
  });

  it.each<[string, TaskSpec[], string]>([
    ['a repeated id', [spec('a', 0.1, 16), spec('a', 0.1, 16)], "specs[1].id: 'a' is used by an earlier spec: task ids must be unique"],
    ['a blank id', [spec(' ', 0.1, 16)], 'specs[0].id: a task needs a non-empty id'],
    ['negative cpus', [spec('a', -1, 16)], 'specs[0].cpus: must be a finite number ≥ 0, got -1'],
    ['a port past 65535', [spec('a', 0.1, 16, [70000])], 'specs[0].ports: 70000 is not a port: give 1–65535, or 0 for any free one'],
    ['a literal port twice', [spec('a', 0.1, 16, [31000, 31000])], 'specs[0].ports: port 31000 is asked for twice'],
  ])('refuses %s with an InvalidArgumentError', (_what, specs, message) => {
    const offer = offerOf('cpus:1;mem:1024;ports:[31000-31010]');
    expect(() => pack(offer, specs)).toThrow(InvalidArgumentError);
    expect(() => pack(offer, specs)).toThrow(message);
  });
});

describe('pack (property)', () => {
  const offers = fc.record({
    cpus: fc.integer({ min: 0, max: 80 }).map((x) => x / 10),
    mem: fc.integer({ min: 0, max: 4096 }),
    ports: fc.array(fc.tuple(fc.integer({ min: 31000, max: 31040 }), fc.integer({ min: 0, max: 6 })), { maxLength: 3 }),
  }).map(({ cpus, mem, ports }) => offerOf([
    `cpus:${cpus}`, `mem:${mem}`, ...(ports.length ? [`ports:[${ports.map(([b, n]) => `${b}-${b + n}`).join(',')}]`] : []),
  ].join(';')));
  const specLists = fc.array(fc.record({
    cpus: fc.integer({ min: 0, max: 30 }).map((x) => x / 10),
    mem: fc.integer({ min: 0, max: 1500 }),
    any: fc.integer({ min: 0, max: 3 }),
    literal: fc.uniqueArray(fc.integer({ min: 30995, max: 31050 }), { maxLength: 2 }),
  }), { maxLength: 10 }).map((xs) => xs.map((x, i) => spec(`t${i}`, x.cpus, x.mem, [...x.literal, ...Array<number>(x.any).fill(0)])));

  it('never over-commits the offer, never gives a port twice, places or explains every spec, and leaves out only what cannot fit', () => {
    fc.assert(fc.property(offers, specLists, (offer, specs) => {
      const { tasks, unplaced, left } = pack(offer, specs);
      const used = tasks.reduce((sum, t) => add(sum, t.resources), parse(''));
      expect(contains(offer.resources, used)).toBe(true);
      expect(equals(left, subtract(offer.resources, used))).toBe(true);
      const ports = tasks.flatMap(portsOf);
      expect(new Set(ports).size).toBe(ports.length);
      for (const t of tasks) {
        const s = specs.find((x) => x.id === t.taskId)!;
        expect(portsOf(t)).toHaveLength(s.ports!.length);
        for (const p of s.ports!) if (p !== 0) expect(portsOf(t)).toContain(p);
        expect(scalar(t.resources, 'cpus')).toBe(s.cpus);
      }
      expect([...tasks.map((t) => t.taskId), ...unplaced.map((u) => u.spec.id)].sort()).toEqual(specs.map((s) => s.id).sort());
      // maximal: what was left out would not fit in what is left either
      for (const { spec: s } of unplaced) {
        const wanted = pickPorts(left.filter((r) => r.role === '*'), s.ports!);
        expect(wanted !== undefined && contains(left, add(parse(`cpus:${s.cpus};mem:${s.mem}`), wanted.length ? parse(`ports:[${wanted.map((p) => `${p}-${p}`).join(',')}]`) : []))).toBe(false);
      }
    }), { numRuns: 300 });
  });
});
