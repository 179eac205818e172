/**
 * A replicated Redis watched by Sentinel, from real processes on 127.0.0.1: a primary, one
 * replica and three `redis-server --sentinel` (a failover needs two of them to agree), for
 * tests, the chaos harness and a local cluster that must survive losing its Redis primary.
 *
 * Words: the two data nodes are `redis-0` and `redis-1`; which of them is the **primary** is
 * whatever the Sentinels say now (it changes on a failover). The Sentinels are `sentinel-0..2`.
 * Every process requires the one password (the data nodes' `requirepass` and `masterauth`, the
 * Sentinels' `requirepass`); it never appears on a command line. Everything lives under `dir`:
 * each data node's append-only file in `redis-N/`, each Sentinel's config (which Sentinel itself
 * rewrites as it learns) in `sentinel-N/`, and `set.json`, the data node last seen as primary
 * and every member's port (written at start, whenever the set is found ready, on revive and at
 * stop), so that the next start on the same dir starts as primary the node the Sentinels last
 * promoted, read from their configs where set.json lags (common/redis-sentinel-record.ts), and
 * keeps its newer data rather than syncing it away.
 *
 * Never two primaries: a dead data node the Sentinels still name comes back only once they have
 * promoted its replica, as that one's replica (`comeBackAs`); started at once, it would run as a
 * primary beside the one they promote, and one side's writes would be thrown away.
 *
 * Ready means agreed, not merely running: every live Sentinel names the same primary, knows the
 * other live Sentinels and the live replica, and the replica has synced with the primary (a WAIT
 * on a fresh connection answers 1). It is waited for on the Sentinels' own events (`+sentinel`,
 * `+slave`, `+switch-master`, `-sdown` …), each one a reason to look again, and every 250 ms
 * besides (a link to a peer coming up is announced by none), within a bound.
 */
import { existsSync, mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Redis } from 'ioredis';
import { freePort } from './nats-server';
import { lastPrimary, recordPrimary } from './redis-sentinel-record';
import { DEFAULT_APPEND_FSYNC, startRedisProcess, startRedisServer, type AppendFsync, type RedisProcess, type RedisServer } from './redis-server';

export type DataMember = 'redis-0' | 'redis-1';
export type SentinelName = 'sentinel-0' | 'sentinel-1' | 'sentinel-2';
export type SentinelSetMember = DataMember | SentinelName;

const DATA: readonly DataMember[] = ['redis-0', 'redis-1'];
const SENTINELS: readonly SentinelName[] = ['sentinel-0', 'sentinel-1', 'sentinel-2'];
const QUORUM = 2;

export interface RedisSentinelOptions {
  dir: string;
  password: string;
  appendfsync?: AppendFsync;
  /** The Sentinels' name for the primary (default 'agora'); the URL's /GROUP. */
  group?: string;
  /** How long a node must not answer before a Sentinel thinks it down (default 1000). */
  downAfterMs?: number;
  /** Sentinel's failover-timeout (default 2000): how long a failover may take before another is tried. */
  failoverTimeoutMs?: number;
  /** Each process in a process group of its own, as startRedisServer's `detached`. */
  detached?: boolean;
  /** How long start-up and `ready()` may wait for agreement (default 30000). */
  readyTimeoutMs?: number;
  bin?: string;
}

export interface RedisSentinelSet {
  /** `redis-sentinel://:PASSWORD@127.0.0.1:P0,…/GROUP?sentinelPassword=PASSWORD` (common/redis-url.ts). */
  url: string;
  group: string;
  /** A member's port on 127.0.0.1 (kept across its restarts). */
  port(member: SentinelSetMember): number;
  /** The pid of each running member. */
  pids(): Partial<Record<SentinelSetMember, number>>;
  /** Which data node the Sentinels name as primary now. */
  primary(): Promise<DataMember>;
  /** Resolves once agreed (header); rejects with a RedisSentinelError saying what is missing after readyTimeoutMs. */
  ready(): Promise<void>;
  /** SIGKILLs a member ('primary' and 'replica' as the Sentinels see them now); resolves with its name once it is gone. */
  kill(which: SentinelSetMember | 'primary' | 'replica'): Promise<SentinelSetMember>;
  /**
   * Starts a killed member again on its port and files: a data node as a replica of the primary
   * the Sentinels name; the node they still name only once they have promoted its replica (within
   * readyTimeoutMs, else a RedisSentinelError), or as the primary when no replica runs (`comeBackAs`).
   */
  start(which: SentinelSetMember): Promise<void>;
  /**
   * Starts again every member whose process died on its own (not by `kill` or `stop`), the
   * Sentinels first so a data node comes back as a replica of the primary they name; resolves
   * with the members started, and records the primary the Sentinels name in set.json. A dead
   * primary the Sentinels still name while its replica runs is left for a later call, once they
   * have failed over (`comeBackAs`). A supervisor (`agora up --masters N`) calls it now and then.
   */
  revive(): Promise<SentinelSetMember[]>;
  /** Stops the Sentinels first (no failover while the data nodes go), then the replica, then the primary. */
  stop(): Promise<void>;
}

