/**
 * A framework as one of several replicas (`agora services --ha`, `agora jobs --ha`). All of them
 * stand for election on a JetStream KV lease (common/leadership) and serve their HTTP port; one
 * leads, the others stand by:
 *
 *   standby  loads nothing, holds no store connection, does not subscribe to the master; its
 *            port forwards the REST API to the leader (standby.ts, proxy.ts).
 *   elected  closes the standby's port and, in the epoch it won: claims that epoch in the Redis
 *            store (`<prefix>epoch` raised, so a paused predecessor's next write is refused), loads
 *            the state, serves the port as the framework, and subscribes to the master with the
 *            stored framework id — to the master a failover of the same framework, whose tasks
 *            keep running; none is relaunched. Every store write carries the epoch and passes the
 *            lease's `check()` first (a lease run out is a refused write).
 *   deposed  the lease lost, or a write refused as fenced: it stops acting at once and `ended`
 *            resolves; the shell exits 1, as a deposed master does, for a supervisor to start it
 *            again as a standby.
 *   abdicate `DELETE /v2/leader` (Marathon's): it stops acting, serves its port as a standby again,
 *            then gives up the lease, so another replica claims it at once. It stays in the
 *            election in-process (it stands back one lease before it could win again).
 *
 * Each framework has its own lease: the key names its kind and its Redis prefix, in the
 * frameworks' bucket `<PREFIX>_FRAMEWORKS`, apart from the masters' `<PREFIX>_LEADERS` (a
 * framework's NATS user may touch only the former: common/security/nats-auth.ts).
 */
import { createHash } from 'crypto';
import { connect, type NatsConnection } from 'nats';
import { hostname } from 'os';
import { Election, frameworksBucket, type Deposed, type LeaderInfo } from '../../common/leadership';
import { FencedWriter } from '../../common/fenced-redis';
import { logger, type Logger } from '../../common/log';
import { connectRedis } from '../../common/redis';
import { lockedDoor, type HttpDoor } from '../../common/security/http-door';
import { readNatsCluster } from '../../common/security/nats-auth';
import { natsIdentity } from '../../common/security/nats-client';
import { natsServers, subjects } from '../../common/subjects';
import type { HaOptions } from './flags';
import type { ServerOptions } from './server';
import { startStandbyHttp, type StandbyHttp } from './standby';

/**
 * A framework's key in that bucket: its kind and its Redis prefix, the one thing its replicas
 * must share (two frameworks on one prefix would overwrite each other's state anyway). Made a
 * key's letters, with a digest of the prefix so that `a:b` and `a_b` stay apart.
 */
export function leaseKey(kind: string, redisPrefix: string): string {
  const slug = redisPrefix.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40);
  return `${kind}-${slug}-${createHash('sha256').update(redisPrefix).digest('hex').slice(0, 8)}`;
}

export interface ReplicaSpec {
  kind: string;
  defaults: { port: number; redisPrefix: string };
  /** Starts the framework's server (startServices, startJobs) with the epoch and the leadership given. */
  start(o: ServerOptions): Promise<{ port: number; stop(): Promise<void> }>;
}

export interface ReplicaHandle {
  readonly port: number;
  /** This replica among its peers. */
  readonly id: string;
  /** Who leads, as this replica sees it (itself once it leads). */
  leader(): LeaderInfo | undefined;
  /** Resolves when this replica must stop for good: deposed, or fenced (`code` 1). */
  readonly ended: Promise<{ code: number; why: string }>;
  /** Stops: the framework first, then leaves the election (abdicating if it leads). */
  stop(): Promise<void>;
}

export async function startReplica(spec: ReplicaSpec, o: ServerOptions & { ha: HaOptions; redisUrl: string }): Promise<ReplicaHandle> {
  const log = (o.log ?? logger(spec.kind)).child('replica');
  const prefix = o.security ? readNatsCluster(o.security.dir)?.subjectPrefix ?? 'agora' : 'agora';
  const nc = await connectLeaseNats(spec.kind, o, prefix);
  const host = o.host ?? '0.0.0.0';
  const door = o.security && lockedDoor(o.security.credentials, { kind: spec.kind, tls: o.security.tls, port: o.port ?? spec.defaults.port, title: `the Agora ${spec.kind} framework (standby)`, log });
  const replica = new Replica(spec, o, { log, host, nc, ...(door ? { door } : {}) });
  try {
    await replica.join(prefix);
  } catch (err) {
    await replica.stop();
    throw err;
  }
  return replica;
}

async function connectLeaseNats(kind: string, o: ServerOptions & { ha: HaOptions }, prefix: string): Promise<NatsConnection> {
  const identity = natsIdentity('framework', subjects(prefix), o.security, o.identity);
  try {
    return await connect({ servers: natsServers(o.ha.natsUrl), name: `agora-${kind}`, maxReconnectAttempts: -1, ...identity.options });
  } catch (err) {
    throw new Error(`cannot connect to NATS at ${o.ha.natsUrl} for the ${kind} lease: ${(err as Error).message}`, { cause: err });
  }
}

interface Parts { log: Logger; host: string; nc: NatsConnection; door?: HttpDoor }

class Replica implements ReplicaHandle {
  port = 0;
  id = '';
  readonly ended: Promise<{ code: number; why: string }>;
  private end!: (e: { code: number; why: string }) => void;
  private address = '';
  private election: Election | undefined;
  private standby: StandbyHttp | undefined;
  private server: { stop(): Promise<void> } | undefined;
  /** Leading, standing by and stopping happen one at a time, in order. */
  private turn: Promise<void> = Promise.resolve();
  private stopping = false;

