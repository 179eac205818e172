/**
 * The agent's launch and destroy throughput against the Docker Engine it drives, on real
 * parts, in the same run.
 *
 * Through the agent: a real nats-server, one agent with the Docker containerizer, and the
 * in-test master of `test/support/test-master.ts`, which sends run and kill messages straight over
 * NATS and acknowledges every status update. No real master, allocator or framework is in
 * the way: this bench is about the agent. 200 `sleep 600` tasks are launched, each timed from
 * its run message to its TASK_RUNNING; then all 200 are killed with a grace period of 0, each
 * timed to its TASK_KILLED (sent after the container is removed).
 *
 * Raw Docker, the same 200 containers (same image, command, init, limits, bind mount):
 *   - through the Engine API (dockerode, the agent's own client): create + start, then remove
 *     with force. This is the fair floor: the same API path and concurrency, so the ratio is
 *     what the agent adds;
 *   - through the `docker` CLI, as an operator would: `docker run -d`, then `docker rm -f`.
 *     Each command is a process of its own talking to the same API.
 *
 * Every path keeps at most CONCURRENCY operations in flight (see there for why), the next
 * one sent as one completes: for the agent, a run message counts until its TASK_RUNNING and
 * a kill until its TASK_KILLED.
 *
 * Each round runs the three paths one after another, the order reversed every other round,
 * so that drift in the machine's load does not always fall on the same path. Not timed:
 * starting nats-server and the agent, a warm-up round, and the checks that nothing is left.
 * AGORA_BENCH_TRACE=1 also prints, per path and phase, the Engine API calls made and their
 * times (`docker-trace.ts`).
 *
 * The containers have no network (`--network none`, NetworkMode NONE for the agent's tasks):
 * the bench measures containers, not networking, and engines before 20.10.27 can deadlock
 * their bridge network code when many containers leave it at once (moby/moby#42545). With the
 * bridge, even 16 removals in flight wedged this machine's dockerd (20.10.24) twice; without a
 * network, three rounds of 200 launched and removed 16 at a time went through. A bridge run is
 * still possible with AGORA_BENCH_NETWORK=bridge, on engines with the fix or with
 * AGORA_BENCH_DOCKER_BURST=1 on a dockerd nobody else needs.
 */
import Docker from 'dockerode';
import { execFile } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { performance } from 'perf_hooks';
import { LABELS } from '../agent/containerizer/docker-create';
import { startAgentRig, testTask, type AgentRig } from '../test/support/test-master';
import { parse } from '../common/resources';
import { isTerminal, type TaskState, type TaskStatus } from '../common/types';
import { DockerTrace } from './docker-trace';
import { median, percentile, round, type Bench, type LatencyFigure, type Measurement, type PublishedFigure } from './harness';

export const TASKS = 200;
/** Three, so that the median shrugs off one round that other work on this shared machine slowed down. */
const ROUNDS = 3;
const WARMUP_TASKS = 20;
const IMAGE = 'agora/busybox:latest';
const COMMAND = 'sleep 600';
const CPUS = 0.1;
const MEM_MB = 32;
/** Where the agent mounts the sandbox; the raw containers get a directory there too. */
const SANDBOX_MOUNT = '/mnt/agora/sandbox';
/** Labels the raw containers, so whatever a failed run leaves is found and removed. */
const RAW_LABEL = 'agora.bench';
const RAW_LABEL_VALUE = `${RAW_LABEL}=raw`;
/**
 * At most this many launches (then destroys) in flight at once, on every path. Docker Engines
 * before 20.10.27 can deadlock for good when many containers on one network go away at once
 * (libnetwork takes its network and controller locks in opposite orders: moby/moby#42545,
 * fixed for 20.10 by moby/moby#46693); 200 concurrent `docker rm -f` wedged this machine's
 * shared dockerd (20.10.24) that way. A bound makes the race rarer, not impossible (16 at a
 * time wedged it too, hence `exitBurstHazard`). 16 still keeps dockerd, containerd and both
 * cores busy (a launch spends most of its time waiting on them), so it costs little throughput.
 */
export const CONCURRENCY = 16;
/** `none` unless AGORA_BENCH_NETWORK=bridge: see the top of the file. */
const NETWORK: 'none' | 'bridge' = process.env.AGORA_BENCH_NETWORK === 'bridge' ? 'bridge' : 'none';
/** A phase (200 launches or destroys) that takes longer has hung: fail loudly rather than wait forever. */
const PHASE_TIMEOUT_MS = 5 * 60_000;
const CLEANUP_TIMEOUT_MS = 2 * 60_000;
/** For the calls outside the timed phases (version, listing): a live engine answers in well under this. */
const CALL_TIMEOUT_MS = 30_000;

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
  engine: { launch: 'create + start', destroy: 'remove with force' },
  cli: { launch: '`docker run -d`', destroy: '`docker rm -f`' },
};

