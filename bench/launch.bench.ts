/**
 * Launch throughput through the whole path, on real parts: a framework on the SDK accepts
 * offers, the master validates and sends run messages over a real nats-server, one agent
 * starts the tasks (plain processes, or Docker containers of the local busybox image), and
 * every TASK_FINISHED travels back, acknowledged. Timed: from the first Accept to the last
 * TASK_FINISHED seen by the framework. Not timed: starting the cluster and subscribing.
 */
import { isTerminal } from '../common/types';
import { execFile } from 'child_process';
import { fit, subscribe, type TaskSpec } from '../frameworks/sdk';
import { startCluster, TEST_IMAGE, type TestCluster } from '../test/support/cluster';
import { round, timeAsync, type Bench, type Measurement, type PublishedFigure } from './harness';

let seq = 0;

/** Where a launch goes: a master's gRPC address, with the cluster's keys when its doors are locked. */
export type LaunchTarget = Pick<TestCluster, 'grpcAddr' | 'security'>;

/** Runs `n` tasks of `spec` through one framework; resolves when all are terminal. */
export async function launchAll(cluster: LaunchTarget, n: number, spec: Omit<TaskSpec, 'id'>): Promise<void> {
  // A cluster's own identity, so a secure and an open cluster can be measured side by side.
  const credentials = cluster.security ? cluster.security.identity('admin') : false;
  const s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'launch-bench' }, credentials });
  const run = ++seq;
  const pending: TaskSpec[] = Array.from({ length: n }, (_, i) => ({ ...spec, id: `bench-${run}-${i}` }));
  const failed: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let done = 0;
      s.on('offers', (offers) => {
        for (const offer of offers) {
          const tasks = fit(offer, pending);
          const call = tasks.length ? s.launch(offer, tasks, { refuseMs: 0 }) : s.decline([offer.id], { refuseMs: 0 });
          call.catch(reject);
        }
      });
      s.on('update', (st) => {
        if (!isTerminal(st.state)) return;
        if (st.state !== 'TASK_FINISHED') failed.push(`${st.taskId} ${st.state} ${st.message}`);
        if (++done === n) resolve();
      });
      s.on('closed', (err) => reject(err ?? new Error('subscription closed')));
    });
  } finally {
    await s.teardown().catch(() => undefined);
    s.close();
  }
  if (failed.length) throw new Error(`${failed.length} of ${n} bench tasks did not finish: ${failed.slice(0, 3).join('; ')}`);
}

/** A published per-task cost, scaled to `n` tasks: the comparison is of rates, not totals. */
const perTask = (label: string, msPerTask: number, n: number, source: string): PublishedFigure =>
  ({ label: `${label}, scaled to ${n} tasks`, ms: msPerTask * n, source });

async function measure(containerizer: 'process' | 'docker', n: number, spec: Omit<TaskSpec, 'id'>,
  runs: number, published: PublishedFigure[]): Promise<Measurement> {
  const cluster = await startCluster({ containerizer, resources: 'cpus:2;mem:4096;disk:4096;ports:[31000-31999]', allocationIntervalMs: 100 });
  try {
    const t = await timeAsync(() => launchAll(cluster, n, spec), runs);
    return {
      bench: 'launch', case: `${n} ${containerizer === 'docker' ? 'Docker containers' : 'processes'} on one agent, submit → all FINISHED`,
      params: { tasks: n, containerizer, cpusPerTask: spec.cpus, agentCpus: 2 },
      runs, samplesMs: t.samplesMs.map((x) => round(x, 1)), medianMs: round(t.medianMs, 1),
      ops: n, opsLabel: 'tasks', opsPerSec: Math.round(n / (t.medianMs / 1000)), published,
    };
  } finally {
    await cluster.stop();
  }
}

/**
 * What locked doors cost on the launch path: the same 200 process tasks through a cluster with
 * TLS and credentials on every gRPC call and one without, measured in turns (secure, open,
 * secure, …) in one run so both see the same machine. The bound is ≤ 1.05×.
 */
