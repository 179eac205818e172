/**
 * What a task can do with links in its own sandbox, against the agent's real HTTP server
 * over 127.0.0.1 with a sandbox directory on disk: plant a link that leads out, or swap one
 * in while the agent reads. Outside the sandbox, next to it, lies a file holding "SECRET";
 * no answer may ever carry it. The agent is reduced to the run the server asks for.
 */
import { spawn, execFileSync, type ChildProcess } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { request } from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import { logger } from '../../common/log';
import type { SandboxEntry } from '../sandbox';
import { startHttp, type AgentHttpServer } from './http';

let top: string;
/** The run's sandbox. */
let box: string;
/** Outside the sandbox: `secret` (a file holding SECRET) and `private/` (a directory with one). */
let outside: string;
let server: AgentHttpServer;

beforeEach(async () => {
  top = mkdtempSync(join(tmpdir(), 'agora-links-'));
  box = join(top, 'sandbox');
  outside = join(top, 'outside');
  mkdirSync(join(box, 'sub'), { recursive: true });
  mkdirSync(join(outside, 'private'), { recursive: true });
  writeFileSync(join(box, 'stdout'), 'inside');
  writeFileSync(join(box, 'sub', 'file'), 'inner');
  writeFileSync(join(outside, 'secret'), 'SECRET');
  writeFileSync(join(outside, 'private', 'secret-name'), 'SECRET');
  server = await startHttp('127.0.0.1', 0, {
    state: () => { throw new Error('not asked in these tests'); },
    runOf: () => ({ containerId: 'c-1', sandbox: box, over: true }),
    onRunEnded: () => undefined,
    log: logger('test'),
  });
});

afterEach(async () => {
  await stopSwapper();
  await server.close();
  rmSync(top, { recursive: true, force: true });
});