/** What one container's own time is, from what to what. */
const EACH: Record<Path, Record<Phase, string>> = {
  agent: { launch: 'run message sent → its TASK_RUNNING received', destroy: 'kill message sent → its TASK_KILLED received' },
  engine: { launch: 'create called → start returned', destroy: 'remove called → returned' },
  cli: { launch: '`docker run -d` spawned → exited', destroy: '`docker rm -f` spawned → exited' },
};

/** The case name of a path's phase; `docs.ts` finds the figures by it. */
export const caseOf = (path: Path, phase: Phase): string =>
  `${PATH_LABEL[path]}: ${phase} ${TASKS} containers, ${CONCURRENCY} at a time (${PHASE_LABEL[path][phase]})`;

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

/**
 * Runs `op` on every item with at most `limit` in flight, the next started as one ends. Times
 * the whole and each item. The first failure stops it (nothing new is started); so does
 * PHASE_TIMEOUT_MS, rather than hang on an engine that stopped answering.
 */
async function bounded<T>(what: string, items: readonly T[], op: (item: T) => Promise<unknown>, limit = CONCURRENCY): Promise<PhaseTimes> {
  const eachMs: number[] = [];
  let next = 0;
  let stopped = false;
  const worker = async (): Promise<void> => {
    while (!stopped && next < items.length) {
      const item = items[next++] as T;
      const start = performance.now();
      try {
        await op(item);
      } catch (err) {
        stopped = true;
        throw err;
      }
      eachMs.push(since(start));
    }
  };
  const t0 = performance.now();
  try {
    await within(PHASE_TIMEOUT_MS, Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker)),
      () => `${what}: ${items.length - eachMs.length} of ${items.length} not done after ${PHASE_TIMEOUT_MS / 1000} s `
        + `(${CONCURRENCY} at a time); is dockerd deadlocked (moby/moby#42545)? Check with \`timeout 10 docker ps\``);
  } finally {
    stopped = true;
  }
  return { totalMs: since(t0), eachMs };
}

/** Waits for tasks to reach a state, from the status updates the in-test master receives. */
interface StatusWaiter {
  /** Resolves when `taskId` reports `state`; rejects on any other terminal state first. */
  until(taskId: string, state: TaskState): Promise<void>;
  /** Stops listening; whatever still waits is rejected. */
  close(): void;
}

function statusWaiter(rig: AgentRig): StatusWaiter {
  const waiting = new Map<string, { state: TaskState; resolve(): void; reject(err: Error): void }>();
  const listen = (s: TaskStatus): void => {
    const w = waiting.get(s.taskId);
    if (!w) return;
    if (s.state === w.state) {
      waiting.delete(s.taskId);
      w.resolve();
    } else if (isTerminal(s.state)) {
      waiting.delete(s.taskId);
      w.reject(new Error(`bench task ${s.taskId} went ${s.state} while waiting for ${w.state}: ${s.message}`));
    }
  };
  rig.master.on('status', listen);
  return {
    until: (taskId, state) => new Promise<void>((resolve, reject) => {
      if (waiting.has(taskId)) throw new Error(`already waiting for ${taskId}`);
      waiting.set(taskId, { state, resolve, reject });
    }),
    close: () => {
      rig.master.off('status', listen);
      for (const [taskId, w] of waiting) w.reject(new Error(`bench task ${taskId} still waiting for ${w.state}`));
      waiting.clear();
    },
  };
}

async function throughAgent(rig: AgentRig, docker: Docker, tag: string, n: number): Promise<RoundTimes> {
  const ids = Array.from({ length: n }, (_, i) => `launch-${tag}-${i}`);
  const waiter = statusWaiter(rig);
  try {
    const launch = await bounded(`agent launch ${tag}`, ids, (id) => {
      // Waiting first: the update cannot arrive before the listener.
      const running = waiter.until(id, 'TASK_RUNNING');
      rig.master.run(rig.agentId, testTask(id, COMMAND, {
        resources: parse(`cpus:${CPUS};mem:${MEM_MB}`),
        container: { type: 'DOCKER', docker: { image: IMAGE, network: NETWORK === 'none' ? 'NONE' : 'BRIDGE', portMappings: [], forcePullImage: false } },
      }));
      return running;
    });
    const destroy = await bounded(`agent destroy ${tag}`, ids, (id) => {
      const killed = waiter.until(id, 'TASK_KILLED');
      rig.master.kill(rig.agentId, id, 0);
      return killed;
    });
    const left = await within(CALL_TIMEOUT_MS, docker.listContainers({ all: true, filters: { label: [`${LABELS.agentId}=${rig.agentId}`] } }));
    if (left.length > 0) throw new Error(`${left.length} agent containers are left after every TASK_KILLED`);
    return { launch, destroy };
  } finally {
    waiter.close();
  }
}

