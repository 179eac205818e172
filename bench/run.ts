/**
 * Runs the registered benchmarks and writes `bench/results/latest.json` and `bench/RESULTS.md`.
 *
 *   npm run bench                      # all of them; also writes docs/benchmarks.md
 *   npm run -s bench -- decline        # only benches whose name contains "decline": one JSON
 *                                      # Measurement per line on stdout, writes nothing (a
 *                                      # partial table would mislead)
 *   node --expose-gc dist/bench/run.js decline   # the same, after a build
 *
 * A bench is registered by adding it to BENCHES below; each lives in `bench/<name>.bench.ts`.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { agentLaunchBench } from './agent-launch.bench';
import { allocatorBench } from './allocator.bench';
import { declineRoundsBench } from './decline-rounds.bench';
import { benchmarksDoc } from './docs';
import type { FrameworkStepAB } from './docs-framework-step';
import type { HaRecord } from './docs-ha';
import type { RedisFsyncRecord } from './docs-redis-fsync';
import { round, type Bench, type Measurement } from './harness';
import { haFailoverBench, haLaunchBench } from './ha.bench';
import { histogramBench } from './histogram.bench';
import { jobsBench } from './jobs.bench';
import { launchBench, launchSecurityBench } from './launch.bench';
import { leaseBench } from './lease.bench';
import { masterUiBench } from './master-ui.bench';
import { redisFsyncBench } from './redis-fsync.bench';
import { redisReplicaWaitBench } from './redis-replica-wait.bench';
import { servicesBench } from './services.bench';
import { sorterBench } from './sorter.bench';

const BENCHES: readonly Bench[] = [allocatorBench, declineRoundsBench, sorterBench, histogramBench, jobsBench, servicesBench, masterUiBench, launchBench, launchSecurityBench, agentLaunchBench, redisFsyncBench, redisReplicaWaitBench, leaseBench, haLaunchBench, haFailoverBench];

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
}

export interface Results {
  startedAt: string;
  durationS: number;
  machine: Machine;
  benches: { name: string; description: string }[];
  measurements: Measurement[];
}

/** The repository root: the nearest folder above this file with a package.json. */
function repoRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 10; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`no package.json above ${__dirname}: run the bench from inside the repository`);
}

/** The frameworks' step cost before and after the shared runtime: recorded once, rendered by every full run. */
function stepAB(): FrameworkStepAB | undefined {
  const file = path.join(repoRoot(), 'bench', 'results', 'framework-step-ab.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) as FrameworkStepAB : undefined;
}

/** A record kept in `bench/results/<name>`: measured once, rendered by every full run. */
function recorded<T>(name: string): T | undefined {
  const file = path.join(repoRoot(), 'bench', 'results', name);
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) as T : undefined;
}

function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
  };
}

export const seconds = (ms: number): string => (ms >= 1000 ? `${round(ms / 1000, 2)} s` : `${round(ms, 1)} ms`);

function markdown(r: Results): string {
  const sources = new Map<string, number>();
  const cite = (source: string): number => {
    if (!sources.has(source)) sources.set(source, sources.size + 1);
    return sources.get(source) as number;
  };
  const rows = r.measurements.map((m) => {
    const published = m.published.length === 0
      ? '—'
      : m.published.map((p) => `${p.label}: ${seconds(p.ms)} [${cite(p.source)}]`).join('<br>');
    const ratio = m.published.length === 0
      ? '—'
      : m.published.map((p) => `${round(p.ms / m.medianMs, 1)}×`).join('<br>');
    const heap = m.memory
      ? `<br>heap: snapshot ${m.memory.snapshotRetainedMiB} MiB, +${m.memory.allocateHeapGrowthMiB} MiB during allocate `
        + `(${m.memory.gcsDuringAllocate} GCs), result ${m.memory.resultRetainedMiB} MiB`
      : '';
    const latency = m.latency
      ? `<br>each (${m.latency.what}): p50 ${m.latency.p50Ms.map((x) => seconds(x)).join(' / ')}, `
        + `p99 ${m.latency.p99Ms.map((x) => seconds(x)).join(' / ')} (per run)`
      : '';
    return `| ${m.case} | ${seconds(m.medianMs)} | ${m.ops.toLocaleString('en-US')} ${m.opsLabel}${heap}${latency} | `
      + `${m.opsPerSec.toLocaleString('en-US')} | ${published} | ${ratio} |`;
  });
  const { cpuModel, cores, memoryGiB, node, platform } = r.machine;
  return [
    '# Benchmark results',
    '',
    `Generated by \`bench/run.ts\` (\`npm run bench\`) on ${r.startedAt} in ${r.durationS} s. Raw numbers: \`bench/results/latest.json\`.`,
    '',
    `**This machine:** ${cpuModel}, ${cores} cores, ${memoryGiB} GiB, Node ${node}, ${platform}.`,
    '',
    '**Read the comparison with care.** The published figures were measured on other machines (their',
    'hardware is mostly not stated), in C++, with Mesos\'s actor and bookkeeping costs inside the',
    'timed region, and some are read off a chart. They say whether we are in the same league, not',
    'who is faster by how much. "Ratio" is published time ÷ our median: above 1× means ours took less.',
    '',
    '| case | median | work | per second | published | ratio |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'What each bench times:',
    '',
    ...r.benches.map((b) => `- **${b.name}**: ${b.description}.`),
    '',
    'Sources:',
    '',
    ...[...sources].map(([source, n]) => `${n}. ${source}.`),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const only = process.argv[2];
  const benches = BENCHES.filter((b) => !only || b.name.includes(only));
  if (benches.length === 0) throw new Error(`no bench matches '${only}'; known: ${BENCHES.map((b) => b.name).join(', ')}`);
  const started = Date.now();
  const measurements: Measurement[] = [];
  for (const bench of benches) {
    for (const m of await bench.run()) {
      measurements.push(m);
      if (only) {
        // Filtered mode: machine-readable, one Measurement per line.
        console.log(JSON.stringify(m));
        continue;
      }
      const vs = m.published.map((p) => `${p.label} ${seconds(p.ms)}`).join('; ');
      console.log(`${m.bench} | ${m.case}: ${seconds(m.medianMs)}, ${m.ops} ${m.opsLabel}, ${m.opsPerSec}/s${vs ? ` (vs ${vs})` : ''}`);
    }
  }
  if (only) return;
  const results: Results = {
    startedAt: new Date(started).toISOString(),
    durationS: round((Date.now() - started) / 1000, 1),
    machine: machine(),
    benches: benches.map((b) => ({ name: b.name, description: b.description })),
    measurements,
  };
  const dir = path.join(repoRoot(), 'bench');
  fs.mkdirSync(path.join(dir, 'results'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'results', 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  fs.writeFileSync(path.join(dir, 'RESULTS.md'), markdown(results));
  fs.mkdirSync(path.join(repoRoot(), 'docs'), { recursive: true });
  fs.writeFileSync(path.join(repoRoot(), 'docs', 'benchmarks.md'), benchmarksDoc(results, stepAB(), recorded<RedisFsyncRecord>('redis-fsync.json'), recorded<HaRecord>('ha.json')));
  console.log(`wrote bench/results/latest.json, bench/RESULTS.md and docs/benchmarks.md (${results.durationS} s)`);
}

main().then(() => process.exit(0), (err: Error) => {
  console.error(`bench failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
