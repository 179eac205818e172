/**
 * `agora up --masters N`: the HA shape of a cluster on one machine, in the foreground —
 *
 *   Redis        a primary and a replica (append-only files in the state folder) under three
 *                Sentinels, so the registry and the frameworks' state outlive losing the primary
 *   NATS         a cluster of 3 nats-servers with JetStream (Raft), locked as the single one is
 *                (operator, accounts, TLS for clients) and with authenticated routes; their
 *                files in <state>/nats/n1, n2, n3
 *   masters      N `agora master --ha` children on HTTP 5050, 5060, 5070… and gRPC 5053, 5063,
 *                5073…, standing for election on the cluster's lease bucket (3 replicas; the
 *                offer log's stream too); each one restarted when it exits (up-children.ts)
 *   agent        in this process, on all 3 NATS nodes: it follows whichever master leads
 *   frameworks   `agora services` (8080, 8081) and `agora jobs` (4400, 4401) children, two HA
 *                replicas of each (up-ha-frameworks.ts), supervised likewise, given every
 *                master (`--master m1,m2,m3`) and reaching the leader through any that answers
 *                (a standby answers 307, or names the leader to the SDK over gRPC)
 *   client config  every master as its `master` (a list), so the agora command and the SDK
 *                find the leader while any master is up
 *
 * Every pid is recorded in the state folder as the single `agora up` records its servers, so a
 * start after a SIGKILL stops what the dead run left and takes its tasks back. Ctrl-C or
 * SIGTERM stops everything, last started first.
 */
import { startAgent } from '../agent/agent';
import { UsageError } from '../common/flags';
import { startNatsCluster, type NatsCluster } from '../common/nats-cluster';
import { redactUrl } from '../common/redis';
import { clientIdentity, type ClientIdentity } from '../common/security/client-config';
import { superviseChild, type SupervisedChild } from './up-children';
import { checkFrameworks, frameworkChildren, frameworkRole, type FrameworkSet } from './up-ha-frameworks';
import { masterHealth, waitForOneLeader, type MasterHealth } from './up-ha-health';
import { printAccess, printState, runUp, startLocalRedis, type Print, type Stoppable, type UpBase, type UpFlags } from './up-shared';
import type { ContainerizerChoice } from '../agent/config';

/** How many nodes the NATS cluster has, and so the replicas of the lease bucket and the offer log. */
export const NATS_NODES = 3;
const MAX_MASTERS = 5;
/** Each further master's ports are this much above the one before: 5050, 5060, 5070. */
const PORT_STEP = 10;

interface HaPlan extends UpBase {
  masters: number;
  containerizer: ContainerizerChoice;
  /** Children's output and the supervisors' notes. */
  log: (line: string) => void;
}

export async function upHa(flags: UpBase['flags'], print: Print, signal: Promise<string>): Promise<number> {
  const masters = checkHaFlags(flags);
  const log = (line: string) => { process.stderr.write(`${line}\n`); };
  return runUp(flags, print, signal, async (base, started) => {
    const plan: HaPlan = { ...base, masters, containerizer: flags.containerizer, log };
    const cluster = await startHaCluster(plan, started);
    return {
      ready: cluster.connected,
      // Master-1's address for the banner's links; every master for clients, so that master-1 down is no matter.
      masterAddr: cluster.masterAddr, masterList: cluster.masterList, servicesAddr: cluster.servicesAddr, jobsAddr: cluster.jobsAddr,
      banner: () => printHaBanner(print, cluster, plan),
    };
  });
}

/** The number of masters; refuses what a supervised restart could not honour. */
function checkHaFlags(flags: UpFlags): number {
  const masters = flags.masters ?? 1;
  if (!Number.isInteger(masters) || masters < 2 || masters > MAX_MASTERS) {
    throw new UsageError(`--masters must be 1 (one master in this process) or 2 to ${MAX_MASTERS} (HA), got ${masters}`);
  }
  for (const f of ['http-port', 'grpc-port', 'services-port', 'jobs-port'] as const) {
    if (flags[f] === 0) throw new UsageError(`--${f} 0 cannot be used with --masters: a restarted child must come back on the port the others know`);
  }
  return masters;
}

type HaCluster = Awaited<ReturnType<typeof startHaCluster>>;

async function startHaCluster(p: HaPlan, started: Stoppable[]) {
  const { flags, host, claim } = p;
  const redis = flags.redis ? { url: flags.redis, pid: undefined } : await startRegistryRedis(p, started);
  const nats = await startNats(p, started);
  const masters = await startMasters(p, nats.urls, redis.url, started);
  const health = await waitForOneLeader(masters.map((m) => m.addr), as(p, 'admin'));
  const agent = await startAgent({
    natsUrl: nats.urls.join(','), httpHost: host, httpPort: flags['agent-port'] ?? 5051, hostname: host,
    workDir: p.workDir, containerizer: p.containerizer, resources: flags.resources, security: p.security, identity: as(p, 'local-agent'),
  });
  started.push(agent);
  await agent.registered;
  const masterAddr = masters[0]!.addr;
  const masterList = masters.map((m) => m.addr).join(',');
  const frameworks: FrameworkSet = await frameworkChildren({
    host, masterList, redisUrl: redis.url, natsUrls: nats.urls, home: p.home, log: p.log,
    ports: { services: flags['services-port'] ?? 8080, jobs: flags['jobs-port'] ?? 4400 },
    onStart: (name, pid) => claim.recordServer(name, pid),
  }, started);
  const connected = checkFrameworks(frameworks, as(p, 'admin'));
  return {
    redis, nats, masters, health, agent, frameworks, connected, masterAddr, masterList,
    servicesAddr: frameworks.services[0]!.addr, jobsAddr: frameworks.jobs[0]!.addr,
  };
}