async function securityOverhead(n: number, runs: number): Promise<Measurement[]> {
  const spec = { command: 'true', cpus: 0.01, mem: 8, process: true };
  const resources = 'cpus:2;mem:4096;disk:4096;ports:[31000-31999]';
  const secure = await startCluster({ containerizer: 'process', resources, allocationIntervalMs: 100 });
  const open = await startCluster({ containerizer: 'process', resources, allocationIntervalMs: 100, secure: false });
  try {
    await launchAll(secure, n, spec);   // warm-up, untimed: TLS sessions and JIT
    await launchAll(open, n, spec);
    const samples = { secure: [] as number[], open: [] as number[] };
    for (let i = 0; i < runs; i++) {
      for (const [name, cluster] of [['secure', secure], ['open', open]] as const) {
        const t = await timeAsync(() => launchAll(cluster, n, spec), 1);
        samples[name].push(t.medianMs);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const ratio = median(samples.secure) / median(samples.open);
    return (['secure', 'open'] as const).map((name) => ({
      bench: 'launch', case: `security: ${n} processes, ${name === 'secure' ? 'TLS + credentials on every call' : 'open doors (--insecure)'}, in turns`,
      params: { tasks: n, doors: name, ...(name === 'secure' ? { ratioToOpen: round(ratio, 3) } : {}) },
      runs, samplesMs: samples[name].map((x) => round(x, 1)), medianMs: round(median(samples[name]), 1),
      ops: n, opsLabel: 'tasks', opsPerSec: Math.round(n / (median(samples[name]) / 1000)), published: [],
    }));
  } finally {
    await open.stop();
    await secure.stop();
  }
}

/**
 * This machine's floor for the Docker case: the same containers started by `docker run`
 * directly and all at once, with no Agora in the way.
 */
async function dockerFloor(n: number, runs: number): Promise<Measurement> {
  const one = () => new Promise<void>((resolve, reject) => {
    execFile('docker', ['run', '--rm', '--cpus', '0.05', '--memory', '32m', TEST_IMAGE, 'true'], (err) => (err ? reject(err) : resolve()));
  });
  const t = await timeAsync(() => Promise.all(Array.from({ length: n }, one)), runs);
  return {
    bench: 'launch', case: `floor: ${n} concurrent \`docker run --rm\` of the same image, no Agora`,
    params: { tasks: n }, runs, samplesMs: t.samplesMs.map((x) => round(x, 1)), medianMs: round(t.medianMs, 1),
    ops: n, opsLabel: 'containers', opsPerSec: Math.round(n / (t.medianMs / 1000)), published: [],
  };
}

export const launchBench: Bench = {
  name: 'launch',
  description: 'tasks launched through SDK → master → NATS → agent → process or Docker container, timed from the first Accept to the last TASK_FINISHED the framework sees (cluster start-up not timed)',
  async run() {
    const mesos = 'Mesos 1.7.0 blog: 1,000 containers launched on one agent in 30.7 s (Mesos containerizer, 24-core Xeon, read off a chart)';
    const marathon = 'OpenStack performance docs: Marathon 0.15.2 on Mesos 0.27, one 500-instance app in 14.18 s (≈35 tasks/s, 189 agents)';
    const docker = 'moby/moby#38077: `docker run --rm busybox true` ≈500 ms on an 8-core i7, run one after another';
    return [
      await measure('process', 200, { command: 'true', cpus: 0.01, mem: 8, process: true }, 3, []),
      await measure('docker', 40, { command: 'true', cpus: 0.05, mem: 32, image: TEST_IMAGE }, 3, [
        perTask('Mesos one agent', 30.7, 40, mesos),
        perTask('Marathon', 1000 / 35, 40, marathon),
        perTask('sequential docker run', 500, 40, docker),
      ]),
      await dockerFloor(40, 3),
    ];
  },
};

export const launchSecurityBench: Bench = {
  name: 'launch-security',
  description: 'the launch path (200 processes through SDK → master → NATS → agent) with TLS and credentials on every gRPC call against open doors, in turns in one run',
  run: () => securityOverhead(200, 7),
};
