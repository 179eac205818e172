import { parseArgs, UsageError } from './flags';

describe('the flag parser', () => {
  const spec = { cpus: 'number', image: 'string', process: 'boolean' } as const;

  it('reads --name value, --name=value, booleans, and keeps everything after -- verbatim', () => {
    const p = parseArgs(['--cpus', '0.5', '--image=busybox', '--process', '--', 'sh', '-c', 'echo --cpus'], spec);
    expect(p.flags).toEqual({ cpus: 0.5, image: 'busybox', process: true });
    expect(p.rest).toEqual(['sh', '-c', 'echo --cpus']);
  });

  it.each([
    [['--cpu', '1'], /unknown flag --cpu/],
    [['--cpus', 'lots'], /--cpus must be a number, got 'lots'/],
    [['--image'], /--image needs a value/],
    [['--process=yes'], /--process takes no value/],
    [['stray'], /unexpected argument 'stray'/],
  ])('rejects %j with a UsageError that says what is wrong', (argv, why) => {
    expect(() => parseArgs(argv, spec)).toThrow(UsageError);
    expect(() => parseArgs(argv, spec)).toThrow(why);
  });
});

it('reads -h as --help where the command has one', () => {
  expect(parseArgs(['-h'], { help: 'boolean' }).flags).toEqual({ help: true });
  expect(() => parseArgs(['-h'], {})).toThrow(/unexpected argument '-h'/);
});

it('reads a one-letter alias the command declares as its long flag, and no other', () => {
  const spec = { follow: 'boolean', offset: 'number' } as const;
  expect(parseArgs(['-f', '-o', '-1', 'web'], spec, { positional: true, short: { f: 'follow', o: 'offset' } }))
    .toEqual({ flags: { follow: true, offset: -1 }, positional: ['web'], rest: [] });
  expect(() => parseArgs(['-x'], spec, { short: { f: 'follow' } })).toThrow(/unexpected argument '-x'/);
});