/**
 * The registry's and the frameworks' Redis: a primary and a replica under three Sentinels, as
 * the HA shape needs a Redis that outlives its primary; every writer gets the redis-sentinel://
 * URL and finds the primary through the Sentinels.
 */
async function startRegistryRedis(p: HaPlan, started: Stoppable[]): Promise<{ url: string; pid: number | undefined }> {
  return startLocalRedis(p, started, true);
}

/** The NATS cluster, its files in the state folder, each node's pid recorded. */
async function startNats(p: HaPlan, started: Stoppable[]): Promise<NatsCluster> {
  const base = p.flags['nats-port'];
  const nats = await startNatsCluster({
    nodes: NATS_NODES, name: 'agora-up', securityDir: p.home, dir: p.claim.paths.nats, detached: true,
    ...(base ? { clientPorts: Array.from({ length: NATS_NODES }, (_, i) => base + i) } : {}),
  });
  for (const n of nats.nodes) if (n.pid !== undefined) p.claim.recordServer(`nats-${n.name}`, n.pid);
  started.push(nats);
  return nats;
}

interface MasterChild {
  name: string;
  /** host:port of its HTTP API. */
  addr: string;
  grpcAddr: string;
  child: SupervisedChild;
}

/** The masters, as supervised children, started at once; stopped together. */
async function startMasters(p: HaPlan, natsUrls: readonly string[], redisUrl: string, started: Stoppable[]): Promise<MasterChild[]> {
  const httpBase = p.flags['http-port'] ?? 5050;
  const grpcBase = p.flags['grpc-port'] ?? 5053;
  const group: SupervisedChild[] = [];
  started.push({ stop: async () => { await Promise.all(group.map((c) => c.stop())); } });
  return Promise.all(Array.from({ length: p.masters }, async (_, i) => {
    const name = `master-${i + 1}`;
    const [http, grpc] = [httpBase + PORT_STEP * i, grpcBase + PORT_STEP * i];
    const child = await superviseChild({
      name,
      args: ['master', '--ha', '--ha-replicas', String(NATS_NODES), '--ha-id', name, '--nats', natsUrls.join(','),
        '--host', p.host, '--port', String(http), '--grpc-port', String(grpc), '--security-dir', p.home, '--principal', 'master'],
      // The Redis password stays out of the arguments anyone may read in `ps`.
      env: { AGORA_REDIS: redisUrl },
      ready: /^agora master \(HA\): HTTP on (\d+)/,
    }, { log: p.log, onStart: (pid) => p.claim.recordServer(name, pid) });
    group.push(child);
    return { name, addr: `${p.host}:${http}`, grpcAddr: `${p.host}:${grpc}`, child };
  }));
}

function as(p: Pick<HaPlan, 'boot'>, name: string): ClientIdentity {
  const id = clientIdentity({ user: name, path: p.boot.configPath });
  if (!id) throw new Error(`the client config ${p.boot.configPath} has no user ${name}`);
  return id;
}

/** Every process with its role, pid and addresses; the masters' roles as their /health says now. */
async function printHaBanner(print: Print, c: HaCluster, p: HaPlan): Promise<void> {
  const admin = as(p, 'admin');
  const health = await Promise.all(c.masters.map((m) => masterHealth(m.addr, admin)));
  print(`agora is up with ${c.masters.length} masters: NATS cluster of ${c.nats.nodes.length} (JetStream, lease and offer log with ${NATS_NODES} replicas), ` +
    `agent ${c.agent.agentId}, services and jobs`);
  c.masters.forEach((m, i) => print(`  ${m.name.padEnd(10)} ${describeMaster(health[i])}  https://${m.addr} (gRPC ${m.grpcAddr})`));
  for (const n of c.nats.nodes) print(`  nats-${n.name.padEnd(5)} pid ${n.pid}  ${n.url} (monitoring http://127.0.0.1:${n.monitorPort})`);
  print(`  redis      ${c.redis.pid !== undefined ? `primary pid ${c.redis.pid}, a replica and 3 Sentinels` : '(--redis)'}  ${redactUrl(c.redis.url)}`);
  print(`  agent      pid ${process.pid} (in agora up)  https://${p.host}:${c.agent.httpPort}, ${c.agent.containerizers[0]} containerizer`);
  const instances = [...c.frameworks.services, ...c.frameworks.jobs];
  const roles = await Promise.all(instances.map((f) => frameworkRole(f, admin)));
  instances.forEach((f, i) => print(`  ${f.name.padEnd(10)} ${roles[i] ? `${roles[i]!.padEnd(7)} ` : ''}pid ${f.child.pid()}  https://${f.addr} ` +
    `(${f.kind === 'jobs' ? 'REST APIs and UI' : 'REST API and UI'})`));
  print(`services https://${c.servicesAddr} (REST API and UI)`);
  print(`jobs https://${c.jobsAddr} (REST APIs and UI)`);
  print(`failover: kill -9 the leader's pid; a standby leads within its lease (3 s) and agora up starts the killed master again as a standby; ` +
    `each master's role: https://${c.masterAddr}/health (and the others'); a standby answers the API with 307 to the leader`);
  printState(print, c.redis.url, p);
  printAccess(print, { masterAddr: c.masterAddr, masterList: c.masterList, servicesAddr: c.servicesAddr, jobsAddr: c.jobsAddr, home: p.home, boot: p.boot });
}

function describeMaster(h: MasterHealth | undefined): string {
  if (!h) return 'not answering';
  return `${(h.role ?? '?').padEnd(7)} epoch ${h.epoch ?? '?'} pid ${h.pid ?? '?'}`;
}

