/**
 * The one flag parser of every `agora` command (master, agent and the CLI's own):
 * `--name value`, `--name=value`, boolean `--flag` (`-h` for `--help` where there is one,
 * and one-letter aliases a command declares, such as `-f` for `--follow`),
 * and everything after `--` kept verbatim. An unknown flag, a stray argument or a bad value
 * is a UsageError that names it, so a typo never passes silently.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface FlagSpec {
  [name: string]: 'string' | 'number' | 'boolean';
}

export type Parsed<S extends FlagSpec> = {
  flags: { [K in keyof S]?: S[K] extends 'number' ? number : S[K] extends 'boolean' ? boolean : string };
  positional: string[];
  rest: string[];
};

export function parseArgs<S extends FlagSpec>(argv: readonly string[], spec: S,
  opts: { positional?: boolean; short?: Record<string, keyof S & string> } = {}): Parsed<S> {
  const flags: Record<string, string | number | boolean> = {};
  const positional: string[] = [];
  let rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    if (arg === '--') { rest = argv.slice(i + 1); break; }
    if (arg === '-h' && spec.help === 'boolean') { flags.help = true; continue; }
    // A one-letter alias the command declares (`-f` for `--follow`) stands for the long flag.
    const long = /^-[A-Za-z]$/.test(arg) ? opts.short?.[arg.slice(1)] : undefined;
    if (long) arg = `--${long}`;
    if (!arg.startsWith('--')) {
      if (!opts.positional) throw new UsageError(`unexpected argument '${arg}'`);
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = spec[name];
    if (!kind) throw new UsageError(`unknown flag --${name}; known: ${Object.keys(spec).map((k) => `--${k}`).join(', ') || 'none'}`);
    if (kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      flags[name] = true;
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    if (kind === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${value}'`);
      flags[name] = n;
    } else {
      flags[name] = value;
    }
  }
  return { flags: flags as Parsed<S>['flags'], positional, rest };
}
