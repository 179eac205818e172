/**
 * The agent's launch and destroy throughput against the Docker Engine it drives, on real
 * parts, in the same run.
 *
 * Through the agent: a real nats-server, one agent with the Docker containerizer, and the
 * in-test master of `agent/test-master.ts`, which sends run and kill messages straight over
 * NATS and acknowledges every status update. No real master, allocator or framework is in
 * the way: this bench is about the agent. 200 `sleep 600` tasks are sent at once; each is
 * timed from its run message to its TASK_RUNNING. Once all run, all 200 are killed with a
 * grace period of 0 and timed to the last TASK_KILLED (sent after the container is removed).
 *
 * Raw Docker, the same 200 containers (same image, command, init, limits, bind mount):
 *   - through the Engine API (dockerode, the agent's own client), 200 at once, as the agent
 *     does: create + start, then remove with force. This is the fair floor: the same API
 *     path and concurrency, so the ratio is what the agent adds;
 *   - through the `docker` CLI, 200 at once, as an operator would: `docker run -d`, then
 *     `docker rm -f`. Each command is a process of its own talking to the same API.
 *
 * Each round runs the three paths one after another, the order reversed every other round,
 * so that drift in the machine's load does not always fall on the same path. Not timed:
 * starting nats-server and the agent, a warm-up round, and the checks that nothing is left.
 *
 * Docker Engines before 20.10.27 can deadlock for good when many containers on one network
 * exit at once (libnetwork takes the network and controller locks in opposite orders:
 * moby/moby#42545, backported to 20.10 in moby/moby#46693). A burst of 200 removals here
 * wedged this machine's shared dockerd that way, so on such an engine the bench does not
 * run unless AGORA_BENCH_DOCKER_BURST=1 says that whoever runs it can restart dockerd.
 */
import Docker from 'dockerode';
import { execFile } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { performance } from 'perf_hooks';
import { LABELS } from '../agent/containerizer/docker';
import { startAgentRig, testTask, type AgentRig } from '../agent/test-master';
import { parse } from '../common/resources';
import type { TaskStatus } from '../common/types';
import { median, percentile, round, type Bench, type LatencyFigure, type Measurement, type PublishedFigure } from './harness';

export const TASKS = 200;
const ROUNDS = 2;
const WARMUP_TASKS = 20;
const IMAGE = 'agora/busybox:latest';
const COMMAND = 'sleep 600';
const CPUS = 0.1;
const MEM_MB = 32;
/** Where the agent mounts the sandbox; the raw containers get a directory there too. */
const SANDBOX_MOUNT = '/mnt/agora/sandbox';
/** Labels the raw containers, so whatever a failed run leaves is found and removed. */
const RAW_LABEL = 'agora.bench';
/** A round that takes longer has hung: fail loudly rather than wait forever. */
const ROUND_TIMEOUT_MS = 10 * 60_000;
const CLEANUP_TIMEOUT_MS = 2 * 60_000;

/** The goal of the issue: the agent within 1.15× of raw Docker. */
export const GOAL_RATIO = 1.15;

export type Path = 'agent' | 'engine' | 'cli';
export type Phase = 'launch' | 'destroy';

const PATH_LABEL: Record<Path, string> = {
  agent: 'agent (NATS run/kill messages)',
  engine: 'raw Docker, Engine API',
  cli: 'raw Docker, `docker` CLI',
};
const PHASE_LABEL: Record<Path, Record<Phase, string>> = {
  agent: { launch: 'run messages → last TASK_RUNNING', destroy: 'kill (grace 0) → last TASK_KILLED, containers removed' },
  engine: { launch: 'create + start, all at once', destroy: 'remove with force, all at once' },
  cli: { launch: '`docker run -d`, all at once', destroy: '`docker rm -f`, all at once' },
};

/** What one container's own time is, from what to what. */
const EACH: Record<Path, Record<Phase, string>> = {
  agent: { launch: 'run message sent → its TASK_RUNNING received', destroy: 'kill message sent → its TASK_KILLED received' },
  engine: { launch: 'create called → start returned', destroy: 'remove called → returned' },
  cli: { launch: '`docker run -d` spawned → exited', destroy: '`docker rm -f` spawned → exited' },
};

/** The case name of a path's phase; `docs.ts` finds the figures by it. */
export const caseOf = (path: Path, phase: Phase): string =>
  `${PATH_LABEL[path]}: ${phase} ${TASKS} containers (${PHASE_LABEL[path][phase]})`;