/** Whether a process of ours still runs (an exited child has been reaped by Node). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class RedisSentinelError extends Error {
  override readonly name = 'RedisSentinelError';
}

interface Plan {
  o: Required<Omit<RedisSentinelOptions, 'bin'>> & Pick<RedisSentinelOptions, 'bin'>;
  ports: Record<SentinelSetMember, number>;
  running: Partial<Record<SentinelSetMember, RedisProcess | RedisServer>>;
}

export async function startRedisSentinel(options: RedisSentinelOptions): Promise<RedisSentinelSet> {
  const o = { group: 'agora', appendfsync: DEFAULT_APPEND_FSYNC, downAfterMs: 1000, failoverTimeoutMs: 2000, detached: false, readyTimeoutMs: 30_000, ...options };
  if (!/^[A-Za-z0-9_-]+$/.test(o.group)) throw new RedisSentinelError(`a Sentinel group is letters, digits, _ and -, got '${o.group}'`);
  mkdirSync(o.dir, { recursive: true, mode: 0o700 });
  const ports = {} as Record<SentinelSetMember, number>;
  for (const m of [...DATA, ...SENTINELS]) ports[m] = await freePort();
  const plan: Plan = { o, ports, running: {} };
  const first = lastPrimary(o.dir, SENTINELS);
  // The ports go with the name, so that the next start can tell which node a Sentinel's config names.
  recordPrimary(o.dir, first, ports);
  try {
    await startData(plan, first);
    await startData(plan, other(first), first);
    await Promise.all(SENTINELS.map((s) => startSentinel(plan, s, first, true)));
    await whenReady(plan);
  } catch (err) {
    await stopAll(plan);
    throw err;
  }
  return handle(plan);
}

function handle(plan: Plan): RedisSentinelSet {
  const { o, ports, running } = plan;
  const hosts = SENTINELS.map((s) => `127.0.0.1:${ports[s]}`).join(',');
  const pw = encodeURIComponent(o.password);
  const set: RedisSentinelSet = {
    url: `redis-sentinel://:${pw}@${hosts}/${o.group}?sentinelPassword=${pw}`,
    group: o.group,
    port: (member) => ports[member],
    pids: () => Object.fromEntries(Object.entries(running).map(([m, p]) => [m, p!.pid])),
    primary: () => currentPrimary(plan),
    ready: () => whenReady(plan),
    kill: async (which) => {
      const member = which === 'primary' ? await currentPrimary(plan) : which === 'replica' ? other(await currentPrimary(plan)) : which;
      const p = running[member];
      if (!p) throw new RedisSentinelError(`${member} is not running`);
      delete running[member];
      await p.kill();
      return member;
    },
    start: async (which) => {
      if (running[which]) throw new RedisSentinelError(`${which} is already running`);
      if (isSentinel(which)) return startSentinel(plan, which, await currentPrimary(plan), false);
      const as = await comeBackAs(plan, which, o.readyTimeoutMs);
      if (as.role === 'not yet') throw new RedisSentinelError(`not starting ${which}: ${as.why}`);
      await startData(plan, which, as.role === 'replica' ? as.of : undefined);
    },
    revive: async () => {
      const dead = (Object.keys(running) as SentinelSetMember[]).filter((m) => !alive(running[m]!.pid));
      const started: SentinelSetMember[] = [];
      // A member stays in `running`, dead, until it runs again: one not started now (or whose start
      // failed) is looked at again on the next call.
      for (const s of dead.filter(isSentinel)) {
        await startSentinel(plan, s, await currentPrimary(plan), false);
        started.push(s);
      }
      for (const m of await namedFirst(plan, dead.filter((d): d is DataMember => !isSentinel(d)))) {
        const as = await comeBackAs(plan, m, 0);
        if (as.role === 'not yet') continue;
        await startData(plan, m, as.role === 'replica' ? as.of : undefined);
        started.push(m);
      }
      // Keep set.json on the primary the Sentinels name now: a set killed with its owner after a
      // failover must start again from the promoted node, or the old primary's older data wins.
      const primary = await currentPrimary(plan).catch(() => undefined);
      if (primary) recordPrimary(o.dir, primary, ports);
      return started;
    },
    stop: async () => {
      const primary = await currentPrimary(plan).catch(() => undefined);
      if (primary) recordPrimary(o.dir, primary, ports);
      await stopAll(plan, primary);
    },
  };
  return set;
}

async function stopAll(plan: Plan, primary?: DataMember): Promise<void> {
  const { running } = plan;
  await Promise.all(SENTINELS.flatMap((s) => running[s] ? [running[s].stop()] : []));
  const order = primary ? [other(primary), primary] : DATA;
  for (const m of order) await running[m]?.stop();
  for (const m of Object.keys(running)) delete running[m as SentinelSetMember];
}

const isSentinel = (m: SentinelSetMember): m is SentinelName => m.startsWith('sentinel-');
const other = (m: DataMember): DataMember => (m === 'redis-0' ? 'redis-1' : 'redis-0');
const runs = (plan: Plan, m: SentinelSetMember): boolean => plan.running[m] !== undefined && alive(plan.running[m].pid);

/** How a dead data node may come back now. */
type ComeBack = { role: 'primary' } | { role: 'replica'; of: DataMember } | { role: 'not yet'; why: string };

