/**
 * The structural rules of eslint.config.js refuse what they must: the layering (a wrong
 * import, dockerode outside the Docker engine's one door) and the sizes (a file over 400
 * lines, a function over 60). Each case lints text with the project's own lint config as if
 * it were the named file, which must exist (the typed linting only knows files of the
 * project), so nothing is written. ESLint runs in a child Node process (it loads its config
 * by dynamic import, which jest's sandbox refuses).
 */
import { spawnSync } from 'child_process';
import { join } from 'path';

const root = join(__dirname, '..');

interface Problem {
  rule: string | null;
  message: string;
}

/** Each case's lint problems, its text linted as the named file, in one ESLint run. */
function lint(cases: readonly (readonly [string, string])[]): Problem[][] {
  const script = `
    const { ESLint } = require('eslint');
    const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    (async () => {
      const eslint = new ESLint({ cwd: ${JSON.stringify(root)} });
      const out = [];
      for (const [file, text] of cases) {
        const [r] = await eslint.lintText(text, { filePath: require('path').join(${JSON.stringify(root)}, file) });
        out.push(r.messages.map((m) => ({ rule: m.ruleId, message: m.message })));
      }
      process.stdout.write(JSON.stringify(out));
    })().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`;
  const run = spawnSync(process.execPath, ['-e', script], { cwd: root, input: JSON.stringify(cases), encoding: 'utf8', env: process.env });
  if (run.status !== 0) throw new Error(`eslint failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as Problem[][];
}

const messagesOf = (problems: Problem[], rules: readonly string[]): string[] => problems.filter((p) => p.rule !== null && rules.includes(p.rule)).map((p) => p.message);

/** A line of code as the only content of a module. */
const importLine = (code: string): string => `${code}\nexport {};\n`;

const refusedImports: [string, string, RegExp][] = [
  ['master/allocator/allocate.ts', "import { Master } from '../master';", /the allocator imports only common/],
  ['master/allocator/allocate.ts', "import { startAgent } from '../../agent/agent';", /the allocator imports only common/],
  ['master/master.ts', "import { startAgent } from '../agent/agent';", /never import each other/],
  ['master/api/http.ts', "import { startAgent } from '../../agent/agent';", /never import each other/],
  ['agent/agent.ts', "import { Master } from '../master/master';", /never import each other/],
  ['common/codec.ts', "import { Master } from '../master/master';", /common\/ imports nothing of ours/],
  ['common/security/acl.ts', "import { subscribe } from '../../frameworks/sdk';", /common\/ imports nothing of ours/],
  ['frameworks/services/launch.ts', "import { taskResources } from '../sdk/tasks';", /a framework imports only the SDK's index/],
  ['frameworks/jobs/launch.ts', "import { appIdOfTask } from '../services/launch';", /a framework imports only the SDK's index/],
  ['frameworks/shared/runtime.ts', "import { Master } from '../../master/master';", /a framework imports only the SDK's index/],
  ['frameworks/examples/hello.ts', "import { up } from '../../cli/up';", /a framework imports only the SDK's index/],
  ['agent/usage.ts', "import Docker from 'dockerode';", /reached only through agent\/containerizer\/docker-client\.ts/],
  ['agent/containerizer/docker.ts', "import Modem from 'docker-modem';", /reached only through agent\/containerizer\/docker-client\.ts/],
  ['master/master.ts', "import Docker from 'dockerode';", /reached only through agent\/containerizer\/docker-client\.ts/],
];
const allowedImports: [string, string][] = [
  ['master/allocator/allocate.ts', "import { parse } from '../../common/resources';"],
  ['master/master.ts', "import { parse } from '../common/resources';"],
  ['agent/agent.ts', "import { subjects } from '../common/subjects';"],
  ['common/security/acl.ts', "import type { Logger } from '../log';"],
  ['frameworks/services/launch.ts', "import { taskResources } from '../sdk';"],
  ['frameworks/jobs/launch.ts', "import { runtime } from '../shared/runtime';"],
  ['frameworks/shared/runtime.ts', "import { parse } from '../../common/resources';"],
  ['agent/containerizer/docker-client.ts', "import Docker from 'dockerode';"],
  ['agent/containerizer/docker-create.ts', "import type Docker from 'dockerode';"],
  ['agent/agent-docker.test.ts', "import Docker from 'dockerode';"],
];

/** A module of `n` lines, each a statement. */
const moduleOf = (n: number): string => Array.from({ length: n }, (_, i) => `export const v${i + 1} = ${i + 1};`).join('\n') + '\n';
/** A module of `n` lines, one of them code, the others comments and blank lines: they count too. */
const mostlyCommentsOf = (n: number): string =>
  ['export const one = 1;', ...Array.from({ length: n - 1 }, (_, i) => (i % 2 === 0 ? '// a comment' : ''))].join('\n') + '\n';
/** A module holding one function of `n` lines, from its signature to its closing brace. */
const functionOf = (n: number): string =>
  ['export function long(): number {', '  let n = 0;', ...Array.from({ length: n - 4 }, () => '  n += 1;'), '  return n;', '}'].join('\n') + '\n';

const SIZE_RULES = ['max-lines', 'max-lines-per-function'];
const IMPORT_RULES = ['no-restricted-imports', '@typescript-eslint/no-restricted-imports'];
const refusedSizes: [string, string, string, RegExp][] = [
  ['agent/agent.ts', 'a 401-line file', moduleOf(401), /^File has too many lines \(401\)\. Maximum allowed is 400\.$/],
  ['common/security/acl.ts', 'a 401-line file of comments and blank lines', mostlyCommentsOf(401), /^File has too many lines \(401\)\. Maximum allowed is 400\.$/],
  ['master/allocator/allocate.ts', 'a 61-line function', functionOf(61), /^Function 'long' has too many lines \(61\)\. Maximum allowed is 60\.$/],
  ['bench/docs.ts', 'a 61-line function in a bench', functionOf(61), /^Function 'long' has too many lines \(61\)\. Maximum allowed is 60\.$/],
  // The frameworks' exemption is a list of today's files, not the folder.
  ['frameworks/sdk/index.ts', 'a 61-line function', functionOf(61), /^Function 'long' has too many lines \(61\)\. Maximum allowed is 60\.$/],
];
const allowedSizes: [string, string, string][] = [
  ['agent/agent.ts', 'a 400-line file', moduleOf(400)],
  ['master/allocator/allocate.ts', 'a 60-line function', functionOf(60)],
  ['master/master-offers.test.ts', 'a test: a 401-line file', moduleOf(401)],
  ['master/master-offers.test.ts', 'a test: a 61-line function', functionOf(61)],
  ['test/support/cluster.ts', 'a test helper: a 401-line file', moduleOf(401)],
];

jest.setTimeout(120_000);

describe('the structure is enforced by lint', () => {
  let got: Problem[][];
  beforeAll(() => {
    got = lint([
      ...refusedImports.map(([file, code]) => [file, importLine(code)] as const),
      ...allowedImports.map(([file, code]) => [file, importLine(code)] as const),
      ...refusedSizes.map(([file, , text]) => [file, text] as const),
      ...allowedSizes.map(([file, , text]) => [file, text] as const),
    ]);
  });
  const at = (i: number): Problem[] => got[i]!;

  it('refuses each import across a layer it must not see, naming the rule, and lets the allowed ones be', () => {
    refusedImports.forEach(([file, code, why], i) =>
      expect([file, code, messagesOf(at(i), IMPORT_RULES)]).toEqual([file, code, [expect.stringMatching(why)]]));
    allowedImports.forEach(([file, code], i) =>
      expect([file, code, messagesOf(at(refusedImports.length + i), IMPORT_RULES)]).toEqual([file, code, []]));
  });

  it('refuses a source file over 400 lines (every line counted) and a function over 60, and lets 400 and 60 be', () => {
    const from = refusedImports.length + allowedImports.length;
    refusedSizes.forEach(([file, what, , why], i) =>
      expect([file, what, messagesOf(at(from + i), SIZE_RULES)]).toEqual([file, what, [expect.stringMatching(why)]]));
    allowedSizes.forEach(([file, what], i) =>
      expect([file, what, messagesOf(at(from + refusedSizes.length + i), SIZE_RULES)]).toEqual([file, what, []]));
  });
});