export const LAUNCH_SOURCE = 'Mesos 1.7.0 release blog (2018-09-24), performance chart `mesos-1-7-0-performance.png`: '
  + '1,000 container launches on one agent, 53.1 s (1.6.0) → 30.7 s (1.7.0); the 1.7.0 performance blog (2018-10-08): '
  + '"launch 1000 containers in about 30 seconds, destroying those 1000 containers in just over 20 seconds" '
  + '(≈22 s on its chart), Mesos containerizer, a Docker image of the host OS, 2 × Xeon E5-2658 v3 (24 cores), '
  + 'benchmark in reviews.apache.org/r/68266';

/** A published per-container cost, scaled to `n` containers: the comparison is of rates, not totals. */
const scaled = (label: string, msPer1000: number, n: number): PublishedFigure =>
  ({ label: `${label}, 1,000 scaled to ${n}`, ms: (msPer1000 / 1000) * n, source: LAUNCH_SOURCE });

interface PhaseTimes {
  totalMs: number;
  /** Each container's own time, for percentiles. */
  eachMs: number[];
}

type RoundTimes = Record<Phase, PhaseTimes>;

const since = (t0: number): number => performance.now() - t0;

/** Waits for `n` statuses that `match` picks out; any other terminal state fails the round. */
function collect(rig: AgentRig, ids: ReadonlySet<string>, state: TaskStatus['state'], onOne: (s: TaskStatus) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const seen = new Set<string>();
    const done = (err?: Error) => {
      clearTimeout(timer);
      rig.master.off('status', listen);
      if (err) reject(err);
      else resolve();
    };
    const listen = (s: TaskStatus) => {
      if (!ids.has(s.taskId) || seen.has(s.taskId)) return;
      if (s.state === state) {
        seen.add(s.taskId);
        onOne(s);
        if (seen.size === ids.size) done();
      } else if (['TASK_FAILED', 'TASK_ERROR', 'TASK_DROPPED', 'TASK_LOST', 'TASK_FINISHED'].includes(s.state)
        || (s.state === 'TASK_KILLED' && state !== 'TASK_KILLED')) {
        done(new Error(`bench task ${s.taskId} went ${s.state} while waiting for ${state}: ${s.message}`));
      }
    };
    const timer = setTimeout(() => done(new Error(`${ids.size - seen.size} of ${ids.size} bench tasks never reached ${state}`)), ROUND_TIMEOUT_MS);
    rig.master.on('status', listen);
  });
}

async function throughAgent(rig: AgentRig, docker: Docker, tag: string, n: number): Promise<RoundTimes> {
  const ids = Array.from({ length: n }, (_, i) => `launch-${tag}-${i}`);
  const idSet = new Set(ids);
  const sentAt = new Map<string, number>();
  const launchEach: number[] = [];
  const running = collect(rig, idSet, 'TASK_RUNNING', (s) => launchEach.push(performance.now() - (sentAt.get(s.taskId) as number)));
  const t0 = performance.now();
  for (const id of ids) {
    sentAt.set(id, performance.now());
    rig.master.run(rig.agentId, testTask(id, COMMAND, {
      resources: parse(`cpus:${CPUS};mem:${MEM_MB}`),
      container: { type: 'DOCKER', docker: { image: IMAGE, portMappings: [], forcePullImage: false } },
    }));
  }
  await running;
  const launchMs = since(t0);

  const destroyEach: number[] = [];
  const killedAt = new Map<string, number>();
  const killed = collect(rig, idSet, 'TASK_KILLED', (s) => destroyEach.push(performance.now() - (killedAt.get(s.taskId) as number)));
  const t1 = performance.now();
  for (const id of ids) {
    killedAt.set(id, performance.now());
    rig.master.kill(rig.agentId, id, 0);
  }
  await killed;
  const destroyMs = since(t1);
  const left = await docker.listContainers({ all: true, filters: { label: [`${LABELS.agentId}=${rig.agentId}`] } });
  if (left.length > 0) throw new Error(`${left.length} agent containers are left after every TASK_KILLED`);
  return { launch: { totalMs: launchMs, eachMs: launchEach }, destroy: { totalMs: destroyMs, eachMs: destroyEach } };
}

/**
 * Times `op` on every item at once: the total, and each item's own time. Fails after
 * ROUND_TIMEOUT_MS rather than hang on an engine that stopped answering.
 */