/**
 * A data node comes back as the replica of the primary the Sentinels name; as the primary only
 * when they name it and no other data node runs. While they name it and its replica runs, not
 * yet (looked at again every RECHECK_MS for `waitMs`): they are failing over, or about to, and
 * started now it would be a second primary beside the replica they promote. Writers that found
 * it before their +switch-master would write there, the others on the promoted node, and
 * whichever side lost (demoted by the Sentinels, or not chosen by the next start) would take
 * its writes with it.
 */
async function comeBackAs(plan: Plan, member: DataMember, waitMs: number): Promise<ComeBack> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const primary = await currentPrimary(plan);
    if (primary !== member) return { role: 'replica', of: primary };
    if (!runs(plan, other(member))) return { role: 'primary' };
    if (Date.now() >= deadline) return { role: 'not yet', why: `the Sentinels still name it primary while ${other(member)} runs: they have not failed over yet` };
    await new Promise((resolve) => setTimeout(resolve, RECHECK_MS));
  }
}

/** Dead data nodes, the one the Sentinels name first: with both dead, it comes back as the primary and the other follows it. */
async function namedFirst(plan: Plan, dead: DataMember[]): Promise<DataMember[]> {
  if (dead.length < 2) return dead;
  const named = await currentPrimary(plan);
  return [named, other(named)];
}

async function startData(plan: Plan, member: DataMember, replicaOf?: DataMember): Promise<void> {
  const { o, ports } = plan;
  plan.running[member] = await startRedisServer({
    dir: join(o.dir, member), port: ports[member], password: o.password, appendfsync: o.appendfsync, detached: o.detached, bin: o.bin,
    ...(replicaOf ? { replicaOf: { host: '127.0.0.1', port: ports[replicaOf] } } : {}),
  });
}

/**
 * A Sentinel's config: written afresh at the set's start (the ports are new), kept on a restart
 * of that Sentinel (it holds what the Sentinel learnt: the others, the replica, the epoch).
 */
async function startSentinel(plan: Plan, name: SentinelName, primary: DataMember, fresh: boolean): Promise<void> {
  const { o, ports } = plan;
  const dir = join(o.dir, name);
  const file = join(dir, 'sentinel.conf');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (fresh || !existsSync(file)) writeFileSync(file, sentinelConfig(plan, dir, primary, name), { mode: 0o600 });
  plan.running[name] = await startRedisProcess({ port: ports[name], args: [file, '--sentinel'], password: o.password, detached: o.detached, bin: o.bin });
}

/** The config lines; the password is in a 0600 file under `dir`, never on a command line. */
function sentinelConfig(plan: Pick<Plan, 'o' | 'ports'>, dir: string, primary: DataMember, name: SentinelName): string {
  const { o, ports } = plan;
  const pw = JSON.stringify(o.password);
  return [
    `port ${ports[name]}`, 'bind 127.0.0.1', `dir ${JSON.stringify(dir)}`, `requirepass ${pw}`,
    // Sentinels authenticate to each other with their own requirepass, to the data nodes with auth-pass.
    `sentinel monitor ${o.group} 127.0.0.1 ${ports[primary]} ${QUORUM}`,
    `sentinel auth-pass ${o.group} ${pw}`,
    `sentinel down-after-milliseconds ${o.group} ${o.downAfterMs}`,
    `sentinel failover-timeout ${o.group} ${o.failoverTimeoutMs}`,
    `sentinel parallel-syncs ${o.group} 1`,
    '',
  ].join('\n');
}

/** A short-lived client that fails rather than waits (these answers are looked at again on the next event). */
function client(port: number, password: string): Redis {
  const c = new Redis({ host: '127.0.0.1', port, password, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, commandTimeout: 5000, disconnectTimeout: 200 });
  c.on('error', () => undefined);
  return c;
}

async function ask<T>(port: number, password: string, f: (c: Redis) => Promise<T>): Promise<T> {
  const c = client(port, password);
  try {
    await c.connect();
    return await f(c);
  } finally {
    c.disconnect();
  }
}

