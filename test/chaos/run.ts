/**
 * One chaos run: the cluster (cluster.ts) under load (load.ts), `faults` faults (nemesis.ts)
 * one after another — each injected, held, healed, then the cluster waited on until steady
 * again — then the load stopped, the final reads taken, every rule checked (checkers.ts) and
 * the report (report.ts) written to the run's folder and returned.
 *
 * `npm run chaos` runs `node dist/test/chaos/run.js`: CHAOS_FAULTS (100), CHAOS_SEED (random,
 * printed), CHAOS_DIR (a new folder under the temp dir), CHAOS_KINDS (a comma list of fault
 * kinds; default every enabled one), CHAOS_LEASE_MS (1500). Exit code 1 on any violation.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { seededRandom } from '../../common/clock';
import { checkAll } from './checkers';
import { ChaosCluster, waitUntil } from './cluster';
import { History, type NemesisKind } from './history';
import { Load, type LoadOptions } from './load';
import { inject, nemesis, schedule } from './nemesis';
import { buildReport, formatReport, type ChaosReport } from './report';

export interface ChaosOptions {
  faults: number;
  seed: number;
  runDir?: string;
  kinds?: NemesisKind[];
  leaseMs?: number;
  /** Load before the first fault and between faults, ms (defaults 2000, and 500–1500 seeded). */
  warmupMs?: number;
  gapMs?: [number, number];
  /** How long the cluster may take to be steady again after a fault (default 90 s). */
  recoverMs?: number;
  load?: LoadOptions;
  log?: (line: string) => void;
}

export interface ChaosResult {
  runDir: string;
  report: ChaosReport;
  text: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runChaos(o: ChaosOptions): Promise<ChaosResult> {
  const runDir = o.runDir ?? mkdtempSync(join(tmpdir(), `agora-chaos-${o.seed}-`));
  mkdirSync(runDir, { recursive: true });
  const log = o.log ?? (() => undefined);
  const history = new History(join(runDir, 'history.jsonl'));
  const random = seededRandom(o.seed);
  const leaseMs = o.leaseMs ?? 1500;
  // The SDK framework of the load (in this process) reads the client config the cluster writes
  // there, and speaks as its user (the admin) over TLS.
  process.env.AGORA_HOME = join(runDir, 'home');
  delete process.env.AGORA_CONFIG;
  delete process.env.AGORA_USER;
  log(`chaos: seed ${o.seed}, ${o.faults} faults, run dir ${runDir}`);
  const cluster = await ChaosCluster.start({ runDir, history, leaseMs });
  const load = new Load(cluster, history, random, o.load);
  try {
    await load.start();
    history.add({ type: 'phase', name: 'load' });
    await sleep(o.warmupMs ?? 2000);
    const plan = schedule(o.faults, random, o.kinds);
    const recoverMs = o.recoverMs ?? 90_000;
    for (const [i, kind] of plan.entries()) {
      log(`fault ${i + 1}/${plan.length}: ${kind}`);
      try {
        await inject(nemesis(kind), i + 1, { cluster, random, history, leaseMs });
        await cluster.waitSteady(recoverMs);
        await waitUntil('the SDK framework is subscribed', () => load.connected(), recoverMs);
      } catch (err) {
        // Not steady again: a finding in itself. No more faults; the final reads say what is left.
        history.add({ type: 'stuck', fault: i + 1, what: (err as Error).message });
        log(`stuck after fault ${i + 1}: ${(err as Error).message}`);
        break;
      }
      const [lo, hi] = o.gapMs ?? [500, 1500];
      await sleep(lo + Math.round(random.next() * (hi - lo)));
    }
    history.add({ type: 'phase', name: 'heal' });
    await load.stop();
    const stuck = history.events.some((e) => e.type === 'stuck');
    if (!stuck) await cluster.waitSteady(o.recoverMs ?? 90_000).catch((err: Error) => history.add({ type: 'stuck', fault: 0, what: err.message }));
    history.add({ type: 'phase', name: 'final' });
    await load.final(stuck ? 10_000 : 60_000);
    history.add({ type: 'phase', name: 'done' });
  } finally {
    load.close();
    await cluster.stop();
  }
  const report = buildReport(history.events, checkAll(history.events), o.seed);
  const text = formatReport(report);
  writeFileSync(join(runDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(runDir, 'report.txt'), text);
  return { runDir, report, text };
}

function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${v}'`);
  return n;
}

async function main(): Promise<number> {
  const seed = envInt('CHAOS_SEED', Math.floor(Math.random() * 2 ** 31));
  const kinds = process.env.CHAOS_KINDS ? process.env.CHAOS_KINDS.split(',').map((k) => k.trim() as NemesisKind) : undefined;
  kinds?.forEach((k) => nemesis(k));   // an unknown kind fails here, before anything starts
  const { text, report, runDir } = await runChaos({
    faults: envInt('CHAOS_FAULTS', 100), seed, ...(kinds ? { kinds } : {}), leaseMs: envInt('CHAOS_LEASE_MS', 1500),
    ...(process.env.CHAOS_DIR ? { runDir: process.env.CHAOS_DIR } : {}),
    log: (l) => process.stdout.write(`${new Date().toISOString()} ${l}\n`),
  });
  process.stdout.write(`\n${text}report and history in ${runDir}\n`);
  return report.violations.length === 0 && report.faultsFailed.length === 0 && report.stuck.length === 0 ? 0 : 1;
}

if (require.main === module) {
  main().then((code) => process.exit(code), (err: Error) => {
    process.stderr.write(`chaos: ${err.stack ?? err.message}\n`);
    process.exit(2);
  });
}
