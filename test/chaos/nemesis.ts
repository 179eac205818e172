/**
 * The faults. Each nemesis injects one fault, holds it for a bounded, seeded time, heals it, and
 * returns once it is healed (not once the cluster recovered: run.ts waits for that). Its start
 * and end are `nemesis` events; the failover figures (report.ts) are measured from them.
 *
 * The list (`NEMESES`) is the one place to add a fault; one that needs something not there is
 * in it, off, saying why. Some need a part of the cluster that is on by default:
 * - `kill-services-leader`, `kill-jobs-leader` SIGKILL the instance `/v2/leader` names; they need
 *   the cluster's `frameworkReplicas`;
 * - `restart-docker` stops the Docker agent's own engine; it needs the cluster's `dockerAgent`.
 */
import type { Random } from '../../common/clock';
import { waitUntil, type ChaosCluster } from './cluster';
import type { History, NemesisKind } from './history';

export interface NemesisContext {
  cluster: ChaosCluster;
  random: Random;
  history: History;
  leaseMs: number;
  /** Records the fault's start, naming its target, the instant before it is injected. */
  begin(target: string): void;
}

export interface Nemesis {
  kind: NemesisKind;
  /** Off: never chosen. */
  enabled: boolean;
  why?: string;
  /** Injects (calling `ctx.begin` first), holds and heals one fault; returns what it hit. */
  run(ctx: NemesisContext): Promise<string>;
}

/** A seeded duration in [min, max] ms. */
const between = (r: Random, min: number, max: number): number => Math.round(min + r.next() * (max - min));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function leaderOrWait(ctx: NemesisContext) {
  await waitUntil('a master leads', () => ctx.cluster.leader() !== undefined, 60_000);
  return ctx.cluster.leader()!;
}

/** SIGKILL the leading master; done when a master leads in a newer epoch and the killed one is back (as a standby). */
const killLeader: Nemesis = {
  kind: 'kill-leader', enabled: true,
  async run(ctx) {
    const leader = await leaderOrWait(ctx);
    const epoch = leader.health?.epoch ?? 0;
    const target = `${leader.name} (pid ${leader.proc.pid}, epoch ${epoch})`;
    ctx.begin(target);
    leader.proc.signal('SIGKILL');
    await leader.proc.exited();
    await waitUntil('a new leader', () => (ctx.cluster.leader()?.health?.epoch ?? 0) > epoch, 60_000);
    await leader.proc.upAgain();
    return target;
  },
};

/** SIGSTOP the leader for its lease and 0.5–2 s more, then SIGCONT: it must find itself deposed and exit, not act. */
const pauseLeader: Nemesis = {
  kind: 'pause-leader', enabled: true,
  async run(ctx) {
    const leader = await leaderOrWait(ctx);
    const epoch = leader.health?.epoch ?? 0;
    const target = `${leader.name} (pid ${leader.proc.pid}, epoch ${epoch})`;
    ctx.begin(target);
    leader.proc.signal('SIGSTOP');
    await sleep(ctx.leaseMs + between(ctx.random, 500, 2000));
    leader.proc.signal('SIGCONT');
    return target;
  },
};

/** SIGKILL one NATS node, 1–3 s, start it again on its ports and store. */
const killNatsNode: Nemesis = {
  kind: 'kill-nats-node', enabled: true,
  async run(ctx) {
    const nodes = ctx.cluster.nats.nodes;
    const node = nodes[Math.floor(ctx.random.next() * nodes.length)]!;
    ctx.begin(node.name);
    await node.kill();
    await sleep(between(ctx.random, 1000, 3000));
    await node.restart();
    await ctx.cluster.nats.ready();
    return node.name;
  },
};

/** Stops all three NATS nodes (SIGTERM), 1–2 s, starts them again. */
const restartNats: Nemesis = {
  kind: 'restart-nats', enabled: true,
  async run(ctx) {
    const nodes = ctx.cluster.nats.nodes;
    ctx.begin('n1 n2 n3');
    await Promise.all(nodes.map((n) => n.stop()));
    await sleep(between(ctx.random, 1000, 2000));
    await Promise.all(nodes.map((n) => n.restart()));
    await ctx.cluster.nats.ready();
    return 'n1 n2 n3';
  },
};

/** Stops Redis (SIGTERM: it fsyncs its AOF), 1–3 s, starts it again on the same port and dir. */
const restartRedis: Nemesis = {
  kind: 'restart-redis', enabled: true,
  async run(ctx) {
    ctx.begin(`redis :${ctx.cluster.redisPort}`);
    await ctx.cluster.redis.stop();
    await sleep(between(ctx.random, 1000, 3000));
    await ctx.cluster.startRedis();
    return `redis :${ctx.cluster.redisPort}`;
  },
};

