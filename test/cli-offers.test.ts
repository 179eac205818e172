/**
 * `agora offers --follow`, the built binary, on a real cluster: it prints offer-log entries
 * as they happen — a framework's decline with its reason — and on SIGINT ends cleanly, exit
 * code 0 and nothing on stderr. And the log queried: since a time, for a framework, of a kind,
 * from the master's JetStream stream; a refused parameter named by its flag.
 */
import { spawn } from 'child_process';
import { existsSync } from 'fs';
import { join } from 'path';
import { UsageError } from '../common/flags';
import { offers } from '../cli/offers';
import { subscribe, type Scheduler } from '../frameworks/sdk';
import { startCluster, type TestCluster } from './support/cluster';

const BIN = join(__dirname, '..', 'dist', 'cli', 'agora.js');

let cluster: TestCluster;
let s: Scheduler | undefined;

beforeAll(async () => { cluster = await startCluster({ containerizer: 'process' }); });
afterAll(async () => {
  s?.close();
  await cluster.stop();
});

it('prints a decline and its reason as it happens, and exits 0 on SIGINT', async () => {
  expect(existsSync(BIN)).toBe(true);   // built by `npm test` before jest runs
  const child = spawn(process.execPath, [BIN, 'offers', '--follow', '--master', cluster.masterAddr], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const declined = new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/DECLINED .* for 1000 ms: not today, thank you\n/.test(out)) resolve();
    });
  });
  // Declined for a second at a time, the offers come back: whenever the child's stream opens, one is declined while it listens.
  s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'offers-follow' } });
  s.on('offers', (offers) => { void s!.decline(offers.map((o) => o.id), { refuseMs: 1000, reason: 'not today, thank you' }); });
  await declined;
  expect(out).toMatch(new RegExp(`OFFERED\\s+\\S+ to ${s.frameworkId} \\(role \\*\\)`));
  child.kill('SIGINT');
  expect(await exited).toBe(0);
  expect(err).toBe('');
});

it('queries the log: since 10m, one framework, one kind; a bad --since is a usage error naming it', async () => {
  const fw = s!.frameworkId;   // the framework of the test above, which declined with a reason
  let out = '';
  const notes: string[] = [];
  expect(await offers(['--master', cluster.masterAddr, '--since', '10m', '--framework', fw, '--kind', 'declined', '--json'], (l) => { out += `${l}\n`; }, undefined, (n) => notes.push(n))).toBe(0);
  const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; frameworkId: string; reason: string; seq: number });
  expect(lines.length).toBeGreaterThan(0);
  expect(new Set(lines.map((l) => `${l.type} ${l.frameworkId} ${l.reason}`))).toEqual(new Set([`DECLINED ${fw} not today, thank you`]));
  expect(lines.map((l) => l.seq)).toEqual([...lines.map((l) => l.seq)].sort((a, b) => a - b));   // oldest first, as stored
  expect(notes).toEqual([]);   // durable: read from JetStream, no warning
  await expect(offers(['--master', cluster.masterAddr, '--since', 'last tuesday'], () => undefined)).rejects.toThrow(UsageError);
  await expect(offers(['--master', cluster.masterAddr, '--since', 'last tuesday'], () => undefined)).rejects.toThrow(/^--since: /);
});
