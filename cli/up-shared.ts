/**
 * What `agora up` (up.ts: one master, in this process) and `agora up --masters N` (up-ha.ts:
 * the HA shape, as children) share: the flags, taking the state folder, its own Redis, the
 * stack of what was started (stopped last started first), and the banner's lines about state,
 * credentials and what to try.
 */
import { mkdirSync } from 'fs';
import { join, resolve } from 'path';
import { killLeftoverRuns } from '../agent/leftovers';
import type { ContainerizerChoice } from '../agent/config';
import { parseArgs, type Parsed } from '../common/flags';
import { logger } from '../common/log';
import { redactUrl } from '../common/redis';
import { DEFAULT_APPEND_FSYNC, startRedisServer } from '../common/redis-server';
import { startRedisSentinel, type RedisSentinelSet } from '../common/redis-sentinel';
import { bootstrapSecurity, type Bootstrapped } from '../common/security/bootstrap';
import { agoraHome } from '../common/security/client-config';
import { localRedisSecret, REDIS_SECRET_FILE } from '../common/security/redis-secret';
import { openServerSecurity, type ServerSecurity } from '../common/security/security-dir';
import { runNTasks } from '../frameworks/examples/run-n-tasks';
import { claimStateDir, closedToTasks, defaultStateDir, upStatePaths, wipeState, type StateClaim } from './up-state';

export type Stoppable = { stop(): Promise<void> };
export type Print = (line: string) => void;

export const UP_FLAGS = {
  example: 'boolean', tasks: 'number', containerizer: 'string', host: 'string',
  'http-port': 'number', 'grpc-port': 'number', 'agent-port': 'number', 'nats-port': 'number',
  'work-dir': 'string', resources: 'string', 'services-port': 'number', 'jobs-port': 'number', redis: 'string',
  'state-dir': 'string', fresh: 'boolean', masters: 'number', 'redis-sentinel': 'boolean',
} as const;
export type UpFlags = Parsed<typeof UP_FLAGS>['flags'];

export function parseUpFlags(argv: string[]): UpFlags & { containerizer: ContainerizerChoice } {
  const { flags } = parseArgs(argv, UP_FLAGS);
  const containerizer = flags.containerizer ?? 'auto';
  if (!['auto', 'docker', 'process'].includes(containerizer)) {
    throw new Error(`--containerizer must be auto, docker or process, got '${containerizer}'`);
  }
  if (flags.redis && flags['redis-sentinel']) throw new Error('--redis and --redis-sentinel exclude each other: --redis uses a Redis of yours, --redis-sentinel starts a replicated one');
  return { ...flags, containerizer: containerizer as ContainerizerChoice };
}

/** What both shapes have before they start anything: the flags, the state folder taken, the security set up. */
export interface UpBase {
  flags: UpFlags & { containerizer: ContainerizerChoice };
  host: string;
  workDir: string;
  home: string;
  boot: Bootstrapped;
  security: ServerSecurity;
  claim: StateClaim;
}

/** A cluster started: what to wait for before the banner, where its doors are, and the banner. */
export interface StartedCluster {
  ready: Promise<unknown>;
  masterAddr: string;
  /** What clients are given (the client config, the example): every master, comma-separated; absent: `masterAddr`. */
  masterList?: string;
  servicesAddr: string;
  jobsAddr: string;
  banner(): void | Promise<void>;
}

/**
 * The life of an `agora up`, either shape: takes the state folder, sets security up, starts
 * the cluster with `start` (which pushes each part on `started` as soon as it runs), waits
 * until it is ready, writes the client config, prints the banner, runs `--example`, and on
 * the stop signal stops it all, last started first (the state folder let go last). A signal
 * while it starts stops what started; a failure too, and is thrown.
 */
