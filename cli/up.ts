/**
 * `agora up`: a whole local cluster in the foreground — a nats-server child on its own port,
 * a master, one agent, the services framework and the jobs framework in this process — until
 * Ctrl-C or SIGTERM, when everything is stopped, last started first: the frameworks let go of
 * the master (their tasks stay until the agent goes), the agent kills its tasks and removes
 * their containers, the master closes its streams, nats-server exits. With `--example` it
 * also runs the example framework once.
 *
 * Every door is locked, with nothing asked of the user: the first start makes the cluster's
 * CA, certificates, credentials, ACLs and client config in `~/.agora` (or `AGORA_HOME`), and
 * later starts reuse them, so the `agora` command and the SDK find their credentials there.
 */
import { logger } from '../common/log';
import { bootstrapSecurity, type Bootstrapped } from '../common/security/bootstrap';
import { agoraHome, clientIdentity, type ClientIdentity } from '../common/security/client-config';
import { openServerSecurity, type ServerSecurity } from '../common/security/security-dir';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startAgent } from '../agent/agent';
import type { ContainerizerChoice } from '../agent/config';
import { startNatsServer, type NatsServer } from '../common/nats-server';
import { runNTasks } from '../frameworks/examples/run-n-tasks';
import { startMaster } from '../master/server';
import { startServices } from '../frameworks/services/server';
import { startJobs } from '../frameworks/jobs/server';
import { parseArgs, type Parsed } from '../common/flags';

type Stoppable = { stop(): Promise<void> };

const UP_FLAGS = {
  example: 'boolean', tasks: 'number', containerizer: 'string', host: 'string',
  'http-port': 'number', 'grpc-port': 'number', 'agent-port': 'number', 'nats-port': 'number',
  'work-dir': 'string', resources: 'string', 'services-port': 'number', 'jobs-port': 'number', redis: 'string',
} as const;
type UpFlags = Parsed<typeof UP_FLAGS>['flags'];

