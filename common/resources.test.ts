import fc from 'fast-check';
import {
  add, contains, equals, format, isEmpty, normalize, parse, ranges, scalar, scalarResource, rangesResource,
  setResource, subtract, ResourceError, type Resource, type Resources,
} from './resources';

const names = fc.constantFrom('cpus', 'mem', 'disk', 'gpus');
const scalarArb = fc.record({ name: names, milli: fc.integer({ min: 0, max: 100_000 }) })
  .map(({ name, milli }) => scalarResource(name, name === 'gpus' ? Math.round(milli / 1000) : milli / 1000));
const rangeArb = fc.tuple(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 0, max: 50 }))
  .map(([b, len]) => [b, b + len] as const);
const rangesArb = fc.array(rangeArb, { maxLength: 5 }).map((rs) => rangesResource('ports', rs));
const setArb = fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { maxLength: 4 }).map((xs) => setResource('disks', xs));
const resourcesArb: fc.Arbitrary<Resources> = fc.array(fc.oneof(scalarArb, rangesArb, setArb), { maxLength: 6 }).map(normalize);

describe('resource arithmetic', () => {
  it('adds scalars with three-decimal fixed point: 0.1 + 0.2 cpus is 0.3', () => {
    expect(scalar(add([scalarResource('cpus', 0.1)], [scalarResource('cpus', 0.2)]), 'cpus')).toBe(0.3);
  });

  it('merges adjacent and overlapping port ranges', () => {
    const r = add([rangesResource('ports', [[31000, 31005]])], [rangesResource('ports', [[31006, 31010], [31003, 31004]])]);
    expect(ranges(r, 'ports')).toEqual([[31000, 31010]]);
  });

  it('subtracting a port from the middle of a range splits it', () => {
    const r = subtract([rangesResource('ports', [[31000, 32000]])], [rangesResource('ports', [[31500, 31500]])]);
    expect(ranges(r, 'ports')).toEqual([[31000, 31499], [31501, 32000]]);
  });

  it('contains checks every kind: scalar amounts, range inclusion and set membership', () => {
    const offer = parse('cpus:2;mem:1024;ports:[31000-31010];disks:{a,b}');
    expect(contains(offer, parse('cpus:1.5;mem:1024;ports:[31002-31003];disks:{b}'))).toBe(true);
    expect(contains(offer, parse('cpus:2.001'))).toBe(false);
    expect(contains(offer, parse('ports:[31010-31011]'))).toBe(false);
    expect(contains(offer, parse('disks:{c}'))).toBe(false);
    expect(contains(offer, parse('gpus:1'))).toBe(false);
  });

  it('keeps roles apart: resources reserved for one role are not another role\'s', () => {
    const r = parse('cpus(prod):2;cpus:1');
    expect(contains(r, parse('cpus(prod):2'))).toBe(true);
    expect(contains(r, parse('cpus:2'))).toBe(false);
    expect(scalar(r, 'cpus')).toBe(3);
  });

  it('parses and formats the agent flag syntax', () => {
    const text = 'cpus:4;disk:10240;mem:2048;ports:[31000-32000]';
    expect(format(parse(text))).toBe(text);
  });

  it.each([
    ['cpus', /expected name:value/],
    ['cpus:-1', /expected a number ≥ 0/],
    ['ports:[2-1]', /begin is after end/],
    ['ports:[1-2', /must end with '\]'/],
    ['gpus:0.5', /gpus must be whole/],
  ])('rejects %s with a ResourceError that says what is wrong', (text, why) => {
    expect(() => parse(text)).toThrow(ResourceError);
    expect(() => parse(text)).toThrow(why);
  });

  it('refuses to mix kinds under one name', () => {
    expect(() => add([scalarResource('ports', 1)], [rangesResource('ports', [[1, 2]])])).toThrow(ResourceError);
  });

  describe('properties', () => {
    it('a + b contains a and b', () => {
      fc.assert(fc.property(resourcesArb, resourcesArb, (a, b) => contains(add(a, b), a) && contains(add(a, b), b)));
    });
    it('(a + b) − b = a', () => {
      fc.assert(fc.property(resourcesArb, resourcesArb, (a, b) => {
        // ranges and sets are idempotent under add, so the law holds only when b does not overlap a
        const disjoint = normalize(b).every((r: Resource) => r.kind === 'scalar' || !a.some((x) => x.name === r.name));
        fc.pre(disjoint);
        return equals(subtract(add(a, b), b), a);
      }));
    });
    it('addition is commutative and associative', () => {
      fc.assert(fc.property(resourcesArb, resourcesArb, resourcesArb, (a, b, c) =>
        equals(add(a, b), add(b, a)) && equals(add(add(a, b), c), add(a, add(b, c)))));
    });
    it('a − b is contained in a, and a contains b exactly when a − b + b = a', () => {
      fc.assert(fc.property(resourcesArb, resourcesArb, (a, b) => {
        const d = subtract(a, b);
        return contains(a, d) && (!contains(a, b) || equals(add(d, b), a));
      }));
    });
    it('x − x is empty, and contains is reflexive', () => {
      fc.assert(fc.property(resourcesArb, (x) => isEmpty(subtract(x, x)) && contains(x, x)));
    });
    it('normalize is idempotent, and hands a normalized value back as it is', () => {
      fc.assert(fc.property(fc.array(fc.oneof(scalarArb, rangesArb, setArb), { maxLength: 6 }), (raw) => {
        const once = normalize(raw);
        return normalize(once) === once && equals(once, raw);
      }));
    });
    it('format and parse round-trip', () => {
      fc.assert(fc.property(resourcesArb, (x) => equals(parse(format(x)), x)));
    });
  });
});
