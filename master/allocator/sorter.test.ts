import fc from 'fast-check';
import { seededRandom } from '../../common/clock';
import { parse } from '../../common/resources';
import { DrfSorter, RandomSorter, sorterFactory, type SorterContext } from './sorter';

const cluster = (text: string, excludedResourceNames?: string[]): SorterContext =>
  ({ total: parse(text), random: seededRandom(7), excludedResourceNames });

describe('DRF sorter', () => {
  it('a client holding 3 of 9 cpus has share 0.33; one holding 12 of 18 GB has 0.66 and comes later', () => {
    const s = new DrfSorter(cluster('cpus:9;mem:18432'));
    s.add('A');
    s.add('B');
    s.allocated('A', parse('cpus:3;mem:1024'));
    s.allocated('B', parse('cpus:1;mem:12288'));
    expect(s.share('A')).toBeCloseTo(1 / 3, 9);
    expect(s.share('B')).toBeCloseTo(2 / 3, 9);
    expect(s.sort()).toEqual(['A', 'B']);
  });

  it('the share is the dominant one: the largest fraction over resource names', () => {
    const s = new DrfSorter(cluster('cpus:10;mem:1000;disk:100'));
    s.add('x');
    s.allocated('x', parse('cpus:1;mem:500;disk:20'));
    expect(s.share('x')).toBe(0.5);
  });

  it('serves the smallest share first and breaks ties by id, whatever the insertion order', () => {
    const s = new DrfSorter(cluster('cpus:100'));
    for (const id of ['c', 'a', 'd', 'b']) s.add(id);
    expect(s.sort()).toEqual(['a', 'b', 'c', 'd']);
    s.allocated('a', parse('cpus:10'));
    s.allocated('c', parse('cpus:5'));
    expect(s.sort()).toEqual(['b', 'd', 'c', 'a']);
  });

  it('weight 2 halves a share and weight 0.5 doubles it', () => {
    const s = new DrfSorter(cluster('cpus:10'));
    s.add('heavy', 2);
    s.add('light', 0.5);
    s.add('plain');
    for (const id of ['heavy', 'light', 'plain']) s.allocated(id, parse('cpus:4'));
    expect(s.share('plain')).toBe(0.4);
    expect(s.share('heavy')).toBe(0.2);
    expect(s.share('light')).toBe(0.8);
    expect(s.sort()).toEqual(['heavy', 'plain', 'light']);
  });

  it('giving resources back lowers the share and moves the client forward', () => {
    const s = new DrfSorter(cluster('cpus:8'));
    s.add('a');
    s.add('b');
    s.allocated('a', parse('cpus:4'));
    s.allocated('b', parse('cpus:2'));
    expect(s.sort()).toEqual(['b', 'a']);
    s.unallocated('a', parse('cpus:3'));
    expect(s.share('a')).toBe(0.125);
    expect(s.sort()).toEqual(['a', 'b']);
  });

  it('counts resources reserved for any role by name: cpus(prod):2 is 2 cpus', () => {
    const s = new DrfSorter(cluster('cpus:4'));
    s.add('a');
    s.allocated('a', parse('cpus(prod):2'));
    expect(s.share('a')).toBe(0.5);
  });

  it('gpus count in shares when the cluster has gpus', () => {
    const s = new DrfSorter(cluster('cpus:100;gpus:4'));
    s.add('a');
    s.allocated('a', parse('cpus:1;gpus:1'));
    expect(s.share('a')).toBe(0.25);
  });

  it('leaves excluded names and names the cluster has none of out of shares', () => {
    const s = new DrfSorter(cluster('cpus:100;gpus:4', ['gpus']));
    s.add('a');
    s.allocated('a', parse('cpus:1;gpus:1;bogus:5'));
    expect(s.share('a')).toBe(0.01);
  });

  it('ignores ranges and sets: ports do not make a share', () => {
    const s = new DrfSorter(cluster('cpus:10;ports:[31000-32000]'));
    s.add('a');
    s.allocated('a', parse('ports:[31000-32000]'));
    expect(s.share('a')).toBe(0);
  });

  it('removes clients', () => {
    const s = new DrfSorter(cluster('cpus:10'));
    s.add('a');
    s.add('b');
    s.allocated('a', parse('cpus:1'));
    s.remove('a');
    expect(s.has('a')).toBe(false);
    expect(s.sort()).toEqual(['b']);
  });

  it('rejects broken calls loudly: a duplicate client, a weight of 0, an over-return', () => {
    const s = new DrfSorter(cluster('cpus:10'));
    s.add('a');
    expect(() => s.add('a')).toThrow(/added twice/);
    expect(() => s.add('z', 0)).toThrow(/weight/);
    expect(() => s.unallocated('a', parse('cpus:1'))).toThrow(/more cpus than it held/);
    expect(() => s.share('nobody')).toThrow(/no client 'nobody'/);
  });
});

