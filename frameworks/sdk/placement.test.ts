import { InvalidArgumentError } from './errors';
import { matchAttributes, type Constraints } from './placement';

const offer = { hostname: 'web-3.dc1', attributes: { rack: 'r3', zone: 'eu-west-1b', os: 'linux' } };

describe('matching an offer\'s agent against attribute constraints', () => {
  it('matches by equality, by set membership and by pattern, on attributes and the hostname', () => {
    expect(matchAttributes(offer, { rack: 'r3' })).toEqual({ ok: true });
    expect(matchAttributes(offer, { zone: ['eu-west-1a', 'eu-west-1b'] })).toEqual({ ok: true });
    expect(matchAttributes(offer, { hostname: /^web-\d+\./ })).toEqual({ ok: true });
    expect(matchAttributes(offer, { rack: 'r3', zone: ['eu-west-1b'], hostname: 'web-3.dc1', os: /linux/ })).toEqual({ ok: true });
    expect(matchAttributes(offer, {})).toEqual({ ok: true });
  });

  it('says why it does not match, naming every attribute that failed', () => {
    expect(matchAttributes(offer, { rack: 'r7' })).toEqual({ ok: false, reason: "rack is 'r3' on web-3.dc1, not 'r7'" });
    expect(matchAttributes(offer, { zone: ['us-east-1a', 'us-east-1b'], hostname: /^db-/ })).toEqual({
      ok: false,
      reason: "zone is 'eu-west-1b' on web-3.dc1, not one of 'us-east-1a', 'us-east-1b'; hostname is 'web-3.dc1' on web-3.dc1, which does not match /^db-/",
    });
  });

  it('does not match an agent that lacks the attribute', () => {
    expect(matchAttributes(offer, { gpu: 'a100' })).toEqual({ ok: false, reason: "web-3.dc1 has no attribute gpu (wanted 'a100')" });
  });

  it('answers the same every time for a global pattern (no lastIndex carried over)', () => {
    const c: Constraints = { rack: /r\d/g };
    expect([1, 2, 3].map(() => matchAttributes(offer, c).ok)).toEqual([true, true, true]);
  });

  it('refuses an empty list or a value that is not a string, a list of strings or a RegExp', () => {
    expect(() => matchAttributes(offer, { zone: [] })).toThrow(InvalidArgumentError);
    expect(() => matchAttributes(offer, { zone: [] })).toThrow('constraints.zone: an empty list matches no agent: give at least one value');
    expect(() => matchAttributes(offer, { rack: 7 } as unknown as Constraints)).toThrow('constraints.rack: must be a string, a list of strings or a RegExp, got number');
    expect(() => matchAttributes(offer, { rack: ['r1', 2] } as unknown as Constraints)).toThrow('constraints.rack: list items must be strings, got number');
  });
});