/** SIGKILL Redis, 1–3 s, start it again on the same port and dir: every write it acknowledged is in its AOF (`appendfsync always`). */
const killRedis: Nemesis = {
  kind: 'kill-redis', enabled: true,
  async run(ctx) {
    const target = `redis :${ctx.cluster.redisPort} (pid ${ctx.cluster.redis.pid})`;
    ctx.begin(target);
    process.kill(ctx.cluster.redis.pid, 'SIGKILL');
    await ctx.cluster.redis.stop();   // reaps it
    await sleep(between(ctx.random, 1000, 3000));
    await ctx.cluster.startRedis();
    return target;
  },
};

/** SIGKILL an agent; the supervisor starts it again on its work dir, and it recovers its tasks. */
const killAgent: Nemesis = {
  kind: 'kill-agent', enabled: true,
  async run(ctx) {
    const agents = ctx.cluster.ofKind('agent');
    const agent = agents[Math.floor(ctx.random.next() * agents.length)]!;
    ctx.begin(agent.spec.name);
    agent.signal('SIGKILL');
    await agent.exited();
    await agent.upAgain();
    return agent.spec.name;
  },
};

/**
 * Stops the Docker agent's engine, SIGTERM or SIGKILL (seeded), for 1–3 s, and starts it again.
 * It runs with live-restore: its containers run on, and the agent must wait for them again.
 */
const restartDocker: Nemesis = {
  kind: 'restart-docker', enabled: true,
  async run(ctx) {
    const engine = ctx.cluster.engine;
    if (!engine) throw new Error('the cluster has no Docker agent (dockerAgent: false)');
    const signal = ctx.random.next() < 0.5 ? 'SIGTERM' : 'SIGKILL';
    const target = `dockerd ${signal} (pid ${engine.pid})`;
    ctx.begin(target);
    await engine.halt(signal);
    await sleep(between(ctx.random, 1000, 3000));
    await engine.start();
    return target;
  },
};

/** The HTTP port a process was given (`--port N`). */
const portOf = (spec: { args: readonly string[] }): string => spec.args[spec.args.indexOf('--port') + 1] ?? '';

/** SIGKILL the leading instance of a framework (`GET /v2/leader` names it); needs framework replicas. */
function killFrameworkLeader(kind: 'services' | 'jobs'): Nemesis {
  return {
    kind: kind === 'services' ? 'kill-services-leader' : 'kill-jobs-leader', enabled: true,
    async run(ctx) {
      const instances = ctx.cluster.ofKind(kind).filter((p) => p.running());
      let leader: string | undefined;
      for (const p of instances) {
        leader ??= (await ctx.cluster.getJson<{ leader?: string }>(Number(portOf(p.spec)), '/v2/leader'))?.leader;
      }
      const instance = instances.find((p) => leader === `127.0.0.1:${portOf(p.spec)}`);
      if (!instance) throw new Error(`no ${kind} instance leads (${leader ?? 'none named'})`);
      ctx.begin(instance.spec.name);
      instance.signal('SIGKILL');
      await instance.exited();
      await instance.upAgain();
      return instance.spec.name;
    },
  };
}

export const NEMESES: readonly Nemesis[] = [
  killLeader, pauseLeader, killNatsNode, restartNats, restartRedis, killRedis, killAgent, restartDocker,
  killFrameworkLeader('services'), killFrameworkLeader('jobs'),
];

export function nemesis(kind: NemesisKind): Nemesis {
  const n = NEMESES.find((x) => x.kind === kind);
  if (!n) throw new Error(`no nemesis ${kind}`);
  return n;
}

/** Runs one fault, numbered `fault`, between its start and end events. */
export async function inject(n: Nemesis, fault: number, ctx: Omit<NemesisContext, 'begin'>): Promise<void> {
  let begun = false;
  const begin = (target: string) => {
    begun = true;
    ctx.history.add({ type: 'nemesis', phase: 'start', fault, kind: n.kind, target });
  };
  let target = '';
  try {
    target = await n.run({ ...ctx, begin });
  } catch (err) {
    if (!begun) begin('');
    ctx.history.add({ type: 'nemesis', phase: 'end', fault, kind: n.kind, target, detail: `failed: ${(err as Error).message}` });
    throw err;
  }
  ctx.history.add({ type: 'nemesis', phase: 'end', fault, kind: n.kind, target });
}

/**
 * The faults of a run: `count` of them, chosen by the RNG among the enabled kinds, except that
 * the first ones go through every enabled kind once (in a seeded order), so even a short run
 * has each.
 */
export function schedule(count: number, random: Random, kinds: readonly NemesisKind[] = NEMESES.filter((n) => n.enabled).map((n) => n.kind)): NemesisKind[] {
  const first = [...kinds].map((k) => ({ k, r: random.next() })).sort((a, b) => a.r - b.r).map((x) => x.k);
  const out = first.slice(0, count);
  while (out.length < count) out.push(kinds[Math.floor(random.next() * kinds.length)]!);
  return out;
}
