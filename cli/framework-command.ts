/**
 * What `agora app`, `agora deployments` and `agora job` share around their own commands:
 * dispatching a subcommand, reading a definition (a JSON file, or - for stdin), printing an
 * answer as JSON (`--json`) or as the command's table, and putting a framework's refusal in
 * words that say what to do about it.
 */
import { readFileSync } from 'fs';
import { UsageError } from '../common/flags';
import { FrameworkCliError, FrameworkRefusal, type ValidationDetail } from './framework-client';

export interface CommandIo {
  /** The command's answer. */
  out: (line: string) => void;
  /** Progress for people (stderr), such as what `--wait` waits for. */
  note: (line: string) => void;
  /** The definition for `add -`; default: all of stdin. */
  readStdin?: () => Promise<string>;
}

export type Subcommand = (argv: string[], io: CommandIo) => Promise<number>;

/** `agora <command> <sub> …` → the subcommand's answer; no subcommand, or an unknown one, says which there are. */
export function dispatch(command: string, subcommands: Record<string, Subcommand>, argv: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  const names = Object.keys(subcommands);
  const choices = `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
  if (sub === undefined) throw new UsageError(`agora ${command} needs a subcommand: ${choices}`);
  const run = Object.hasOwn(subcommands, sub) ? subcommands[sub] : undefined;
  if (!run) throw new UsageError(`unknown subcommand 'agora ${command} ${sub}'; use ${choices}`);
  return run(rest, io);
}

/** The answer as indented JSON with `--json`, else as the command draws it (which may read more first). */
export async function print(io: CommandIo, json: boolean | undefined, value: unknown, text: () => string | Promise<string>): Promise<number> {
  io.out(json ? JSON.stringify(value, null, 2) : await text());
  return 0;
}

/** "the app definition on stdin", "the job definition nightly.json". */
export const definitionName = (what: string, file: string) => (file === '-' ? `the ${what} definition on stdin` : `the ${what} definition ${file}`);

/** A definition as JSON, from `file` or (`-`) stdin; `what` is whose ('app', 'job'). */
export async function readDefinition(what: string, file: string, io: CommandIo): Promise<unknown> {
  let text: string;
  try {
    text = file === '-' ? await (io.readStdin ?? readStdin)() : readFileSync(file, 'utf8');
  } catch (err) {
    throw new FrameworkCliError(`cannot read the ${what} definition ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FrameworkCliError(`${definitionName(what, file)} is not JSON: ${(err as Error).message}`);
  }
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (c: string) => { text += c; });
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', reject);
  });
}

/** A 422's (or a Chronos 400's) details, one `path: error` a line. */
export function validationLines(details: readonly ValidationDetail[]): string[] {
  return details.flatMap((d) => d.errors.map((e) => `${d.path}: ${e}`));
}

export interface RefusalWords {
  /** What was asked about: "app /web", "job nightly", "deployment 1f2…". */
  what: string;
  /** Where a 404's user finds what there is: "agora job list". */
  list: string;
  /** A 409 in the command's words; undefined leaves the refusal as it is. */
  conflict: (err: FrameworkRefusal, message: string) => Error | undefined;
}

/**
 * Runs one call to the API, putting a refusal in words that say what to do about it: a 422
 * or 400 as what was refused and where, a 404 with where to look, a 409 as the command says.
 */
export async function refusing<T>(call: () => Promise<T>, words: RefusalWords): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (!(err instanceof FrameworkRefusal)) throw err;
    const message = err.body.message ?? `status ${err.status}`;
    switch (err.status) {
      case 422: case 400:
        throw new FrameworkCliError([`${words.what} was refused: ${message}`, ...validationLines(err.body.details ?? []).map((l) => `  ${l}`)].join('\n'));
      case 404:
        throw new FrameworkCliError(`${message} at the ${err.kind} framework ${err.at} (see ${words.list})`);
      case 409:
        throw words.conflict(err, message) ?? err;
      default:
        throw err;
    }
  }
}
