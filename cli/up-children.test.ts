/**
 * The supervision of `agora up --masters N`'s children, with real child processes (small Node
 * scripts standing in for `agora master`): the first start waits for the ready line, a child
 * that exits is started again with backoff until the per-minute bound, and a stop is never
 * taken for a crash.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { ChildStartError, superviseChild } from './up-children';

/** A Node script as the child: prints `ready`, then does what `then` says. */
const node = (then: string): readonly string[] => [process.execPath, '-e', `console.log('ready on 42'); ${then}`];
const READY = /^ready on (\d+)/;

/** The lines logged, and a wait for the `n`th matching one. */
function collector(): { lines: string[]; log: (line: string) => void; waitFor(re: RegExp, n?: number): Promise<void> } {
  const lines: string[] = [];
  const waiters: { re: RegExp; n: number; resolve: () => void }[] = [];
  const seen = (re: RegExp) => lines.filter((l) => re.test(l)).length;
  return {
    lines,
    log: (line) => {
      lines.push(line);
      for (const w of waiters.filter((x) => seen(x.re) >= x.n)) w.resolve();
    },
    waitFor: (re, n = 1) => seen(re) >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ re, n, resolve })),
  };
}

describe('a supervised child', () => {
  it('resolves with its ready line, and is started again after it exits, each pid reported', async () => {
    const out = collector();
    const pids: number[] = [];
    // Exits 1 once (the marker file missing), then stays up: a deposed master coming back as a standby.
    const dir = mkdtempSync(join(tmpdir(), 'agora-up-children-'));
    const marker = join(dir, 'exited-once');
    const child = await superviseChild({ name: 'master-1', args: [], ready: READY }, {
      log: out.log, onStart: (pid) => pids.push(pid), backoffMs: 10,
      command: node(`const fs = require('fs'); if (!fs.existsSync('${marker}')) { fs.writeFileSync('${marker}', ''); process.exit(1); } setInterval(() => {}, 1000);`),
    });
    expect(child.ready[1]).toBe('42');
    await out.waitFor(/^\[up\] master-1 exited \(code 1\); starting it again in 10 ms$/);
    await out.waitFor(/^\[master-1\] ready on 42$/, 2);
    expect(child.restarts()).toBe(1);
    expect(pids).toHaveLength(2);
    expect(child.pid()).toBe(pids[1]);
    await child.stop();
    expect(child.pid()).toBeUndefined();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is left down once it was started again the most times a minute allows', async () => {
    const out = collector();
    const child = await superviseChild({ name: 'jobs', args: [], ready: READY }, { log: out.log, onStart: () => undefined, backoffMs: 1, maxPerMinute: 2, command: node('process.exit(3);') });
    await out.waitFor(/^\[up\] jobs exited \(code 3\); it was started again 2 times within a minute: leaving it down$/);
    expect(out.lines.filter((l) => /starting it again in/.test(l))).toEqual(['[up] jobs exited (code 3); starting it again in 1 ms', '[up] jobs exited (code 3); starting it again in 2 ms']);
    expect(child.restarts()).toBe(2);
    await child.stop();
  });

  it('is not started again when stopped', async () => {
    const out = collector();
    const starts: number[] = [];
    const child = await superviseChild({ name: 'services', args: [], ready: READY }, { log: out.log, onStart: (pid) => starts.push(pid), backoffMs: 1, command: node('setInterval(() => {}, 1000);') });
    await child.stop();
    expect(child.pid()).toBeUndefined();
    expect(starts).toHaveLength(1);
    expect(out.lines.filter((l) => l.startsWith('[up]'))).toEqual([]);
  });

  it('tries a first start that failed for the moment again, within the bound of restarts', async () => {
    const out = collector();
    const dir = mkdtempSync(join(tmpdir(), 'agora-up-children-'));
    const marker = join(dir, 'failed-once');
    // Fails once before serving (as a master whose lease bucket is not there yet), then serves.
    const child = await superviseChild({ name: 'master-2', args: [], ready: READY }, {
      log: out.log, onStart: () => undefined, backoffMs: 10,
      command: [process.execPath, '-e', `const fs = require('fs'); if (!fs.existsSync('${marker}')) { fs.writeFileSync('${marker}', ''); console.error('cannot open the lease bucket'); process.exit(1); } console.log('ready on 43'); setInterval(() => {}, 1000);`],
    });
    expect(child.ready[1]).toBe('43');
    expect(out.lines).toContain('[up] master-2 could not start (exit 1); trying again in 10 ms');
    expect(child.restarts()).toBe(1);
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a child that exits before its ready line, with what it said', async () => {
    const start = superviseChild({ name: 'master-2', args: ['master', '--bad'], ready: /^never/ }, {
      log: () => undefined, onStart: () => undefined, command: [process.execPath, '-e', "console.error('unknown flag --bad'); setTimeout(() => process.exit(2), 50);"],
    });
    await expect(start).rejects.toThrow(ChildStartError);
    await expect(start).rejects.toThrow(/master-2 \(agora master --bad\) exited \(code 2\) before it served: unknown flag --bad/);
  });
});
