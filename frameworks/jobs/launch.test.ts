import { constraintProblem } from './launch';

const offer = (attributes: Record<string, string>) => ({ hostname: 'h1', attributes });

describe('a job\'s constraints against an offer', () => {
  it('LIKE and UNLIKE run on RE2: (a+)+$ against 30,000 a\'s and a b answers at once, and correctly', () => {
    const evil = offer({ rack: `${'a'.repeat(30_000)}b` });
    expect(constraintProblem(evil, [{ attribute: 'rack', operator: 'LIKE', value: '(a+)+$' }])).toMatch(/^rack LIKE \(a\+\)\+\$ does not hold on h1/);
    expect(constraintProblem(evil, [{ attribute: 'rack', operator: 'UNLIKE', value: '(a+)+$' }])).toBeUndefined();
  });

  it('a stored pattern RE2 refuses holds the run back for LIKE and UNLIKE alike, saying why', () => {
    for (const operator of ['LIKE', 'UNLIKE'] as const) {
      expect(constraintProblem(offer({ rack: 'r1' }), [{ attribute: 'rack', operator, value: '(r)\\1' }]))
        .toMatch(new RegExp(`^rack ${operator}: '\\(r\\)\\\\1' is not a regular expression RE2 accepts`));
    }
  });
});