/**
 * Why `version` (the engine's, e.g. "20.10.24+dfsg1") may deadlock when containers go away
 * concurrently, or undefined when it has the fix: 20.10.27 and later, and every release from 23.0.
 */
export function exitBurstHazard(version: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  if (!m) return undefined;
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const fixed = major > 20 || (major === 20 && minor > 10) || (major === 20 && minor === 10 && patch >= 27);
  return fixed ? undefined
    : `Docker Engine ${version} lacks the libnetwork deadlock fix of 20.10.27 (moby/moby#42545, #46693): `
      + `containers removed concurrently, even ${CONCURRENCY} at a time, can wedge dockerd until it is restarted`;
}

/** The container the agent makes for a bench task, less what only the agent needs (attach, env). */
function rawCreateOptions(name: string, sandbox: string): Docker.ContainerCreateOptions {
  return {
    name, Image: IMAGE, Entrypoint: ['/bin/sh', '-c'], Cmd: [COMMAND], Labels: { [RAW_LABEL]: 'raw' },
    HostConfig: {
      Init: true, NetworkMode: NETWORK, Binds: [`${sandbox}:${SANDBOX_MOUNT}`],
      NanoCpus: Math.round(CPUS * 1e9), Memory: MEM_MB * 2 ** 20, MemorySwap: MEM_MB * 2 ** 20,
    },
  };
}

async function throughEngine(docker: Docker, sandbox: string, tag: string, n: number): Promise<RoundTimes> {
  const names = Array.from({ length: n }, (_, i) => `agora-bench-engine-${tag}-${i}`);
  const launch = await bounded(`Engine API launch ${tag}`, names, async (name) => {
    const c = await docker.createContainer(rawCreateOptions(name, sandbox));
    await c.start();
  });
  const destroy = await bounded(`Engine API destroy ${tag}`, names, (name) => docker.getContainer(name).remove({ force: true, v: true }));
  return { launch, destroy };
}

function dockerCli(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('docker', args, (err, _out, stderr) => (err ? reject(new Error(`docker ${args[0]} failed: ${stderr.trim() || err.message}`)) : resolve()));
  });
}

async function throughCli(sandbox: string, tag: string, n: number): Promise<RoundTimes> {
  const names = Array.from({ length: n }, (_, i) => `agora-bench-cli-${tag}-${i}`);
  const launch = await bounded(`CLI launch ${tag}`, names, (name) => dockerCli([
    'run', '-d', '--name', name, '--label', RAW_LABEL_VALUE, '--init', '--network', NETWORK, '-v', `${sandbox}:${SANDBOX_MOUNT}`,
    '--cpus', String(CPUS), '--memory', `${MEM_MB}m`, '--memory-swap', `${MEM_MB}m`, '--entrypoint', '/bin/sh', IMAGE, '-c', COMMAND,
  ]));
  const destroy = await bounded(`CLI destroy ${tag}`, names, (name) => dockerCli(['rm', '-f', '-v', name]));
  return { launch, destroy };
}

/** `p`, or a rejection once `timeoutMs` has passed without it settling. */
async function within<T>(timeoutMs: number, p: Promise<T>, why = () => `not done after ${timeoutMs / 1000} s`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(why())), timeoutMs);
    })]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Removes the containers labelled `label` that a failed round left, as many at a time as a
 * timed phase: the raw ones, and the agent's before the agent is stopped (it would remove
 * whatever it still runs all at once).
 */
async function removeLabelled(docker: Docker, label: string): Promise<void> {
  const left = await docker.listContainers({ all: true, filters: { label: [label] } });
  await bounded(`cleanup of ${label}`, left, (c) => docker.getContainer(c.Id).remove({ force: true, v: true }).catch(() => undefined));
}

function latency(what: string, rounds: readonly PhaseTimes[]): LatencyFigure {
  return {
    what, count: rounds[0]?.eachMs.length ?? 0,
    p50Ms: rounds.map((r) => round(percentile(r.eachMs, 50), 1)),
    p99Ms: rounds.map((r) => round(percentile(r.eachMs, 99), 1)),
    maxMs: rounds.map((r) => round(Math.max(...r.eachMs), 1)),
  };
}