export async function runUp(flags: UpBase['flags'], print: Print, signal: Promise<string>,
  start: (base: UpBase, started: Stoppable[]) => Promise<StartedCluster>): Promise<number> {
  const claim = await claimState(flags, print);
  const workDir = flags['work-dir'] ?? claim.paths.agent;
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const home = agoraHome();
  const boot = await bootstrapSecurity(home);
  const security = openServerSecurity(home, logger('up'));
  const started: Stoppable[] = [{ stop: async () => claim.release() }, { stop: async () => security.close() }];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch((err: Error) => print(`stop failed: ${err.message}`));
  };
  const shutdown = async (why: string): Promise<number> => {
    print(`${why}: stopping the cluster`);
    await stopAll();
    print('stopped');
    return 0;
  };
  try {
    const cluster = await start({ flags, host: flags.host ?? '127.0.0.1', workDir, home, boot, security, claim }, started);
    // Ready before the banner, so that what it promises answers; a signal meanwhile still stops it all.
    const early = await Promise.race([cluster.ready.then(() => undefined), signal]);
    if (early !== undefined) return await shutdown(early);
    // The addresses bound (a port of 0 picks one), so every client finds this cluster.
    const masters = cluster.masterList ?? cluster.masterAddr;
    await bootstrapSecurity(home, { context: { master: masters, services: cluster.servicesAddr, jobs: cluster.jobsAddr } });
    await cluster.banner();
    if (flags.example) {
      const why = await runExample(flags.tasks ?? 3, masters, print, signal);
      if (why !== undefined) return await shutdown(why);
    }
    print('serving; press Ctrl-C to stop');
    return await shutdown(await signal);
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/**
 * The state folder, taken for this run: servers an earlier, killed run left are stopped; with
 * `--fresh` the tasks it left are killed too and its state is wiped.
 */
export async function claimState(flags: UpFlags, print: Print): Promise<StateClaim> {
  const paths = upStatePaths(resolve(flags['state-dir'] ?? defaultStateDir()));
  const claim = await claimStateDir(paths);
  if (claim.stopped.length > 0) print(`stopped what an earlier agora up left running: ${claim.stopped.join(', ')}`);
  if (flags.fresh) {
    await killLeftoverRuns({ workDir: flags['work-dir'] ?? paths.agent, log: logger('up') });
    wipeState(paths);
    print(`--fresh: the tasks an earlier run left were killed and ${paths.dir} wiped (credentials in ${agoraHome()} kept)` +
      (flags.redis ? '; the Redis at --redis is left as it is' : ''));
  }
  return claim;
}

/**
 * The cluster's own Redis, persisting in the state folder, locked with the password kept in the
 * agora home; its URL and pid (the primary's, for a replicated one). `replicated`: a primary, a
 * replica and three Sentinels, each recorded, Sentinels last, so that the next start stops them
 * before the data nodes (no failover while they go); the set keeps the last primary's data
 * across that (set.json).
 */
export async function startLocalRedis(p: { claim: StateClaim; home: string; log?: Print }, started: Stoppable[], replicated = false): Promise<{ url: string; pid: number }> {
  if (replicated) {
    const set = await startRedisSentinel({ dir: p.claim.paths.redisSentinel, password: localRedisSecret(p.home), appendfsync: DEFAULT_APPEND_FSYNC, detached: true });
    started.push(set);
    const primary = await set.primary();
    const pids = set.pids();
    // Leftovers are stopped last recorded first: the Sentinels, then the replica, then the primary.
    for (const m of [primary, primary === 'redis-0' ? 'redis-1' : 'redis-0', 'sentinel-0', 'sentinel-1', 'sentinel-2'] as const) p.claim.recordServer(m, pids[m]!);
    started.push(superviseRedis(set, p.claim, p.log ?? (() => undefined)));
    return { url: set.url, pid: pids[primary]! };
  }
  const redis = await startRedisServer({ dir: p.claim.paths.redis, password: localRedisSecret(p.home), appendfsync: DEFAULT_APPEND_FSYNC, detached: true });
  p.claim.recordServer('redis', redis.pid);
  started.push(redis);
  return { url: redis.url, pid: redis.pid };
}

/** How often the replicated Redis's members are looked at, to start again any that died. */
const REDIS_REVIVE_MS = 2000;

/**
 * Keeps the replicated Redis whole, as the supervisor of the masters and frameworks does for
 * them: a member that died (a SIGKILLed primary, once the Sentinels promoted its replica) is
 * started again, a data node as the replica of the primary now named, and recorded anew. One
 * look at a time; stopped before the set is.
 */
function superviseRedis(set: RedisSentinelSet, claim: StateClaim, log: Print): Stoppable {
  let looking: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    looking = looking.then(async () => {
      for (const m of await set.revive()) {
        claim.recordServer(m, set.pids()[m]!);
        log(`[up] ${m} of the replicated Redis had died; started again (pid ${set.pids()[m]})`);
      }
    }).catch((err: Error) => log(`[up] could not start a Redis member again: ${err.message}`));
  }, REDIS_REVIVE_MS);
  timer.unref();
  return { stop: async () => { clearInterval(timer); await looking; } };
}

