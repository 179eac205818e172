/**
 * A master as one of several (`agora master --masters N`): it stands for election on the
 * cluster's JetStream KV lease (common/leadership) and serves as a standby (standby.ts) until it
 * wins. Then it closes the standby's ports and leads on them (startMaster): it recovers from the
 * registry, serves the agents' NATS subjects, announces itself so agents register again at
 * once, and offers, all in the epoch it won. Deposed — it could not renew within its lease, or
 * another leads — it stops acting at once and `deposed` resolves; `agora master` then exits, as a
 * Mesos master does, for its supervisor to start it again as a standby. Whatever it had in
 * flight is fenced by its epoch wherever it lands (registry, agents, offers).
 */
import type { NatsConnection } from 'nats';
import { Election, leadersBucket, type Deposed, type LeaderInfo } from '../common/leadership';
import { logger, type Logger } from '../common/log';
import { lockedDoor } from '../common/security/http-door';
import { natsIdentity } from '../common/security/nats-client';
import { subjects } from '../common/subjects';
import { advertisedHost, resolveConfig } from './config';
import { connectNats, startMaster, type MasterHandle, type StartMasterOptions } from './server';
import { startStandby, type LeaderAddresses, type StandbyHandle } from './standby';

export interface ElectionOptions {
  /** This master among its peers, stable across restarts (default its hostname and HTTP port). */
  id?: string;
  /** The lease bucket's replicas: 3 on a 3-node NATS cluster (default 1). */
  replicas?: number;
  /** How long a lease lasts (default 3000 ms): a SIGKILLed leader is replaced about this much later. */
  leaseMs?: number;
}

export interface MasterNodeHandle {
  readonly httpPort: number;
  readonly grpcPort: number;
  /** The leader, as this master sees it (itself once it leads); undefined while none is known. */
  leader(): LeaderInfo | undefined;
  /** Resolves with the epoch once this master leads. */
  readonly elected: Promise<number>;
  /** Resolves when this master, having led, stops leading; it has stopped acting by then. */
  readonly deposed: Promise<Deposed>;
  /** The running leader, once elected. */
  master(): MasterHandle | undefined;
  /** Stops, abdicating first if it leads, so a standby takes over at once. */
  stop(): Promise<void>;
}

export async function startMasterNode(options: StartMasterOptions, election: ElectionOptions = {}): Promise<MasterNodeHandle> {
  const config = resolveConfig(options);
  const log = logger('master').child('node');
  const subj = subjects(config.subjectPrefix);
  const nc: NatsConnection = await connectNats(config, natsIdentity('master', subj, options.security, options.identity));
  const security = options.security;
  const door = security && lockedDoor(security.credentials, { kind: 'master', tls: security.tls, port: config.httpPort, title: 'the Agora master (standby)', log: log.child('http') });
  let elect: Election | undefined;
  const addresses = (): LeaderAddresses | undefined => {
    const leader = elect?.leader();
    return leader && { http: leader.address, grpc: leader.endpoints?.grpc ?? '', epoch: leader.epoch, pid: leader.pid };
  };
  let standby: StandbyHandle | undefined = await startStandby({
    leader: addresses, host: config.host, httpPort: config.httpPort, grpcPort: config.grpcPort, log: log.child('standby'),
    ...(door ? { door } : {}), ...(security ? { tls: security.tls } : {}),
  });
  const { httpPort, grpcPort } = standby;
  const here = `${advertisedHost(config)}:${httpPort}`;
  try {
    elect = await Election.join({
      nc, bucket: leadersBucket(config.subjectPrefix), group: 'master', replicas: election.replicas ?? 1,
      candidate: { id: election.id ?? here, address: here, pid: process.pid, endpoints: { grpc: `${advertisedHost(config)}:${grpcPort}` } },
      ...(election.leaseMs ? { leaseMs: election.leaseMs } : {}), log: log.child('election'),
    });
  } catch (err) {
    await standby.stop();
    door?.close();
    await nc.close();
    throw err;
  }
  const joined = elect;
  let master: MasterHandle | undefined;
  let down = false;
  const { elected, deposed } = follow(joined, async (epoch) => {
    await standby?.stop();
    standby = undefined;
    door?.close();
    // The offer log as replicated as the lease: it outlives the NATS node this master talks to.
    const started = await startMaster({ offerLogReplicas: election.replicas ?? 1, ...options, httpPort, grpcPort, epoch, lease: joined });
    // Deposed while it recovered: it must not stay up, even fenced, as a master of a past epoch.
    if (down) return started.stop();
    master = started;
  }, () => { down = true; return master?.stop() ?? Promise.resolve(); }, log);
  return {
    httpPort, grpcPort, elected, deposed,
    leader: () => joined.leader(),
    master: () => master,
    stop: async () => {
      // The master first: abdicating while it still acts would let a peer lead beside it.
      await master?.stop();
      await joined.stop();
      await standby?.stop();
      door?.close();
      if (!nc.isClosed()) await nc.close();
    },
  };
}

/**
 * Leads when elected (`lead`, on the standby's ports) and stops acting when deposed (`stop`).
 * A leader that cannot serve must not hold the lease: it abdicates, so a peer takes over.
 */
function follow(elect: Election, lead: (epoch: number) => Promise<void>, stop: () => Promise<void>, log: Logger): { elected: Promise<number>; deposed: Promise<Deposed> } {
  let onElected!: (epoch: number) => void;
  let onDeposed!: (d: Deposed) => void;
  const elected = new Promise<number>((r) => { onElected = r; });
  const deposed = new Promise<Deposed>((r) => { onDeposed = r; });
  const onWin = (epoch: number): void => {
    log.info('elected: leading', { epoch });
    lead(epoch).then(() => onElected(epoch), (err: unknown) => {
      log.error('elected but cannot lead; abdicating', { epoch, error: err instanceof Error ? err.message : String(err) });
      void elect.abdicate();
    });
  };
  elect.onElected(onWin);
  // Won while joining, before anyone listened.
  const won = elect.isLeader() ? elect.epoch() : undefined;
  if (won !== undefined) onWin(won);
  elect.onDeposed((d) => {
    log.error('deposed: no longer leading; stopping', { ...d });
    void stop().then(() => onDeposed(d));
  });
  return { elected, deposed };
}