function measurement(path: Path, phase: Phase, rounds: readonly RoundTimes[], engine: string, published: PublishedFigure[]): Measurement {
  const phases = rounds.map((r) => r[phase]);
  const samplesMs = phases.map((p) => round(p.totalMs, 1));
  const medianMs = round(median(samplesMs), 1);
  return {
    bench: 'agent-launch', case: caseOf(path, phase),
    params: { containers: TASKS, path, phase, image: IMAGE, command: COMMAND, cpus: CPUS, memMb: MEM_MB, concurrency: CONCURRENCY, network: NETWORK, engine },
    runs: rounds.length, samplesMs, medianMs, ops: TASKS, opsLabel: 'containers',
    opsPerSec: Math.round(TASKS / (medianMs / 1000)), published,
    latency: latency(EACH[path][phase], phases),
  };
}

export const agentLaunchBench: Bench = {
  name: 'agent-launch',
  description: `${TASKS} \`${COMMAND}\` Docker containers launched and then destroyed, ${CONCURRENCY} in flight at a time, three ways in the same run: `
    + 'through the agent (run and kill messages over a real nats-server from the in-test master, each timed to its TASK_RUNNING and '
    + 'TASK_KILLED), straight through the Engine API, and with the `docker` CLI; '
    + `${ROUNDS} rounds after a ${WARMUP_TASKS}-container warm-up, order reversed every other round; starting nats-server and the agent is not timed`,
  async run() {
    const trace = process.env.AGORA_BENCH_TRACE === '1' ? DockerTrace.install() : undefined;
    const docker = new Docker({ socketPath: '/var/run/docker.sock' });
    // Also the first sign of a wedged engine: nothing is started before it answers.
    const engine = (await within(CALL_TIMEOUT_MS, docker.version(), () => 'the Docker Engine did not answer `version`')).Version;
    const hazard = NETWORK === 'bridge' ? exitBurstHazard(engine) : undefined;
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
      await within(CLEANUP_TIMEOUT_MS, removeLabelled(docker, RAW_LABEL_VALUE));
      const order: Path[] = ['agent', 'engine', 'cli'];
      for (const path of order) await runPath(path, 'warm', WARMUP_TASKS);
      for (let r = 0; r < ROUNDS; r++) {
        for (const path of r % 2 === 0 ? order : [...order].reverse()) {
          trace?.reset();
          const t = await runPath(path, String(r), TASKS);
          results[path].push(t);
          for (const line of trace?.summary() ?? []) process.stderr.write(`agent-launch round ${r} ${path} trace: ${line}\n`);
          // Each round as it ends, on stderr: a run that fails later still leaves these.
          process.stderr.write(`agent-launch round ${r} ${path}: launch ${round(t.launch.totalMs, 0)} ms `
            + `(p50 ${round(percentile(t.launch.eachMs, 50), 0)}, p99 ${round(percentile(t.launch.eachMs, 99), 0)}), `
            + `destroy ${round(t.destroy.totalMs, 0)} ms\n`);
        }
      }
    } finally {
      // Bounded: on a wedged engine the cleanup hangs too, and the round's error must still come out.
      const cleanup = (label: string) => within(CLEANUP_TIMEOUT_MS, removeLabelled(docker, label))
        .catch((err: Error) => process.stderr.write(`agent-launch: cleanup failed: ${err.message}\n`));
      await cleanup(RAW_LABEL_VALUE);
      await cleanup(`${LABELS.agentId}=${rig.agentId}`);
      await within(CLEANUP_TIMEOUT_MS, rig.stop()).catch((err: Error) => process.stderr.write(`agent-launch: agent did not stop: ${err.message}\n`));
      rmSync(sandbox, { recursive: true, force: true });
    }
    return [
      measurement('agent', 'launch', results.agent, engine, [scaled('Mesos 1.7.0 one agent', 30_700, TASKS), scaled('Mesos 1.6.0 one agent', 53_100, TASKS)]),
      measurement('agent', 'destroy', results.agent, engine, [scaled('Mesos 1.7.0 one agent, destroy (≈22 s, read off the chart)', 22_000, TASKS)]),
      measurement('engine', 'launch', results.engine, engine, []),
      measurement('engine', 'destroy', results.engine, engine, []),
      measurement('cli', 'launch', results.cli, engine, []),
      measurement('cli', 'destroy', results.cli, engine, []),
    ];
  },
};
