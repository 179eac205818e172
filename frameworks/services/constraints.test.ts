import type { Constraint } from './app';
import { checkConstraints, type Placement } from './constraints';

const at = (hostname: string, attributes: Record<string, string> = {}): Placement => ({ hostname, attributes });
const c = (field: string, operator: Constraint['operator'], value?: string): Constraint => ({ field, operator, ...(value !== undefined ? { value } : {}) });
const allowed = (cs: Constraint[], offer: Placement, placed: Placement[] = []): boolean => checkConstraints(cs, offer, placed).ok;
const reason = (cs: Constraint[], offer: Placement, placed: Placement[] = []): string => {
  const v = checkConstraints(cs, offer, placed);
  if (v.ok) throw new Error('expected the offer to be refused');
  return v.reason;
};

describe('placement constraints', () => {
  const a1 = at('a1', { rack: 'r1', zone: 'eu-1' });
  const a2 = at('a2', { rack: 'r2', zone: 'eu-2' });
  const a3 = at('a3', { rack: 'r1', zone: 'us-1' });
  const bare = at('a4');

  it('UNIQUE hostname: one instance per agent, and says where the other runs', () => {
    expect(allowed([c('hostname', 'UNIQUE')], a1)).toBe(true);
    expect(allowed([c('hostname', 'UNIQUE')], a2, [a1])).toBe(true);
    expect(reason([c('hostname', 'UNIQUE')], a1, [a1])).toBe('["hostname", "UNIQUE"]: an instance already runs where hostname is a1');
    expect(allowed([c('rack', 'UNIQUE')], a3, [a1])).toBe(false);
  });

  it('CLUSTER: the given value, or wherever the first instance went', () => {
    expect(allowed([c('rack', 'CLUSTER', 'r1')], a1)).toBe(true);
    expect(allowed([c('rack', 'CLUSTER', 'r1')], a2)).toBe(false);
    expect(allowed([c('rack', 'CLUSTER')], a2)).toBe(true);
    expect(allowed([c('rack', 'CLUSTER')], a3, [a1])).toBe(true);
    expect(reason([c('rack', 'CLUSTER')], a2, [a1])).toBe('["rack", "CLUSTER"]: rack is r2, the app runs where it is r1');
  });

  it('GROUP_BY spreads evenly over the values, and over all of the named number of them first', () => {
    const byRack = [c('rack', 'GROUP_BY')];
    expect(allowed(byRack, a1, [a1, a2])).toBe(true);           // 1 and 1: either
    expect(allowed(byRack, a3, [a1, a1, a2])).toBe(false);      // r1 has 2, r2 has 1
    expect(allowed(byRack, a2, [a1, a1, a2])).toBe(true);
    const threeZones = [c('zone', 'GROUP_BY', '3')];
    expect(allowed(threeZones, a1, [a1, a2])).toBe(false);      // a third zone comes first
    expect(allowed(threeZones, a3, [a1, a2])).toBe(true);
  });

  it('LIKE and UNLIKE match whole values as regular expressions; IS compares', () => {
    expect(allowed([c('zone', 'LIKE', 'eu-.*')], a1)).toBe(true);
    expect(allowed([c('zone', 'LIKE', 'eu')], a1)).toBe(false);  // the whole value, not a part
    expect(allowed([c('zone', 'UNLIKE', 'eu-.*')], a3)).toBe(true);
    expect(reason([c('zone', 'UNLIKE', 'eu-.*')], a2)).toBe('["zone", "UNLIKE", "eu-.*"]: zone eu-2 matches eu-.*');
    expect(allowed([c('rack', 'IS', 'r2')], a2)).toBe(true);
    expect(allowed([c('rack', 'IS', 'r2')], a1)).toBe(false);
  });

  it('LIKE and UNLIKE run on RE2, never on a JavaScript RegExp: (a+)+$ against 30,000 a\'s and a b answers at once', () => {
    // RegExp backtracks: (a+)+$ against n a's and a b takes 2^n steps (28 a's already take a
    // second). RE2 takes steps linear in the value, so the specification of "linear" is that
    // no RegExp is ever made from the user's pattern.
    const construct = jest.spyOn(globalThis, 'RegExp');
    try {
      expect(allowed([c('rack', 'LIKE', '(a+)+$')], at('a5', { rack: `${'a'.repeat(20)}b` }))).toBe(false);
      expect(construct).not.toHaveBeenCalled();
    } finally {
      construct.mockRestore();
    }
    const evil = at('a5', { rack: `${'a'.repeat(30_000)}b` });
    expect(reason([c('rack', 'LIKE', '(a+)+$')], evil)).toBe(`["rack", "LIKE", "(a+)+$"]: rack ${'a'.repeat(30_000)}b does not match (a+)+$`);
    expect(allowed([c('rack', 'UNLIKE', '(a+)+$')], evil)).toBe(true);
    expect(allowed([c('rack', 'LIKE', '(a+)+$')], at('a6', { rack: 'a'.repeat(30_000) }))).toBe(true);
  });

  it('a pattern RE2 refuses (an app stored before submissions were checked) holds its instances back, saying why, for LIKE and UNLIKE alike', () => {
    expect(reason([c('rack', 'LIKE', '(r)\\1')], a1)).toMatch(/^\["rack", "LIKE", "\(r\)\\\\1"\]: '\(r\)\\1' is not a regular expression RE2 accepts .*invalid escape sequence/);
    expect(allowed([c('rack', 'UNLIKE', '(r)\\1')], a1)).toBe(false);
  });

  it('MAX_PER caps the instances per value', () => {
    expect(allowed([c('rack', 'MAX_PER', '2')], a3, [a1])).toBe(true);
    expect(reason([c('rack', 'MAX_PER', '2')], a3, [a1, a1])).toBe('["rack", "MAX_PER", "2"]: 2 instances already run where rack is r1 (at most 2)');
  });

  it('an agent without the attribute satisfies only UNLIKE; @zone reads the zone attribute', () => {
    expect(reason([c('rack', 'UNIQUE')], bare)).toBe('["rack", "UNIQUE"]: agent a4 has no rack attribute');
    expect(allowed([c('rack', 'LIKE', '.*')], bare)).toBe(false);
    expect(allowed([c('rack', 'UNLIKE', 'r1')], bare)).toBe(true);
    expect(allowed([c('@zone', 'IS', 'eu-1')], a1)).toBe(true);
    expect(allowed([c('@hostname', 'IS', 'a1')], a1)).toBe(true);
  });

  it('all constraints must hold; the first broken one is named', () => {
    const cs = [c('hostname', 'UNIQUE'), c('zone', 'LIKE', 'eu-.*')];
    expect(allowed(cs, a2, [a1])).toBe(true);
    expect(reason(cs, a3, [a1])).toMatch(/^\["zone", "LIKE", "eu-\.\*"\]: zone us-1 does not match/);
  });
});