function get(path: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

const q = (more: string) => `framework_id=f&task_id=t&${more}`;
const read = (file: string) => get(`/files/read?${q(`file=${encodeURIComponent(file)}`)}`);
const follow = (file: string) => get(`/files/follow?${q(`file=${encodeURIComponent(file)}`)}`);
const browse = (path: string) => get(`/files/browse?${q(`path=${encodeURIComponent(path)}`)}`);

describe('links a task planted in its sandbox', () => {
  it('a link to a file outside is refused by read and follow, and the secret is not in the answer', async () => {
    symlinkSync(join(outside, 'secret'), join(box, 'stdout2'));
    symlinkSync('../outside/secret', join(box, 'relative'));
    for (const file of ['stdout2', 'relative']) {
      for (const r of [await read(file), await follow(file)]) {
        expect([file, r.status]).toEqual([file, 400]);
        expect(JSON.parse(r.text)).toEqual({ error: `'${file}' is outside the sandbox: a symbolic link inside the sandbox points outside it` });
      }
    }
  });

  it('a linked directory in the middle of the path is refused, whatever it points to outside', async () => {
    symlinkSync(join(outside, 'private'), join(box, 'd'));
    symlinkSync('/', join(box, 'root'));
    for (const file of ['d/secret-name', 'root' + join(outside, 'secret'), 'sub/../d/secret-name']) {
      const r = await read(file);
      expect([file, r.status]).toEqual([file, 400]);
      expect(r.text).toMatch(/outside the sandbox/);
      expect(r.text).not.toMatch(/SECRET/);
    }
  });

  it('browse shows a link as a link, and never lists the directory outside it points to', async () => {
    symlinkSync(join(outside, 'private'), join(box, 'd'));
    const r = await browse('');
    expect(r.status).toBe(200);
    const entries = (JSON.parse(r.text) as { entries: SandboxEntry[] }).entries;
    expect(entries.map((e) => [e.name, e.type, e.mode])).toEqual([
      ['d', 'link', 'lrwxrwxrwx'], ['stdout', 'file', expect.any(String)], ['sub', 'directory', expect.any(String)],
    ]);
    const into = await browse('d');
    expect(into.status).toBe(400);
    expect(into.text).not.toMatch(/secret-name/);
  });

  it('links that stay inside are followed: relative, through .., and by the sandbox\'s own absolute path', async () => {
    symlinkSync('sub/file', join(box, 'alias'));
    symlinkSync('../stdout', join(box, 'sub', 'up'));
    symlinkSync(join(box, 'sub'), join(box, 'abs'));
    expect(await read('alias')).toEqual({ status: 200, text: JSON.stringify({ data: 'inner', offset: 0 }) });
    expect(await read('sub/up')).toEqual({ status: 200, text: JSON.stringify({ data: 'inside', offset: 0 }) });
    expect(await read('abs/file')).toEqual({ status: 200, text: JSON.stringify({ data: 'inner', offset: 0 }) });
    expect(JSON.parse((await browse('abs')).text)).toMatchObject({ path: 'sub' });
  });

  it('a link loop is refused after 40 links, not followed forever', async () => {
    symlinkSync('b', join(box, 'a'));
    symlinkSync('a', join(box, 'b'));
    expect(await read('a')).toEqual({ status: 400, text: JSON.stringify({ error: "'a': more than 40 symbolic links on the way (a loop?)" }) });
  });

  it('a FIFO is refused as no regular file, at once (the agent does not wait for a writer)', async () => {
    execFileSync('mkfifo', [join(box, 'pipe')]);
    expect(await read('pipe')).toEqual({ status: 400, text: JSON.stringify({ error: "'pipe' is not a regular file" }) });
    expect((await follow('pipe')).status).toBe(400);
  });
});

/**
 * A child process swaps `sandbox/<name>` between what is inside and a link out, by atomic
 * renames, as fast as it can, until its stdin closes (or a million swaps). Child, not the
 * test's own loop: it runs on the other core, truly alongside the agent's opens.
 */
const SWAPPER = `
const fs = require('fs');
const [box, name, inside, outside, kind] = process.argv.slice(1);
const at = (n) => box + '/' + n;
let stop = false;
process.stdin.on('end', () => { stop = true; }).resume();
async function main() {
  for (let i = 0; i < 1_000_000 && !stop; i++) {
    if (kind === 'file') {
      fs.rmSync(at(name + '.tmp'), { force: true });
      if (i % 2 === 0) fs.writeFileSync(at(name + '.tmp'), inside); else fs.symlinkSync(outside, at(name + '.tmp'));
      fs.renameSync(at(name + '.tmp'), at(name));
    } else {
      // A directory cannot be renamed over a link, nor a link over a directory: the real
      // one steps aside and comes back (reads in the gap find nothing, which is fine).
      if (i % 2 === 0) { fs.symlinkSync(outside, at(name + '.tmp')); fs.renameSync(at(name), at(name + '.real')); fs.renameSync(at(name + '.tmp'), at(name)); }
      else { fs.rmSync(at(name)); fs.renameSync(at(name + '.real'), at(name)); }
    }
    if (i === 0) process.stdout.write('ready\\n');
    // Every 50 swaps a pause, in which stdin's end is heard. It follows an odd swap: the
    // link is in place for a file, the real directory is back for a directory (which is
    // otherwise mostly away, and reads through it should succeed too).
    if (i % 50 === 49) await new Promise((r) => setImmediate(r));
  }
}
main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
`;

let swapper: ChildProcess | undefined;

/** Ends the swapper by closing its stdin (killing it if a test failed first) and waits for it to exit. */
async function stopSwapper(): Promise<void> {
  const child = swapper;
  swapper = undefined;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stdin!.end();
  const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(kill);
}

async function startSwapper(args: string[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', SWAPPER, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`the swapper exited with ${code} before it swapped`)));
  });
  return child;
}

/** `total` reads of `file`, `parallel` at a time, tallied by what came back. */
async function readMany(file: string, total: number, parallel: number): Promise<{ bodies: string[]; inside: number }> {
  const bodies: string[] = [];
  let inside = 0;
  let started = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (started < total) {
      started++;
      const r = await read(file);
      bodies.push(r.text);
      if (r.status === 200 && (JSON.parse(r.text) as { data: string }).data === 'inside') inside++;
    }
  }));
  return { bodies, inside };
}

describe('a link swapped in while the agent reads', () => {
  it('2,000 reads of a file swapped between "inside" and a link to SECRET: never SECRET, and "inside" is read', async () => {
    writeFileSync(join(box, 'f'), 'inside');
    swapper = await startSwapper([box, 'f', 'inside', join(outside, 'secret'), 'file']);
    const { bodies, inside } = await readMany('f', 2000, 4);
    await stopSwapper();
    expect(bodies).toHaveLength(2000);
    expect(bodies.filter((b) => b.includes('SECRET'))).toEqual([]);
    expect(inside).toBeGreaterThan(0);
  });

  it('2,000 reads through a directory swapped with a link to one holding SECRET: never SECRET, and "inside" is read', async () => {
    mkdirSync(join(box, 'd'));
    writeFileSync(join(box, 'd', 'secret-name'), 'inside');
    swapper = await startSwapper([box, 'd', '', join(outside, 'private'), 'directory']);
    const { bodies, inside } = await readMany('d/secret-name', 2000, 4);
    await stopSwapper();
    expect(bodies).toHaveLength(2000);
    expect(bodies.filter((b) => b.includes('SECRET'))).toEqual([]);
    expect(inside).toBeGreaterThan(0);
  });
});