const liveSentinels = (plan: Plan): SentinelName[] => SENTINELS.filter((s) => plan.running[s]);
const memberAt = (plan: Plan, port: number): DataMember | undefined => DATA.find((m) => plan.ports[m] === port);

async function masterOf(plan: Plan, s: SentinelName): Promise<DataMember | undefined> {
  const addr = await ask(plan.ports[s], plan.o.password, (c) => c.call('SENTINEL', 'get-master-addr-by-name', plan.o.group)) as [string, string] | null;
  return addr ? memberAt(plan, Number(addr[1])) : undefined;
}

async function currentPrimary(plan: Plan): Promise<DataMember> {
  for (const s of liveSentinels(plan)) {
    const m = await masterOf(plan, s).catch(() => undefined);
    if (m) return m;
  }
  throw new RedisSentinelError('no live Sentinel names a primary');
}

/** What keeps the set from being ready now, or undefined when nothing does. */
async function notReadyBecause(plan: Plan): Promise<string | undefined> {
  const sentinels = liveSentinels(plan);
  if (sentinels.length < QUORUM) return `only ${sentinels.length} Sentinel(s) run, ${QUORUM} are needed to fail over`;
  const masters = await Promise.all(sentinels.map((s) => masterOf(plan, s)));
  const primary = masters[0];
  if (!primary || masters.some((m) => m !== primary)) return `the Sentinels name different primaries: ${masters.join(', ')}`;
  if (!plan.running[primary]) return `the Sentinels name ${primary}, which is not running`;
  const replica = plan.running[other(primary)] ? other(primary) : undefined;
  for (const s of sentinels) {
    const why = await sentinelView(plan, s, replica);
    if (why) return why;
  }
  if (!replica) return undefined;
  // A fresh connection has written nothing: WAIT 1 answers once the replica is online and acknowledged.
  const synced = await ask(plan.ports[primary], plan.o.password, (c) => c.wait(1, 1000));
  return synced >= 1 ? undefined : `${replica} has not synced with ${primary}`;
}

async function sentinelView(plan: Plan, s: SentinelName, replica: DataMember | undefined): Promise<string | undefined> {
  const { o, ports } = plan;
  const [peers, replicas] = await ask(ports[s], o.password, async (c) => [
    await c.call('SENTINEL', 'sentinels', o.group) as string[][],
    await c.call('SENTINEL', 'replicas', o.group) as string[][],
  ]);
  const field = (entry: string[], k: string) => entry[entry.indexOf(k) + 1];
  const known = new Set(peers.filter((p) => !/s_down|disconnected/.test(field(p, 'flags') ?? '')).map((p) => Number(field(p, 'port'))));
  const missing = liveSentinels(plan).filter((p) => p !== s && !known.has(ports[p]));
  if (missing.length > 0) return `${s} does not yet see ${missing.join(', ')}`;
  if (!replica) return undefined;
  const seen = replicas.find((r) => Number(field(r, 'port')) === ports[replica]);
  if (!seen || /s_down|disconnected/.test(field(seen, 'flags') ?? '')) return `${s} does not yet see ${replica} as a live replica`;
  return undefined;
}

const RECHECK_MS = 250;

/**
 * Looks again on every event a live Sentinel publishes (and every RECHECK_MS, as some changes are
 * not announced), until nothing is missing or the bound passes.
 */
async function whenReady(plan: Plan): Promise<void> {
  const subs = liveSentinels(plan).map((s) => client(plan.ports[s], plan.o.password));
  let wake: () => void = () => undefined;
  let woken = false;
  const onEvent = () => { woken = true; wake(); };
  for (const sub of subs) {
    sub.on('pmessage', onEvent);
    await sub.connect().then(() => sub.psubscribe('*')).catch(() => undefined);
  }
  const deadline = Date.now() + plan.o.readyTimeoutMs;
  let why: string | undefined = 'not looked yet';
  try {
    while (Date.now() < deadline) {
      woken = false;
      why = await notReadyBecause(plan).catch((err: Error) => err.message);
      if (why === undefined) {
        recordPrimary(plan.o.dir, await currentPrimary(plan), plan.ports);
        return;
      }
      if (!woken) {
        await new Promise<void>((resolve) => {
          // Not every change is announced (a link to a peer coming up is not): look again soon regardless.
          const t = setTimeout(resolve, Math.max(0, Math.min(RECHECK_MS, deadline - Date.now())));
          wake = () => { clearTimeout(t); resolve(); };
        });
      }
    }
    throw new RedisSentinelError(`the Redis Sentinel set is not ready after ${plan.o.readyTimeoutMs} ms: ${why}`);
  } finally {
    for (const sub of subs) sub.disconnect();
  }
}