async function allAtOnce<T>(what: string, items: readonly T[], op: (item: T) => Promise<unknown>): Promise<PhaseTimes> {
  const eachMs: number[] = [];
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: ${items.length - eachMs.length} of ${items.length} calls to the Docker Engine `
      + `had not returned after ${ROUND_TIMEOUT_MS / 1000} s; is dockerd deadlocked (moby/moby#42545)?`)), ROUND_TIMEOUT_MS);
  });
  try {
    await Promise.race([hung, Promise.all(items.map(async (item) => {
      const start = performance.now();
      await op(item);
      eachMs.push(since(start));
    }))]);
  } finally {
    clearTimeout(timer);
  }
  return { totalMs: since(t0), eachMs };
}

/**
 * Why `version` (the engine's, e.g. "20.10.24+dfsg1") may deadlock under a burst of container
 * exits, or undefined when it has the fix: 20.10.27 and later, and every release from 23.0.
 */
export function exitBurstHazard(version: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const fixed = major > 20 || (major === 20 && minor > 10) || (major === 20 && minor === 10 && patch >= 27);
  return fixed ? undefined
    : `Docker Engine ${version} lacks the libnetwork deadlock fix of 20.10.27 (moby/moby#42545, #46693): `
      + `${TASKS} containers exiting at once can wedge dockerd until it is restarted`;
}

/** The container the agent makes for a bench task, less what only the agent needs (attach, env). */
function rawCreateOptions(name: string, sandbox: string): Docker.ContainerCreateOptions {
  return {
    name, Image: IMAGE, Entrypoint: ['/bin/sh', '-c'], Cmd: [COMMAND], Labels: { [RAW_LABEL]: 'raw' },
    HostConfig: {
      Init: true, NetworkMode: 'bridge', Binds: [`${sandbox}:${SANDBOX_MOUNT}`],
      NanoCpus: Math.round(CPUS * 1e9), Memory: MEM_MB * 2 ** 20, MemorySwap: MEM_MB * 2 ** 20,
    },
  };
}

async function throughEngine(docker: Docker, sandbox: string, tag: string, n: number): Promise<RoundTimes> {
  const names = Array.from({ length: n }, (_, i) => `agora-bench-engine-${tag}-${i}`);
  const launch = await allAtOnce(`Engine API launch ${tag}`, names, async (name) => {
    const c = await docker.createContainer(rawCreateOptions(name, sandbox));
    await c.start();
  });
  const destroy = await allAtOnce(`Engine API destroy ${tag}`, names, (name) => docker.getContainer(name).remove({ force: true, v: true }));
  return { launch, destroy };
}

function dockerCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('docker', args, (err, _out, stderr) => (err ? reject(new Error(`docker ${args[0]} failed: ${stderr.trim() || err.message}`)) : resolve()));
  });
}

async function throughCli(sandbox: string, tag: string, n: number): Promise<RoundTimes> {
  const names = Array.from({ length: n }, (_, i) => `agora-bench-cli-${tag}-${i}`);
  const launch = await allAtOnce(`CLI launch ${tag}`, names, (name) => dockerCli([
    'run', '-d', '--name', name, '--label', `${RAW_LABEL}=raw`, '--init', '--network', 'bridge', '-v', `${sandbox}:${SANDBOX_MOUNT}`,
    '--cpus', String(CPUS), '--memory', `${MEM_MB}m`, '--memory-swap', `${MEM_MB}m`, '--entrypoint', '/bin/sh', IMAGE, '-c', COMMAND,
  ]));
  const destroy = await allAtOnce(`CLI destroy ${tag}`, names, (name) => dockerCli(['rm', '-f', '-v', name]));
  return { launch, destroy };
}

/** `p`, or a rejection once `timeoutMs` has passed without it settling. */
async function within<T>(timeoutMs: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`not done after ${timeoutMs / 1000} s`)), timeoutMs);
    })]);
  } finally {
    clearTimeout(timer);
  }
}

/** Removes whatever raw bench containers a failed round left. */
async function removeRaw(docker: Docker): Promise<void> {
  const left = await docker.listContainers({ all: true, filters: { label: [`${RAW_LABEL}=raw`] } });
  await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined)));
}

function latency(what: string, rounds: readonly PhaseTimes[]): LatencyFigure {
  return {
    what, count: rounds[0]?.eachMs.length ?? 0,
    p50Ms: rounds.map((r) => round(percentile(r.eachMs, 50), 1)),
    p99Ms: rounds.map((r) => round(percentile(r.eachMs, 99), 1)),
    maxMs: rounds.map((r) => round(Math.max(...r.eachMs), 1)),
  };
}