export async function up(argv: string[], print: (line: string) => void, signal: Promise<string>): Promise<number> {
  const { flags } = parseArgs(argv, UP_FLAGS);
  const containerizer = flags.containerizer ?? 'auto';
  if (!['auto', 'docker', 'process'].includes(containerizer)) {
    throw new Error(`--containerizer must be auto, docker or process, got '${containerizer}'`);
  }
  const host = flags.host ?? '127.0.0.1';
  // A work dir of our own making goes with the cluster; one the user named stays.
  const workDir = flags['work-dir'] ?? mkdtempSync(join(tmpdir(), 'agora-up-'));
  mkdirSync(workDir, { recursive: true });
  // Process tasks run as nobody: the way down to their sandboxes must let them through.
  if (!flags['work-dir']) chmodSync(workDir, 0o711);

  const home = agoraHome();
  const boot = await bootstrapSecurity(home);
  const security = openServerSecurity(home, logger('up'));
  const started: Stoppable[] = [{ stop: async () => security.close() }];
  const stopAll = async () => {
    for (const s of started.reverse()) await s.stop().catch((err: Error) => print(`stop failed: ${err.message}`));
    if (!flags['work-dir']) rmSync(workDir, { recursive: true, force: true });
  };
  const shutdown = async (why: string): Promise<number> => {
    print(`${why}: stopping the cluster`);
    await stopAll();
    print('stopped');
    return 0;
  };
  try {
    const cluster = await startCluster({ flags, host, workDir, containerizer: containerizer as ContainerizerChoice, home, security, boot }, started);
    // Subscribed before the banner, so that what it promises answers; a signal meanwhile still stops it all.
    const early = await Promise.race([Promise.all([cluster.services.subscribed, cluster.jobs.subscribed]).then(() => undefined), signal]);
    if (early !== undefined) return await shutdown(early);
    // The addresses bound (a port of 0 picks one), so every client finds this cluster.
    await bootstrapSecurity(home, { context: { master: cluster.masterAddr, services: cluster.servicesAddr, jobs: cluster.jobsAddr } });
    printBanner(print, cluster, { flags, host, workDir, home, boot });
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
}

type Cluster = Awaited<ReturnType<typeof startCluster>>;

/** nats-server, the master, the agent (registered), the services and jobs frameworks, each in `started` as soon as it runs. */
async function startCluster(p: ClusterPlan, started: Stoppable[]) {
  const { flags, host, security } = p;
  const as = (name: string): ClientIdentity => {
    const id = clientIdentity({ user: name, path: p.boot.configPath });
    if (!id) throw new Error(`the client config ${p.boot.configPath} has no user ${name}`);
    return id;
  };
  const nats: NatsServer = await startNatsServer({ port: flags['nats-port'] || undefined, securityDir: p.home });
  started.push(nats);
  const master = await startMaster({
    natsUrl: nats.url, host, httpPort: flags['http-port'] ?? 5050, grpcPort: flags['grpc-port'] ?? 5053, security, identity: as('master'),
  });
  started.push(master);
  const agent = await startAgent({
    natsUrl: nats.url, httpHost: host, httpPort: flags['agent-port'] ?? 5051, hostname: host,
    workDir: p.workDir, containerizer: p.containerizer, resources: flags.resources, security, identity: as('local-agent'),
  });
  started.push(agent);
  await agent.registered;
  const masterAddr = `${host}:${master.httpPort}`;
  const nearMaster = { master: masterAddr, grpcAddress: `${host}:${master.grpcPort}`, host, security, ...(flags.redis ? { redisUrl: flags.redis } : {}) };
  const services = await startLocal('services', startServices, { ...nearMaster, port: flags['services-port'] ?? 8080, identity: as('services'), role: 'services' });
  started.push(services);
  const jobs = await startLocal('jobs', startJobs, { ...nearMaster, port: flags['jobs-port'] ?? 4400, identity: as('jobs'), role: 'jobs' });
  started.push(jobs);
  return { nats, master, agent, services, jobs, masterAddr, servicesAddr: `${host}:${services.port}`, jobsAddr: `${host}:${jobs.port}` };
}

/** Where everything is, how to sign in, and what to try. */
function printBanner(print: (line: string) => void, c: Cluster, p: Pick<ClusterPlan, 'flags' | 'host' | 'workDir' | 'home' | 'boot'>): void {
  const { flags, host, home, boot } = p;
  const { masterAddr, servicesAddr, jobsAddr } = c;
  print(`agora is up: master https://${masterAddr} (gRPC ${host}:${c.master.grpcPort}), agent ${c.agent.agentId} ` +
    `(https ${host}:${c.agent.httpPort}, ${c.agent.containerizers[0]} containerizer), nats ${c.nats.url}`);
  print(`services https://${servicesAddr} (REST API and UI), state ${flags.redis ? 'in Redis' : 'in memory (lost on stop)'}`);
  print(`jobs https://${jobsAddr} (REST APIs and UI), state ${flags.redis ? 'in Redis' : 'in memory (lost on stop)'}`);
  print(`web UIs: master https://${masterAddr}/ui/ · services https://${servicesAddr}/ui/ · jobs https://${jobsAddr}/ui/`);
  print(`  (HTTPS with this cluster's own CA, ${join(home, 'tls', 'ca.crt')}: import it into the browser, or accept its warning once)`);
  print(`task sandboxes in ${p.workDir}${flags['work-dir'] ? '' : ' (removed on stop)'}`);
  const admin = boot.users.admin!;
  print(`every door needs credentials; ${boot.created ? 'made' : 'kept'} in ${home} (the agora command and the SDK read ${boot.configPath})`);
  print(`sign in to the web UIs as ${admin.principal}, secret ${admin.secret}, or open ` +
    `https://${masterAddr}/login#principal=${admin.principal}&secret=${admin.secret}`);
  print(`try: AGORA_MASTER=${masterAddr} agora agents | agora tasks | agora offers --follow | agora execute -- echo hi`);
  print(`     AGORA_SERVICES=${servicesAddr} agora app add app.json --wait | agora app list | agora deployments`);
  print(`     AGORA_JOBS=${jobsAddr} agora job add job.json | agora job run <id> --wait | agora job list | agora job history <id>`);
}

/** `--example`: the example framework runs `n` tasks once; the stop signal's reason if one came first. */
async function runExample(n: number, masterAddr: string, print: (line: string) => void, signal: Promise<string>): Promise<string | undefined> {
  print(`running the example framework: ${n} tasks`);
  const final = await Promise.race([runNTasks(n, { master: masterAddr, print: (l) => print(`  ${l}`) }), signal]);
  if (typeof final === 'string') return final;
  const ok = [...final.values()].every((s) => s === 'TASK_FINISHED');
  print(ok ? `example: all ${n} tasks finished` : `example: tasks ended ${[...final.values()].join(', ')}`);
  return undefined;
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
