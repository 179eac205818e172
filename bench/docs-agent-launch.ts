/**
 * The agent-launch section of `docs/benchmarks.md`: 200 Docker containers launched and
 * destroyed through the agent and straight through Docker in the same run, the ratio against
 * the issue's goal (within 1.15× of raw Docker), and Mesos 1.7.0's published launch rate.
 */
import { CONCURRENCY, GOAL_RATIO, LAUNCH_SOURCE, TASKS, caseOf, type Path } from './agent-launch.bench';
import { median, round, type Measurement } from './harness';

const ms = (x: number): string => (x >= 1000 ? `${round(x / 1000, 2)} s` : `${round(x, 1)} ms`);
const ratio = (x: number): string => `${round(x, 2)}×`;

/** Mesos 1.7.0: 1,000 launches in 30.7 s (1.6.0: 53.1 s), destroyed in ≈22 s; per container, times TASKS. */
const MESOS_17_LAUNCH_MS = (30_700 / 1000) * TASKS;
const MESOS_16_LAUNCH_MS = (53_100 / 1000) * TASKS;
const MESOS_17_DESTROY_MS = (22_000 / 1000) * TASKS;

interface PathFigures {
  launch: Measurement;
  destroy: Measurement;
  /** Launch + destroy, per round. */
  bothMs: number[];
}

function figures(byCase: Map<string, Measurement>, path: Path): PathFigures | undefined {
  const launch = byCase.get(caseOf(path, 'launch'));
  const destroy = byCase.get(caseOf(path, 'destroy'));
  if (!launch || !destroy) return undefined;
  return { launch, destroy, bothMs: launch.samplesMs.map((x, i) => x + (destroy.samplesMs[i] ?? NaN)) };
}

const rounds = (xs: readonly number[]): string => xs.map(ms).join(', ');
const perRound = (a: readonly number[], b: readonly number[]): string => a.map((x, i) => ratio(x / (b[i] as number))).join(', ');

function row(name: string, f: PathFigures): string {
  const l = f.launch.latency;
  const d = f.destroy.latency;
  const each = (x: typeof l) => (x ? `${x.p50Ms.map(ms).join(', ')} / ${x.p99Ms.map(ms).join(', ')}` : '—');
  return `| ${name} | ${ms(f.launch.medianMs)} (${rounds(f.launch.samplesMs)}) | ${ms(f.destroy.medianMs)} (${rounds(f.destroy.samplesMs)}) `
    + `| ${ms(median(f.bothMs))} | ${each(l)} | ${each(d)} |`;
}

export function agentLaunchSection(measurements: readonly Measurement[]): string[] {
  const byCase = new Map(measurements.map((m) => [m.case, m]));
  const agent = figures(byCase, 'agent');
  const engine = figures(byCase, 'engine');
  const cli = figures(byCase, 'cli');
  const head = [
    `## The agent: ${TASKS} Docker containers, against raw Docker`,
    '',
    'Run only this one with `npm run -s bench -- agent-launch`.',
    '',
  ];
  if (!agent || !engine) {
    return [...head, '**Not measured in this run** (the bench was skipped or failed; see the run\'s stderr).', '', ...METHOD];
  }
  return [...head, ...goal(agent, engine, cli), ...times(agent, engine, cli), ...againstMesos(agent), ...METHOD];
}

/** The agent's launch + destroy against the Engine API's, checked against GOAL_RATIO. */
function goal(agent: PathFigures, engine: PathFigures, cli: PathFigures | undefined): string[] {
  const both = median(agent.bothMs) / median(engine.bothMs);
  const launch = agent.launch.medianMs / engine.launch.medianMs;
  const destroy = agent.destroy.medianMs / engine.destroy.medianMs;
  const met = both <= GOAL_RATIO;
  const l = agent.launch.latency;
  return [
    '### Goal',
    '',
    `The agent's launch + destroy of ${TASKS} containers within ${GOAL_RATIO}× of the same with raw Docker: `
      + `**${met ? 'met' : 'not met'}** in this run, agent ÷ Engine API = **${ratio(both)}** `
      + `(${ms(median(agent.bothMs))} against ${ms(median(engine.bothMs))}; per round ${perRound(agent.bothMs, engine.bothMs)}).`,
    '',
    `- launch alone: ${ratio(launch)} (${ms(agent.launch.medianMs)} against ${ms(engine.launch.medianMs)}; per round ${perRound(agent.launch.samplesMs, engine.launch.samplesMs)})`,
    `- destroy alone: ${ratio(destroy)} (${ms(agent.destroy.medianMs)} against ${ms(engine.destroy.medianMs)}; per round ${perRound(agent.destroy.samplesMs, engine.destroy.samplesMs)})`,
    ...(cli ? [`- against the \`docker\` CLI: ${ratio(median(agent.bothMs) / median(cli.bothMs))} launch + destroy`] : []),
    ...(l ? [`- one launch, run message → TASK_RUNNING: p50 ${l.p50Ms.map(ms).join(', ')}, p99 ${l.p99Ms.map(ms).join(', ')} (per round)`] : []),
    '',
  ];
}