function measurement(path: Path, phase: Phase, rounds: readonly RoundTimes[], published: PublishedFigure[]): Measurement {
  const phases = rounds.map((r) => r[phase]);
  const samplesMs = phases.map((p) => round(p.totalMs, 1));
  const medianMs = round(median(samplesMs), 1);
  return {
    bench: 'agent-launch', case: caseOf(path, phase),
    params: { containers: TASKS, path, phase, image: IMAGE, command: COMMAND, cpus: CPUS, memMb: MEM_MB, concurrency: TASKS },
    runs: rounds.length, samplesMs, medianMs, ops: TASKS, opsLabel: 'containers',
    opsPerSec: Math.round(TASKS / (medianMs / 1000)), published,
    latency: latency(EACH[path][phase], phases),
  };
}

export const agentLaunchBench: Bench = {
  name: 'agent-launch',
  description: `${TASKS} \`${COMMAND}\` Docker containers launched and then destroyed, all at once, three ways in the same run: `
    + 'through the agent (run and kill messages over a real nats-server from the in-test master, each timed to its TASK_RUNNING and '
    + 'TASK_KILLED), straight through the Engine API, and with the `docker` CLI; '
    + `${ROUNDS} rounds after a ${WARMUP_TASKS}-container warm-up, order reversed every other round; starting nats-server and the agent is not timed`,
  async run() {
    const docker = new Docker({ socketPath: '/var/run/docker.sock' });
    const hazard = exitBurstHazard((await docker.version()).Version);
    if (hazard && process.env.AGORA_BENCH_DOCKER_BURST !== '1') {
      process.stderr.write(`agent-launch: not run. ${hazard}; set AGORA_BENCH_DOCKER_BURST=1 to run it anyway, on a dockerd nobody else needs.\n`);
      return [];
    }
    const sandbox = mkdtempSync(join(tmpdir(), 'agora-bench-raw-'));
    // Resources are the master's business; the in-test master sends whatever it is told to.
    const rig = await startAgentRig({ containerizer: 'docker', resources: 'cpus:2;mem:4096;disk:4096' });
    const results: Record<Path, RoundTimes[]> = { agent: [], engine: [], cli: [] };
    const runPath = (path: Path, tag: string, n: number): Promise<RoundTimes> => {
      switch (path) {
        case 'agent': return throughAgent(rig, docker, tag, n);
        case 'engine': return throughEngine(docker, sandbox, tag, n);
        case 'cli': return throughCli(sandbox, tag, n);
      }
    };
    try {
      await removeRaw(docker);
      const order: Path[] = ['agent', 'engine', 'cli'];
      for (const path of order) await runPath(path, 'warm', WARMUP_TASKS);
      for (let r = 0; r < ROUNDS; r++) {
        for (const path of r % 2 === 0 ? order : [...order].reverse()) {
          const t = await runPath(path, String(r), TASKS);
          results[path].push(t);
          // Each round as it ends, on stderr: a run that fails later still leaves these.
          process.stderr.write(`agent-launch round ${r} ${path}: launch ${round(t.launch.totalMs, 0)} ms `
            + `(p50 ${round(percentile(t.launch.eachMs, 50), 0)}, p99 ${round(percentile(t.launch.eachMs, 99), 0)}), `
            + `destroy ${round(t.destroy.totalMs, 0)} ms\n`);
        }
      }
    } finally {
      // Bounded: on a wedged engine the cleanup hangs too, and the round's error must still come out.
      await within(CLEANUP_TIMEOUT_MS, removeRaw(docker)).catch(() => undefined);
      await within(CLEANUP_TIMEOUT_MS, rig.stop()).catch((err: Error) => process.stderr.write(`agent-launch: agent did not stop: ${err.message}\n`));
      rmSync(sandbox, { recursive: true, force: true });
    }
    return [
      measurement('agent', 'launch', results.agent, [scaled('Mesos 1.7.0 one agent', 30_700, TASKS), scaled('Mesos 1.6.0 one agent', 53_100, TASKS)]),
      measurement('agent', 'destroy', results.agent, [scaled('Mesos 1.7.0 one agent, destroy (≈22 s, read off the chart)', 22_000, TASKS)]),
      measurement('engine', 'launch', results.engine, []),
      measurement('engine', 'destroy', results.engine, []),
      measurement('cli', 'launch', results.cli, []),
      measurement('cli', 'destroy', results.cli, []),
    ];
  },
};
