import { Type, type TSchema } from '@sinclair/typebox';
import { choice, JsonSchema, MAX_LISTED_PLACES, nullable, refused, type Detail } from './json-schema';

const { Optional } = Type;

const SHOP = new JsonSchema(Type.Object({
  name: Type.String({ minLength: 1 }),
  size: Optional(Type.Integer({ minimum: 1, maximum: 9 })),
  kind: Optional(choice(['A', 'B'])),
  zone: Optional(choice(['north', 'south', 'east', 'west'])),
  items: Optional(Type.Array(Type.Object({ sku: Type.String(), price: Type.Number({ exclusiveMinimum: 0 }) }))),
  tags: Optional(Type.Record(Type.String(), Type.String())),
  grid: Optional(Type.Array(Type.Array(Type.Number()))),
}));

const problems = <S extends TSchema>(schema: JsonSchema<S>, json: unknown): Detail[] => {
  const r = schema.check(json);
  if (r.ok) throw new Error('expected problems, the body was accepted');
  return r.details;
};

describe('JSON bodies checked against a schema', () => {
  it('passes a body that fits, unchanged and with its unknown fields, as the typed value', () => {
    const body = { name: 'corner', size: 3, items: [{ sku: 'x', price: 1.5 }], extra: { anything: true } };
    const r = SHOP.check(body);
    expect(r).toEqual({ ok: true, value: body });
    expect(r.ok && r.value).toBe(body);
  });

  it('reports every problem at its path, an index written (i) after its list, in the order the schema lists the fields', () => {
    expect(problems(SHOP, {
      grid: [[1], [2, 'x']], items: [{ sku: 'a', price: 0 }, 'b'], tags: { 'a/b': 1 }, zone: 'up', kind: 'C', size: 2.5,
    })).toEqual([
      { path: '/name', errors: ['is required'] },
      { path: '/size', errors: ['expected a whole number, got 2.5'] },
      { path: '/kind', errors: ["'C' is not A or B"] },
      { path: '/zone', errors: ["'up' is not one of north, south, east, west"] },
      { path: '/items(0)/price', errors: ['must be above 0, got 0'] },
      { path: '/items(1)', errors: ['expected an object, got "b"'] },
      { path: '/tags/a/b', errors: ['expected a string, got 1'] },
      { path: '/grid(1)(1)', errors: ['expected a number, got "x"'] },
    ]);
    expect(problems(SHOP, { name: '', size: 10 })).toEqual([
      { path: '/name', errors: ['must not be empty'] },
      { path: '/size', errors: ['must be at most 9, got 10'] },
    ]);
    expect(problems(SHOP, [1])).toEqual([{ path: '/', errors: ['expected an object, got [1]'] }]);
    // A value is quoted up to 80 characters: a body sent where a field belongs is not echoed back.
    expect(problems(SHOP, { name: 'x', kind: 'k'.repeat(200) })).toEqual([{ path: '/kind', errors: [`'${'k'.repeat(79)}…' is not A or B`] }]);
  });

  it('words an error as the schema says: one message for all its keywords or one a keyword, {value} the value found; a property words its own absence', () => {
    const s = new JsonSchema(Type.Object({
      image: Type.String({ pattern: '\\S', message: { required: 'a container needs an image', pattern: 'a container needs an image' } }),
      mode: choice(['RW', 'RO'], { message: 'must be RW or RO, got {value}' }),
      old: Optional(refused('old is replaced by new')),
    }, { message: { type: 'expected a definition' } }));
    expect(problems(s, { mode: 'rw', old: 1 })).toEqual([
      { path: '/image', errors: ['a container needs an image'] },
      { path: '/mode', errors: ['must be RW or RO, got "rw"'] },
      { path: '/old', errors: ['old is replaced by new'] },
    ]);
    expect(problems(s, { image: 5, mode: 'RO' })).toEqual([{ path: '/image', errors: ['expected a string, got 5'] }]);
    expect(problems(s, 'x')).toEqual([{ path: '/', errors: ['expected a definition'] }]);
  });

  it('adds the hint a value brought from another dialect has', () => {
    const s = new JsonSchema(Type.Object({ protocol: choice(['MESOS_HTTP', 'COMMAND'], { hints: { HTTP: 'use MESOS_HTTP' } }) }));
    expect(problems(s, { protocol: 'HTTP' })).toEqual([{ path: '/protocol', errors: ["'HTTP' is not MESOS_HTTP or COMMAND (use MESOS_HTTP)"] }]);
    expect(problems(s, { protocol: 'FTP' })).toEqual([{ path: '/protocol', errors: ["'FTP' is not MESOS_HTTP or COMMAND"] }]);
  });

  it('reports a union by the branch the value fits, and never names null (it means "not given")', () => {
    const s = new JsonSchema(Type.Object({
      cmd: Optional(nullable(Type.String())),
      strategy: Optional(Type.Union([Type.Literal('off'), Type.Object({ seconds: Type.Number({ minimum: 0 }) })])),
      either: Optional(Type.Union([Type.String(), Type.Number()])),
      told: Optional(Type.Union([Type.Literal('off'), Type.Object({})], { message: 'expected "off" or {…}' })),
    }));
    expect(s.check({ cmd: null }).ok).toBe(true);
    expect(problems(s, { cmd: 5, strategy: { seconds: -1 }, either: true, told: 3 })).toEqual([
      { path: '/cmd', errors: ['expected a string, got 5'] },
      { path: '/strategy/seconds', errors: ['must be at least 0, got -1'] },
      { path: '/either', errors: ['expected a string or a number, got true'] },
      { path: '/told', errors: ['expected "off" or {…}'] },
    ]);
    expect(problems(s, { strategy: 7 })).toEqual([{ path: '/strategy', errors: ['expected "off" or an object, got 7'] }]);
  });

  it('lets the checks after the schema add to its report, read only the parts it passed, and keep the schema\'s order', () => {
    const r = SHOP.report({ name: 'x', items: [{ sku: 'a', price: 1 }, { sku: 5, price: 1 }, { sku: 'c', price: 2 }], size: 0 });
    expect(r.clean('/name')).toBe(true);
    expect(r.clean('/items')).toBe(false);
    expect(r.clean('/items(1)')).toBe(false);
    expect(r.clean('/items(1)/price')).toBe(true);
    expect(r.items([{ sku: 'a' }, { sku: 5 }, { sku: 'c' }], '/items').map(([, at]) => at)).toEqual(['/items(0)', '/items(2)']);
    r.add('/items(2)/sku', "'c' is sold out");
    r.add('/name', "'x' is taken");
    expect(r.ok).toBe(false);
    expect(r.details).toEqual([
      { path: '/name', errors: ["'x' is taken"] },
      { path: '/size', errors: ['must be at least 1, got 0'] },
      { path: '/items(1)/sku', errors: ['expected a string, got 5'] },
      { path: '/items(2)/sku', errors: ["'c' is sold out"] },
    ]);
    const broken = SHOP.report({ name: 'x', items: 'none' });
    expect(broken.items(['a'], '/items')).toEqual([]);
    expect(SHOP.report(null).clean('/name')).toBe(false);
  });

  it('lists at most 100 places, then says there are more; the parts past them are still known to be wrong', () => {
    expect(MAX_LISTED_PLACES).toBe(100);
    const r = SHOP.report({ name: 'x', items: Array.from({ length: 150 }, () => ({ sku: 1, price: 1 })), size: 0 });
    const details = r.details;
    expect(details).toHaveLength(101);
    expect(details[0]).toEqual({ path: '/size', errors: ['must be at least 1, got 0'] });
    expect(details[1]).toEqual({ path: '/items(0)/sku', errors: ['expected a string, got 1'] });
    expect(details[99]).toEqual({ path: '/items(98)/sku', errors: ['expected a string, got 1'] });
    expect(details[100]).toEqual({ path: '/', errors: ['and more problems past these 100 places, not listed'] });
    expect(r.clean('/items(149)')).toBe(false);
    expect(r.clean('/size')).toBe(false);
    expect(r.clean('/name')).toBe(true);
  });
});
