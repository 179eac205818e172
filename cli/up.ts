/**
 * `agora up`: a whole local cluster in the foreground — a redis-server and a nats-server as
 * children, a master, one agent, the services framework and the jobs framework in this
 * process — until Ctrl-C or SIGTERM, when everything is stopped, last started first: the
 * frameworks let go of the master (their tasks stay until the agent goes), the agent kills its
 * tasks and removes their containers, the master closes its streams, nats-server and Redis
 * exit. With `--example` it also runs the example framework once.
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
import { logger } from '../common/log';
import { bootstrapSecurity, type Bootstrapped } from '../common/security/bootstrap';
import { agoraHome, clientIdentity, type ClientIdentity } from '../common/security/client-config';
import { openServerSecurity, type ServerSecurity } from '../common/security/security-dir';
import { mkdirSync } from 'fs';
import { join } from 'path';
import { startAgent } from '../agent/agent';
import type { ContainerizerChoice } from '../agent/config';
import { startNatsServer, type NatsServer } from '../common/nats-server';
import { startMaster } from '../master/server';
import { startServices } from '../frameworks/services/server';
import { startJobs } from '../frameworks/jobs/server';
import type { StateClaim } from './up-state';
import { claimState, parseUpFlags, printAccess, printState, runExample, startedStack, startLocalRedis, type Print, type Stoppable, type UpFlags } from './up-shared';
import { upHa } from './up-ha';

export async function up(argv: string[], print: Print, signal: Promise<string>): Promise<number> {
  const flags = parseUpFlags(argv);
  if (flags.masters !== undefined && flags.masters !== 1) return upHa(flags, print, signal);
  const host = flags.host ?? '127.0.0.1';
  const claim = await claimState(flags, print);
  const workDir = flags['work-dir'] ?? claim.paths.agent;
  mkdirSync(workDir, { recursive: true, mode: 0o700 });

  const home = agoraHome();
  const boot = await bootstrapSecurity(home);
  const security = openServerSecurity(home, logger('up'));
  // Let go of the state folder last, once every server in it has stopped.
  const { started, stopAll, shutdown } = startedStack(print, [{ stop: async () => claim.release() }, { stop: async () => security.close() }]);
  try {
    const cluster = await startCluster({ flags, host, workDir, containerizer: flags.containerizer, home, security, boot, claim }, started);
    // Subscribed before the banner, so that what it promises answers; a signal meanwhile still stops it all.
    const early = await Promise.race([Promise.all([cluster.services.subscribed, cluster.jobs.subscribed]).then(() => undefined), signal]);
    if (early !== undefined) return await shutdown(early);
    // The addresses bound (a port of 0 picks one), so every client finds this cluster.
    await bootstrapSecurity(home, { context: { master: cluster.masterAddr, services: cluster.servicesAddr, jobs: cluster.jobsAddr } });
    printBanner(print, cluster, { flags, host, workDir, home, boot, claim });
    if (flags.example) {
      const why = await runExample(flags.tasks ?? 3, cluster.masterAddr, print, signal);
      if (why !== undefined) return await shutdown(why);
    }
    print('serving; press Ctrl-C to stop');
    return await shutdown(await signal);
  } catch (err) {
    await stopAll();
    throw err;
  }
}

interface ClusterPlan {
  flags: UpFlags;
  host: string;
  workDir: string;
  containerizer: ContainerizerChoice;
  home: string;
  security: ServerSecurity;
  boot: Bootstrapped;
  claim: StateClaim;
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
  const redisUrl = flags.redis ?? (await startLocalRedis(p, started)).url;
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