describe('DRF sorter: the lazy walk', () => {
  it('walks the same order as sort(), through removals and re-additions', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 19 }), fc.integer({ min: -1, max: 30 })), { maxLength: 80 }), (ops) => {
      const s = new DrfSorter(cluster('cpus:1000'));
      const held = new Map<string, number>();
      for (const [n, cpus] of ops) {
        const id = `c${n}`;
        if (!s.has(id)) { s.add(id, 1 + (n % 3)); held.set(id, 0); }
        if (cpus < 0) { s.remove(id); held.delete(id); continue; }
        s.allocated(id, parse(`cpus:${cpus}`));
        held.set(id, (held.get(id) ?? 0) + cpus);
      }
      expect([...s.ordered()]).toEqual(s.sort());
      expect(s.sort()).toHaveLength(held.size);
    }), { numRuns: 300 });
  });

  it('refuses to go on walking after the order changed under it', () => {
    const s = new DrfSorter(cluster('cpus:10'));
    for (const id of ['a', 'b', 'c', 'd']) s.add(id);
    const walk = s.ordered()[Symbol.iterator]();
    expect(walk.next().value).toBe('a');
    expect(walk.next().value).toBe('b');
    s.allocated('a', parse('cpus:1'));
    expect(() => walk.next()).toThrow(/changed while its order was being walked/);
  });
});

describe('random sorter', () => {
  it('returns every client once, in an order fixed by the seed', () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f'];
    const order = (seed: number): readonly string[] => {
      const s = new RandomSorter({ total: parse('cpus:1'), random: seededRandom(seed) });
      for (const id of ids) s.add(id);
      return s.sort();
    };
    expect([...order(1)].sort()).toEqual(ids);
    const s = new RandomSorter({ total: parse('cpus:1'), random: seededRandom(3) });
    for (const id of ids) s.add(id);
    s.remove('c');
    expect([...s.ordered()].sort()).toEqual(['a', 'b', 'd', 'e', 'f']);
    expect(order(1)).toEqual(order(1));
    expect(new Set([1, 2, 3, 4, 5].map((seed) => order(seed).join())).size).toBeGreaterThan(1);
  });

  it('puts a client of weight 9 first about nine times in ten against one of weight 1', () => {
    const s = new RandomSorter({ total: parse('cpus:1'), random: seededRandom(42) });
    s.add('heavy', 9);
    s.add('light', 1);
    let heavyFirst = 0;
    for (let i = 0; i < 2000; i++) if (s.sort()[0] === 'heavy') heavyFirst++;
    expect(heavyFirst / 2000).toBeGreaterThan(0.87);
    expect(heavyFirst / 2000).toBeLessThan(0.93);
  });

  it('still reports DRF shares, for metrics', () => {
    const s = sorterFactory('random')({ total: parse('cpus:4'), random: seededRandom(1) });
    s.add('a');
    s.allocated('a', parse('cpus:1'));
    expect(s.share('a')).toBe(0.25);
  });
});

describe('DRF sorter: properties', () => {
  const opArb = fc.record({
    client: fc.constantFrom('a', 'b', 'c', 'd', 'e'),
    cpus: fc.integer({ min: 0, max: 40 }),
    mem: fc.integer({ min: 0, max: 4096 }),
    give: fc.boolean(),
  });

  it('after any sequence of changes, the order is (weighted share, id) ascending, as a full sort would give', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), fc.array(fc.constantFrom(0.5, 1, 2, 3), { minLength: 5, maxLength: 5 }), (ops, weights) => {
      const s = new DrfSorter(cluster('cpus:100;mem:8192'));
      const ids = ['a', 'b', 'c', 'd', 'e'];
      ids.forEach((id, i) => s.add(id, weights[i]));
      const held = new Map(ids.map((id) => [id, { cpus: 0, mem: 0 }]));
      for (const op of ops) {
        const h = held.get(op.client) as { cpus: number; mem: number };
        if (op.give && h.cpus >= op.cpus && h.mem >= op.mem) {
          s.unallocated(op.client, parse(`cpus:${op.cpus};mem:${op.mem}`));
          h.cpus -= op.cpus; h.mem -= op.mem;
        } else if (!op.give) {
          s.allocated(op.client, parse(`cpus:${op.cpus};mem:${op.mem}`));
          h.cpus += op.cpus; h.mem += op.mem;
        }
      }
      const expected = ids.map((id, i) => {
        const h = held.get(id) as { cpus: number; mem: number };
        return { id, share: Math.max(h.cpus / 100, h.mem / 8192) / (weights[i] as number) };
      });
      for (const e of expected) expect(s.share(e.id)).toBeCloseTo(e.share, 9);
      const order = expected.sort((x, y) => x.share - y.share || (x.id < y.id ? -1 : 1)).map((e) => e.id);
      expect(s.sort()).toEqual(order);
      expect([...s.ordered()]).toEqual(order);
    }), { numRuns: 300 });
  });
});
