/**
 * The SDK README's complete example is a real program: the block in the README is the file
 * `frameworks/examples/hello.ts`, character for character, and that file, built, runs
 * against a real cluster until its three tasks finish.
 */
import { spawn } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { startCluster, type TestCluster } from './support/cluster';

const ROOT = join(__dirname, '..');
const BIN = join(ROOT, 'dist', 'frameworks', 'examples', 'hello.js');

/** Every block of the README that names its file in a `<!-- example: path -->` line just above it. */
function examplesIn(readme: string): { path: string; code: string }[] {
  return [...readme.matchAll(/<!-- example: (\S+) -->\n```ts\n([\s\S]*?)```\n/g)].map((m) => ({ path: m[1]!, code: m[2]! }));
}

describe('the SDK README example', () => {
  it('is frameworks/examples/hello.ts, unchanged, and under 50 lines', () => {
    const examples = examplesIn(readFileSync(join(ROOT, 'frameworks', 'sdk', 'README.md'), 'utf8'));
    expect(examples.map((e) => e.path)).toEqual(['frameworks/examples/hello.ts']);
    const file = readFileSync(join(ROOT, examples[0]!.path), 'utf8');
    expect(examples[0]!.code).toBe(file);
    expect(file.trimEnd().split('\n').length).toBeLessThan(50);
  });

  describe('run against a real cluster', () => {
    let cluster: TestCluster;
    beforeAll(async () => { cluster = await startCluster({ containerizer: 'process' }); });
    afterAll(async () => { await cluster.stop(); });

    it('launches its three tasks, sees each TASK_FINISHED, tears down and exits 0', async () => {
      expect(existsSync(BIN)).toBe(true);   // built by `npm test` before jest runs
      const child = spawn(process.execPath, [BIN], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGORA_MASTER: cluster.masterAddr } });
      let out = '';
      child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
      const [code] = await new Promise<[number | null]>((resolve) => child.once('exit', (c) => resolve([c])));

      expect({ code, out }).toMatchObject({ code: 0, out: expect.stringContaining('all tasks finished') as string });
      for (const name of ['a', 'b', 'c']) expect(out).toMatch(new RegExp(`hello-${name}-\\w+ TASK_FINISHED`));
      const frameworkId = /subscribed as (\S+)/.exec(out)?.[1];
      const state = await cluster.state();
      expect(state.frameworks.map((f) => f.id)).not.toContain(frameworkId);   // torn down
      expect(state.tasks.filter((t) => t.state === 'TASK_RUNNING')).toEqual([]);
    });
  });
});
