/**
 * The layering rules of eslint.config.js fail on a wrong import: each case lints a line of
 * code as if it were in a file of that layer, with the project's own lint config. ESLint runs
 * in a child Node process (it loads its config by dynamic import, which jest's sandbox refuses).
 */
import { spawnSync } from 'child_process';
import { join } from 'path';

const root = join(__dirname, '..');

/** Each case's `no-restricted-imports` messages, linted in one ESLint run. */
function problems(cases: readonly (readonly [string, string])[]): string[][] {
  const script = `
    const { ESLint } = require('eslint');
    const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
    (async () => {
      const eslint = new ESLint({ cwd: ${JSON.stringify(root)} });
      const out = [];
      for (const [file, code] of cases) {
        const [r] = await eslint.lintText(code + '\\nexport {};\\n', { filePath: require('path').join(${JSON.stringify(root)}, file) });
        out.push(r.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message));
      }
      process.stdout.write(JSON.stringify(out));
    })().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });`;
  const run = spawnSync(process.execPath, ['-e', script], { cwd: root, input: JSON.stringify(cases), encoding: 'utf8', env: process.env });
  if (run.status !== 0) throw new Error(`eslint failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[][];
}

const refused: [string, string, RegExp][] = [
  ['master/allocator/allocate.ts', "import { Master } from '../master';", /the allocator imports only common/],
  ['master/allocator/allocate.ts', "import { startAgent } from '../../agent/agent';", /the allocator imports only common/],
  ['master/master.ts', "import { startAgent } from '../agent/agent';", /never import each other/],
  ['master/api/http.ts', "import { startAgent } from '../../agent/agent';", /never import each other/],
  ['agent/agent.ts', "import { Master } from '../master/master';", /never import each other/],
  ['common/codec.ts', "import { Master } from '../master/master';", /common\/ imports nothing of ours/],
  ['common/security/acl.ts', "import { subscribe } from '../../frameworks/sdk';", /common\/ imports nothing of ours/],
];
const allowed: [string, string][] = [
  ['master/allocator/allocate.ts', "import { parse } from '../../common/resources';"],
  ['master/master.ts', "import { parse } from '../common/resources';"],
  ['agent/agent.ts', "import { subjects } from '../common/subjects';"],
  ['common/security/acl.ts', "import type { Logger } from '../log';"],
];

jest.setTimeout(120_000);

describe('the layering is enforced by lint', () => {
  it('refuses each import across a layer it must not see, naming the rule, and lets the allowed ones be', () => {
    const got = problems([...refused.map(([f, c]) => [f, c] as const), ...allowed]);
    refused.forEach(([file, code, why], i) => expect([file, code, got[i]]).toEqual([file, code, [expect.stringMatching(why)]]));
    allowed.forEach(([file, code], i) => expect([file, code, got[refused.length + i]]).toEqual([file, code, []]));
  });
});