  constructor(private readonly spec: ReplicaSpec, private readonly o: ServerOptions & { ha: HaOptions; redisUrl: string }, private readonly p: Parts) {
    this.ended = new Promise((r) => { this.end = r; });
  }

  leader(): LeaderInfo | undefined {
    return this.election?.leader();
  }

  async join(natsPrefix: string): Promise<void> {
    const { o, spec, p } = this;
    await this.standBy(o.port ?? spec.defaults.port);
    this.address = o.advertise ?? `${advertisedHost(p.host)}:${this.port}`;
    this.id = o.ha.id ?? this.address;
    const group = leaseKey(spec.kind, o.redisPrefix ?? spec.defaults.redisPrefix);
    const election = this.election = await Election.join({
      nc: p.nc, bucket: frameworksBucket(natsPrefix), group, replicas: o.ha.replicas ?? 1,
      candidate: { id: this.id, address: this.address, pid: process.pid },
      ...(o.ha.leaseMs !== undefined ? { leaseMs: o.ha.leaseMs } : {}), log: p.log.child('election'),
    });
    election.onElected((epoch) => void this.queue(() => this.lead(epoch)));
    election.onDeposed((d) => this.deposed(d));
    // Won while joining, before anyone listened.
    const won = election.epoch();
    if (won !== undefined) void this.queue(() => this.lead(won));
    p.log.info('standing for election', { id: this.id, bucket: frameworksBucket(natsPrefix), key: group });
  }

  private queue(fn: () => Promise<void>): Promise<void> {
    this.turn = this.turn.then(fn).catch((err: unknown) => this.p.log.error('replica step failed', { error: String(err) }));
    return this.turn;
  }

  /** The leader's address for the standby's port: undefined while none, or while it is this replica (elected, not serving yet). */
  private leaderAddress(): string | undefined {
    const l = this.election?.leader();
    return l && l.address !== this.address ? l.address : undefined;
  }

  private async standBy(port: number): Promise<void> {
    const { o, p } = this;
    this.standby = await startStandbyHttp({
      kind: this.spec.kind, leader: () => this.leaderAddress(), self: () => this.id, host: p.host, port, log: p.log.child('standby'),
      ...(p.door ? { door: p.door } : {}), ...(o.security ? { ca: o.security.tls.ca } : {}),
    });
    this.port = this.standby.port;
  }

  private async lead(epoch: number): Promise<void> {
    const { o, p, election } = this;
    if (this.stopping || !election || this.server) return;
    try {
      await this.standby?.stop();
      this.standby = undefined;
      await claimEpoch(o.redisUrl, o.redisPrefix ?? this.spec.defaults.redisPrefix, epoch);
      this.server = await this.spec.start({
        ...o, port: this.port, advertise: this.address,
        // Every write passes the lease first: a leader whose lease ran out writes nothing.
        epoch: () => election.check(),
        fenced: (err) => this.fenced(err),
        leadership: { self: () => this.address, abdicate: () => void this.queue(() => this.abdicate()) },
      });
      p.log.info('elected: leading', { epoch, id: this.id });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      if (err instanceof Error && err.name === 'FencedError') return this.fenced(err);
      p.log.error('elected but cannot lead; abdicating', { epoch, error: why });
      if (!this.standby) await this.standBy(this.port);
      await election.abdicate();
    }
  }

  /** DELETE /v2/leader: stop acting, serve the port as a standby, then give the lease up. */
  private async abdicate(): Promise<void> {
    if (!this.server || this.stopping) return;
    const epoch = this.election?.epoch();
    this.p.log.warn('abdicating: standing by again', { epoch, id: this.id });
    await this.server.stop();
    this.server = undefined;
    await this.standBy(this.port);
    await this.election?.abdicate();
  }

  private deposed(d: Deposed): void {
    if (d.cause === 'abdicated') return;
    this.p.log.error('deposed: no longer leading; stopping', { ...d });
    this.halt(`deposed (epoch ${d.epoch}): ${d.message}`);
  }

  private fenced(err: Error): void {
    this.p.log.error('fenced: a newer leader has written; stopping', { error: err.message });
    this.halt(`fenced: ${err.message}`);
  }

  /**
   * Stops acting (the framework stopped, its subscription closed), then tells the shell to exit 1.
   * It waits one turn of the event loop first: the request whose write met the fence is answered
   * (503, naming both epochs) in the microtasks after it, and would otherwise be cut unanswered.
   */
  private halt(why: string): void {
    void this.queue(async () => {
      await new Promise((resolve) => setImmediate(resolve));
      await this.server?.stop();
      this.server = undefined;
    }).then(() => this.end({ code: 1, why }));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.turn;
    // The framework first: leaving the election while it still acts would let a peer lead beside it.
    await this.server?.stop();
    this.server = undefined;
    await this.election?.stop();
    await this.standby?.stop();
    this.standby = undefined;
    this.p.door?.close();
    if (!this.p.nc.isClosed()) await this.p.nc.close();
  }
}

const advertisedHost = (host: string): string => (host === '0.0.0.0' || host === '::' || host === '' ? hostname() : host);

/**
 * Raises `<prefix>epoch` to the epoch just won before anything is loaded: from here on a paused
 * predecessor's writes are refused, even before this leader writes anything of its own. A store
 * already at a higher epoch refuses with a FencedError: this replica must not lead.
 */
async function claimEpoch(url: string, prefix: string, epoch: number): Promise<void> {
  const redis = await connectRedis(url, { fail: (message, cause) => new Error(`cannot claim epoch ${epoch} in Redis: ${message}`, { cause }) });
  try {
    await new FencedWriter(redis, `${prefix}epoch`, epoch).write([]);
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
}
