import { cachedPatternCount, fullMatch, PATTERN_CACHE_SIZE, userPatternProblem } from './user-pattern';

describe('user-supplied patterns (LIKE, UNLIKE) on RE2', () => {
  it('match the whole value, as Marathon (Java\'s Pattern.matches) does', () => {
    expect(fullMatch('eu-.*', 'eu-west-1')).toBe(true);
    expect(fullMatch('eu', 'eu-west-1')).toBe(false);
    expect(fullMatch('west', 'eu-west-1')).toBe(false);
    expect(fullMatch('a|ab', 'ab')).toBe(true);         // not only the leftmost alternative
    expect(fullMatch('r[0-9]+', 'r12')).toBe(true);
    expect(fullMatch('(?i)EU-.*', 'eu-1')).toBe(true);  // Java's inline flags, which RegExp refuses
  });

  it('a pattern RE2 refuses is a problem that says why, and matches nothing', () => {
    expect(userPatternProblem('r[0-9]+')).toBeUndefined();
    expect(userPatternProblem('(a)\\1')).toBe("'(a)\\1' is not a regular expression RE2 accepts (matching runs in linear time: no backreferences, no lookahead or lookbehind): error parsing regexp: invalid escape sequence: `\\1`");
    expect(userPatternProblem('(?<=a)b')).toMatch(/^'\(\?<=a\)b' is not a regular expression RE2 accepts/);
    expect(userPatternProblem('rack-[')).toMatch(/missing closing \]/);
    expect(fullMatch('(a)\\1', 'aa')).toBe(false);
  });

  it(`keeps at most ${PATTERN_CACHE_SIZE} compiled patterns, however many apps name different ones`, () => {
    for (let i = 0; i < PATTERN_CACHE_SIZE + 50; i++) expect(fullMatch(`r${i}`, `r${i}`)).toBe(true);
    expect(cachedPatternCount()).toBe(PATTERN_CACHE_SIZE);
    expect(fullMatch('r0', 'r0')).toBe(true);   // evicted, compiled again
    expect(cachedPatternCount()).toBe(PATTERN_CACHE_SIZE);
  });
});