function times(agent: PathFigures, engine: PathFigures, cli: PathFigures | undefined): string[] {
  return [
    `### Times (median of ${agent.launch.runs} rounds; each round in brackets)`,
    '',
    '| path | launch | destroy | launch + destroy | each launch p50 / p99 | each destroy p50 / p99 |',
    '| --- | --- | --- | --- | --- | --- |',
    row('agent (NATS run/kill)', agent),
    row('raw Docker, Engine API', engine),
    ...(cli ? [row('raw Docker, `docker` CLI', cli)] : []),
    '',
    'Each launch: agent, run message sent → its TASK_RUNNING received; Engine API, create called → start returned; CLI,',
    '`docker run -d` spawned → exited. Each destroy likewise, to TASK_KILLED, remove returned, `docker rm -f` exited.',
    '',
  ];
}

function againstMesos(agent: PathFigures): string[] {
  return [
    '### Against Mesos 1.7.0',
    '',
    `| | ours (agent) | Mesos 1.7.0, scaled to ${TASKS} | Mesos 1.6.0, scaled | Mesos ÷ ours |`,
    '| --- | --- | --- | --- | --- |',
    `| launch ${TASKS} | ${ms(agent.launch.medianMs)} | ${ms(MESOS_17_LAUNCH_MS)} (1,000 in 30.7 s) | ${ms(MESOS_16_LAUNCH_MS)} (1,000 in 53.1 s) `
      + `| ${ratio(MESOS_17_LAUNCH_MS / agent.launch.medianMs)} |`,
    `| destroy ${TASKS} | ${ms(agent.destroy.medianMs)} | ${ms(MESOS_17_DESTROY_MS)} (1,000 in ≈22 s) | — | ${ratio(MESOS_17_DESTROY_MS / agent.destroy.medianMs)} |`,
    '',
    'Scaled per container (30.7 s ÷ 1,000 × 200 = 6.14 s), as `launch.bench.ts` does: a rate, not a total at equal scale.',
    '',
  ];
}

/** How the bench measures and what to keep in mind reading it. */
const METHOD: readonly string[] = [
  '### Method',
  '',
  `- One agent with the Docker containerizer, a real nats-server, and the in-test master of \`test/support/test-master.ts\` sending`,
  '  run and kill messages straight over NATS and acknowledging every update: no master, allocator or framework in the way.',
  '  The agent runs in the bench\'s own Node process (as in the agent\'s tests).',
  `- ${TASKS} tasks \`sleep 600\` in \`agora/busybox:latest\`, cpus 0.1, mem 32 MB. Launch: first run message → last`,
  '  TASK_RUNNING (the agent sends it once `start` returned). Destroy: all killed with grace 0 → last TASK_KILLED (sent',
  '  after the container is removed).',
  '- Raw Docker, the same containers (image, command, `--init`, limits, no network, a bind-mounted directory):',
  '  through the Engine API with dockerode, the agent\'s own client (create + start; remove with force), and with the',
  '  `docker` CLI (`docker run -d`; `docker rm -f`), one process per container. The goal is checked against the Engine',
  '  API: the same API path and the same concurrency as the agent, so the ratio is what the agent adds.',
  `- At most ${CONCURRENCY} operations in flight on every path, the next sent as one completes: for the agent, a run message`,
  `  counts until its TASK_RUNNING and a kill until its TASK_KILLED; raw, a create + start or a removal until it returns.`,
  '  Why a bound: Docker Engines before 20.10.27 can deadlock for good when many containers on one network go away at once',
  '  (libnetwork lock order: moby/moby#42545, fixed for 20.10 by moby/moby#46693), and a first version of this bench, with',
  `  all ${TASKS} at once, wedged this machine's shared dockerd (20.10.24) that way during ${TASKS} concurrent \`docker rm -f\`.`,
  `  The bound makes that rarer, not impossible (a run at ${CONCURRENCY} wedged it again), so no container has a network`,
  '  (`--network none`; the agent\'s tasks ask for NONE): nothing is left on a bridge to tear down, and 200 went through',
  '  three rounds at 16 in flight on the same engine. `AGORA_BENCH_NETWORK=bridge` measures with the bridge (guarded).',
  '- Per round the three paths run one after another, the order reversed every other round; a 20-container warm-up first.',
  '',
  '### Read with care',
  '',
  'Mesos\'s figures are the Mesos containerizer (not Docker) on a 24-core, two-socket Xeon E5-2658 v3; ours share 2 cores',
  'with dockerd, containerd, the shims and the agent, and the machine with other people\'s test runs. The Mesos comparison',
  'says "same league or not"; how many of its 1,000 launches were in flight at once is not stated in the sources used',
  'here. The ratio to raw Docker is the figure that means something here: both sides ran on the',
  'same machine, minutes apart, against the same daemon.',
  '',
  `Source: ${LAUNCH_SOURCE}. Via \`/work/shared/REFERENCE.md\`, "Mesos — 4. Allocator" (scale figures, 1.7.0 release chart)`,
  'and "Published performance figures" §1 (`site/source/blog/2018-09-24-mesos-1-7-0-released.md`,',
  '`site/source/blog/2018-10-08-mesos-1-7-0-performance-improvements.md` in `apache/mesos`).',
  '',
];
