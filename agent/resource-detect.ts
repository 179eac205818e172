/**
 * What this machine can offer when the operator does not say: cpus, mem, disk, ports and
 * GPUs (NVIDIA's, counted with `nvidia-smi` when it is installed).
 * Like Mesos, the agent keeps some memory and disk back for the system and itself, so a
 * fully packed agent still leaves the host room to breathe.
 */
import { execFileSync } from 'child_process';
import { existsSync, statfsSync } from 'fs';
import { cpus, totalmem } from 'os';
import { dirname } from 'path';
import { add, normalize, parse, type Resources } from '../common/resources';

const MB = 1024 * 1024;
const GB_IN_MB = 1024;
const DISK_MARGIN_MAX_MB = 5 * GB_IN_MB;

export interface HostFacts {
  cores: number;
  totalMemMb: number;
  /** Free space of the work directory's filesystem, MB. */
  freeDiskMb: number;
  /** NVIDIA GPUs `nvidia-smi` lists; 0 without it. */
  gpus?: number;
}

export function hostFacts(workDir: string): HostFacts {
  return { cores: cpus().length || 1, totalMemMb: Math.floor(totalmem() / MB), freeDiskMb: freeDiskMb(workDir), gpus: nvidiaGpus() };
}

/** The GPUs in `nvidia-smi --query-gpu=index --format=csv,noheader` output: one index per line. */
export function parseGpuIndexes(output: string): number {
  return output.split('\n').filter((line) => /^\s*\d+\s*$/.test(line)).length;
}

/** 0 when `nvidia-smi` is not installed or fails (no driver): such GPUs could not be used anyway. */
function nvidiaGpus(): number {
  try {
    return parseGpuIndexes(execFileSync('nvidia-smi', ['--query-gpu=index', '--format=csv,noheader'], { encoding: 'utf8', timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return 0;
  }
}

/** Fills in every predefined resource `given` lacks; what is given is kept as is. */
export function detectResources(given: Resources, workDir: string, ports: string, facts?: HostFacts): Resources {
  const has = (name: string) => given.some((r) => r.name === name);
  const f = facts ?? hostFacts(workDir);
  const parts: string[] = [];
  if (!has('cpus')) parts.push(`cpus:${f.cores}`);
  if (!has('mem')) parts.push(`mem:${Math.max(0, f.totalMemMb - Math.min(GB_IN_MB, Math.floor(f.totalMemMb / 2)))}`);
  if (!has('disk')) parts.push(`disk:${Math.max(0, f.freeDiskMb - Math.min(DISK_MARGIN_MAX_MB, Math.floor(f.freeDiskMb / 2)))}`);
  if (!has('ports')) parts.push(`ports:${ports}`);
  if (!has('gpus') && (f.gpus ?? 0) > 0) parts.push(`gpus:${f.gpus}`);
  return normalize(add(given, parse(parts.join(';'))));
}

/** The work directory may not exist yet: measure the nearest ancestor that does. */
function freeDiskMb(path: string): number {
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  try {
    const s = statfsSync(p);
    return Math.floor((Number(s.bavail) * Number(s.bsize)) / MB);
  } catch {
    return 0;
  }
}
