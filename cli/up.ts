/**
 * `agora up`: a whole local cluster in the foreground — a redis-server and a nats-server as
 * children, a master, one agent, the services framework and the jobs framework in this
 * process — until Ctrl-C or SIGTERM, when everything is stopped, last started first: the
 * frameworks let go of the master (their tasks stay until the agent goes), the agent kills its
 * tasks and removes their containers, the master closes its streams, nats-server and Redis
 * exit. With `--example` it also runs the example framework once. With `--masters N` it runs
 * the HA shape instead (up-ha.ts: a NATS cluster, N masters and the frameworks as children).
 *
 * Its state lives in a folder that outlasts it (`--state-dir`, by default `~/.agora/up`;
 * up-state.ts): Redis's append-only file holds the master's registry and both frameworks'
 * state (`--redis URL` puts them in that Redis instead), nats-server keeps its JetStream store,
 * the agent its checkpoints and sandboxes. Stopped, its apps and jobs come back at the next
 * start (their tasks launched again); killed — even with SIGKILL — its tasks keep running and
 * the next start takes them back. `--fresh` kills what an earlier run left and starts empty.
 *
 * Every door is locked, with nothing asked of the user: the first start makes the cluster's
 * CA, certificates, credentials, ACLs, client config and Redis password in `~/.agora` (or
 * `AGORA_HOME`), and later starts reuse them, so the `agora` command and the SDK find their
 * credentials there.
 */
import { clientIdentity, type ClientIdentity } from '../common/security/client-config';
import { join } from 'path';
import { startAgent } from '../agent/agent';
import type { ContainerizerChoice } from '../agent/config';
import { startNatsServer, type NatsServer } from '../common/nats-server';
import { startMaster } from '../master/server';
import { startServices } from '../frameworks/services/server';
import { startJobs } from '../frameworks/jobs/server';
import { parseUpFlags, printAccess, printState, runUp, startLocalRedis, type Print, type Stoppable, type UpBase } from './up-shared';
import { upHa } from './up-ha';

export async function up(argv: string[], print: Print, signal: Promise<string>): Promise<number> {
  const flags = parseUpFlags(argv);
  if (flags.masters !== undefined && flags.masters !== 1) return upHa(flags, print, signal);
  return runUp(flags, print, signal, async (base, started) => {
    const cluster = await startCluster({ ...base, containerizer: flags.containerizer }, started);
    return {
      // Subscribed before the banner, so that what it promises answers.
      ready: Promise.all([cluster.services.subscribed, cluster.jobs.subscribed]),
      masterAddr: cluster.masterAddr, servicesAddr: cluster.servicesAddr, jobsAddr: cluster.jobsAddr,
      banner: () => printBanner(print, cluster, base),
    };
  });
}

interface ClusterPlan extends UpBase {
  containerizer: ContainerizerChoice;
}

type Cluster = Awaited<ReturnType<typeof startCluster>>;

/**
 * Redis (unless `--redis` names one), nats-server, the master, the agent (registered), the
 * services and jobs frameworks, each in `started` as soon as it runs.
 */
async function startCluster(p: ClusterPlan, started: Stoppable[]) {
  const { flags, host, security, claim } = p;
  const as = (name: string): ClientIdentity => {
    const id = clientIdentity({ user: name, path: p.boot.configPath });
    if (!id) throw new Error(`the client config ${p.boot.configPath} has no user ${name}`);
    return id;
  };
  const redisUrl = flags.redis ?? (await startLocalRedis(p, started, flags['redis-sentinel'] ?? false)).url;
  const nats: NatsServer = await startNatsServer({ port: flags['nats-port'] || undefined, securityDir: p.home, storeDir: claim.paths.nats });
  claim.recordServer('nats', nats.pid);
  started.push(nats);
  const master = await startMaster({
    natsUrl: nats.url, host, httpPort: flags['http-port'] ?? 5050, grpcPort: flags['grpc-port'] ?? 5053, security, identity: as('master'), redisUrl,
  });
  started.push(master);
  const agent = await startAgent({
    natsUrl: nats.url, httpHost: host, httpPort: flags['agent-port'] ?? 5051, hostname: host,
    workDir: p.workDir, containerizer: p.containerizer, resources: flags.resources, security, identity: as('local-agent'),
  });
  started.push(agent);
  await agent.registered;
  const masterAddr = `${host}:${master.httpPort}`;
  const nearMaster = { master: masterAddr, grpcAddress: `${host}:${master.grpcPort}`, host, security, redisUrl };
  const services = await startLocal('services', startServices, { ...nearMaster, port: flags['services-port'] ?? 8080, identity: as('services'), role: 'services' });
  started.push(services);
  const jobs = await startLocal('jobs', startJobs, { ...nearMaster, port: flags['jobs-port'] ?? 4400, identity: as('jobs'), role: 'jobs' });
  started.push(jobs);
  return { nats, master, agent, services, jobs, redisUrl, masterAddr, servicesAddr: `${host}:${services.port}`, jobsAddr: `${host}:${jobs.port}` };
}

/** Where everything is, how to sign in, and what to try. */
function printBanner(print: Print, c: Cluster, p: Pick<ClusterPlan, 'flags' | 'host' | 'workDir' | 'home' | 'boot' | 'claim'>): void {
  const { host, home, boot } = p;
  const { masterAddr, servicesAddr, jobsAddr } = c;
  print(`agora is up: master https://${masterAddr} (gRPC ${host}:${c.master.grpcPort}), agent ${c.agent.agentId} ` +
    `(https ${host}:${c.agent.httpPort}, ${c.agent.containerizers[0]} containerizer), nats ${c.nats.url}`);
  print(`services https://${servicesAddr} (REST API and UI)`);
  print(`jobs https://${jobsAddr} (REST APIs and UI)`);
  print(`web UIs: master https://${masterAddr}/ui/ · services https://${servicesAddr}/ui/ · jobs https://${jobsAddr}/ui/`);
  print(`  (HTTPS with this cluster's own CA, ${join(home, 'tls', 'ca.crt')}: import it into the browser, or accept its warning once)`);
  printState(print, c.redisUrl, p);
  printAccess(print, { masterAddr, servicesAddr, jobsAddr, home, boot });
}

/** A framework on the cluster's master; a taken port says how to choose another. */
async function startLocal<O extends { host?: string; port: number }, H>(kind: 'services' | 'jobs', start: (o: O) => Promise<H>, o: O): Promise<H> {
  try {
    return await start(o);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    throw new Error(`the ${kind} framework cannot listen on ${o.host}:${o.port}: the port is taken; ` +
      `choose another with --${kind}-port N (0 picks a free one)`);
  }
}