/** Where the state is kept, and what a stop, a kill and --fresh do with it. */
export function printState(print: Print, redisUrl: string, p: { flags: UpFlags; workDir: string; home: string; claim: StateClaim }): void {
  const dir = p.claim.paths.dir;
  print(p.flags.redis
    ? `registry, apps and jobs in the Redis at ${redactUrl(redisUrl)} (--redis); JetStream and agent state in ${dir}`
    : `state in ${dir}: registry, apps and jobs in Redis ${redactUrl(redisUrl)} (${redisUrl.startsWith('redis-sentinel:') ? 'a primary and a replica under 3 Sentinels, ' : ''}append-only file, appendfsync ${DEFAULT_APPEND_FSYNC}; ` +
      `password in ${join(p.home, REDIS_SECRET_FILE)}), JetStream, the agent's checkpoints`);
  print(`task sandboxes in ${p.workDir}`);
  print('Ctrl-C stops the tasks and keeps apps and jobs (launched again at the next start); a killed agora up leaves its tasks ' +
    'running and the next start takes them back; agora up --fresh starts empty');
  const closed = closedToTasks(p.workDir);
  if (closed) {
    print(`note: process tasks run as nobody and cannot reach their sandboxes under ${p.workDir}: ${closed} ${closed.includes(',') ? 'are' : 'is'} ` +
      'closed to other users (Docker tasks are not affected); for process tasks give --state-dir a folder others may pass through, e.g. /var/lib/agora/up');
  }
}

/** How to sign in, and what to try. */
export function printAccess(print: Print, a: { masterAddr: string; masterList?: string; servicesAddr: string; jobsAddr: string; home: string; boot: Bootstrapped }): void {
  const admin = a.boot.users.admin!;
  print(`every door needs credentials; ${a.boot.created ? 'made' : 'kept'} in ${a.home} (the agora command and the SDK read ${a.boot.configPath})`);
  print(`sign in to the web UIs as ${admin.principal}, secret ${admin.secret}, or open ` +
    `https://${a.masterAddr}/login#principal=${admin.principal}&secret=${admin.secret}`);
  print(`try: AGORA_MASTER=${a.masterList ?? a.masterAddr} agora agents | agora tasks | agora offers --follow | agora execute -- echo hi`);
  print(`     AGORA_SERVICES=${a.servicesAddr} agora app add app.json --wait | agora app list | agora deployments`);
  print(`     AGORA_JOBS=${a.jobsAddr} agora job add job.json | agora job run <id> --wait | agora job list | agora job history <id>`);
}

/** `--example`: the example framework runs `n` tasks once; the stop signal's reason if one came first. */
export async function runExample(n: number, masterAddr: string, print: Print, signal: Promise<string>): Promise<string | undefined> {
  print(`running the example framework: ${n} tasks`);
  const final = await Promise.race([runNTasks(n, { master: masterAddr, print: (l) => print(`  ${l}`) }), signal]);
  if (typeof final === 'string') return final;
  const ok = [...final.values()].every((s) => s === 'TASK_FINISHED');
  print(ok ? `example: all ${n} tasks finished` : `example: tasks ended ${[...final.values()].join(', ')}`);
  return undefined;
}
