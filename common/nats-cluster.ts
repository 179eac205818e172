/**
 * A real cluster of `nats-server`s on 127.0.0.1 with JetStream clustered (Raft): for the
 * tests and benches of what must survive a NATS node going away (leader election), and for
 * the HA shape of `agora up`. Each node has its own client port, route (cluster) port,
 * monitoring port, `server_name` and store folder; every node lists every route, so any two
 * running nodes find each other.
 *
 * A node can be stopped (SIGTERM), killed (SIGKILL) and restarted with the same ports and
 * store, so it rejoins with what it had written. `ready()` waits until every running node
 * routes to every other running one and they agree on a JetStream meta leader: before that a
 * replicated stream cannot be created. It asks each node's monitoring endpoint (`/routez`,
 * `/jsz`), which needs no credentials, so it works the same on open and locked clusters.
 *
 * With `dir` the nodes keep their files (config, accounts, JetStream store) in `dir/<name>/` and
 * `stop()` leaves them there, so a cluster started again on the same folder has what it had
 * written (`agora up --masters 3`); without, a temp folder removed on stop.
 *
 * With `securityDir` every node runs the locked cluster's config (common/security/nats-auth.ts:
 * the operator, accounts and TLS for clients) and its routes authenticate with the cluster's
 * route credentials (`nats/routes.json`, made on first use).
 */
import type { ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { get } from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePort, spawnNatsServer, stopChild } from './nats-server';
import { natsServerConfig, routeCredentials } from './security/nats-auth';

export interface NatsClusterNode {
  /** Its `server_name`, `n1`, `n2`…: what JetStream's meta group and `/jsz` call it. */
  readonly name: string;
  readonly url: string;
  readonly port: number;
  readonly clusterPort: number;
  readonly monitorPort: number;
  running(): boolean;
  /** Its process id while running (it changes with `restart`). */
  readonly pid: number | undefined;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL: the node vanishes with whatever it had not written to disk. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and store; resolves once it listens (use `ready()` for the cluster). */
  restart(): Promise<void>;
}

export interface NatsCluster {
  /** Its `cluster { name }`. */
  readonly name: string;
  readonly nodes: readonly NatsClusterNode[];
  /** Every node's client URL: give a client all of them, and it reconnects to another. */
  readonly urls: readonly string[];
  /** Resolves when the running nodes route to each other and share a meta leader; rejects after `attempts` tries (100 ms apart). */
  ready(attempts?: number): Promise<void>;
  /** Stops every node and removes their stores (unless kept in `dir`). */
  stop(): Promise<void>;
}

export class NatsClusterError extends Error {
  override readonly name = 'NatsClusterError';
}

export interface NatsClusterOptions {
  /** How many nodes (default 3; JetStream needs a majority of them up). */
  nodes?: number;
  /** The cluster's name, in every node's `cluster { name }` (default `agora-` and random hex). */
  name?: string;
  bin?: string;
  /** A locked cluster's security folder: operator, accounts, client TLS, route credentials. */
  securityDir?: string;
  /** A folder of the cluster's own, kept on stop (default: a temp folder, removed). */
  dir?: string;
  /** The nodes' client ports, one each (default: free ports); route and monitoring ports are free ones. */
  clientPorts?: readonly number[];
  /**
   * Each node in a process group of its own: a terminal's Ctrl-C reaches only the process that
   * started the cluster, which stops what uses the cluster before the cluster (`agora up`).
   */
  detached?: boolean;
}

interface Ports {
  name: string;
  port: number;
  clusterPort: number;
  monitorPort: number;
}

/** One node's config file: its ports and store, every route, and the locked cluster's parts if any. */
export function clusterNodeConfig(o: { cluster: string; node: Ports; all: readonly Ports[]; dir: string; securityDir?: string }): string {
  const quote = (s: string) => JSON.stringify(s);
  const storeDir = join(o.dir, 'js');
  const auth = o.securityDir ? routeCredentials(o.securityDir) : undefined;
  const routeUser = auth ? `${auth.user}:${auth.password}@` : '';
  const routes = o.all.map((n) => `nats-route://${routeUser}127.0.0.1:${n.clusterPort}`);
  const base = o.securityDir
    ? natsServerConfig({ securityDir: o.securityDir, host: '127.0.0.1', port: o.node.port, resolverDir: join(o.dir, 'accounts'), storeDir })
    : `listen: ${quote(`127.0.0.1:${o.node.port}`)}\njetstream { store_dir: ${quote(storeDir)} }\n`;
  return [
    base.trimEnd(),
    `server_name: ${o.node.name}`,
    `http: ${quote(`127.0.0.1:${o.node.monitorPort}`)}`,
    'cluster {',
    `  name: ${o.cluster}`,
    `  listen: ${quote(`127.0.0.1:${o.node.clusterPort}`)}`,
    ...(auth ? [`  authorization { user: ${quote(auth.user)}, password: ${quote(auth.password)}, timeout: 2 }`] : []),
    `  routes: [${routes.map(quote).join(', ')}]`,
    '}',
    '',
  ].join('\n');
}

/** Tries with fresh ports when one was taken between choosing it and binding it (other suites run beside). */
const START_ATTEMPTS = 3;

export async function startNatsCluster(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
  const count = opts.nodes ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new NatsClusterError(`a NATS cluster has 1 to 9 nodes, not ${count}`);
  // A name of its own: nats-server refuses routes between clusters of different names, so two
  // clusters on one host never merge, even if one node comes up on a port the other's routes name.
  const cluster = opts.name ?? `agora-${randomBytes(4).toString('hex')}`;
  if (!/^[A-Za-z0-9_-]+$/.test(cluster)) throw new NatsClusterError(`cluster name '${cluster}' must be letters, digits, '_' and '-'`);
  if (opts.clientPorts && opts.clientPorts.length !== count) throw new NatsClusterError(`${count} nodes need ${count} client ports, not ${opts.clientPorts.length}`);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(cluster, count, opts);
    } catch (err) {
      if (attempt >= START_ATTEMPTS || !/address already in use/.test((err as Error).message)) throw err;
    }
  }
}

/** `count` distinct ports that were free a moment ago. */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let i = 0; ports.size < count && i < count * 10; i++) ports.add(await freePort());
  if (ports.size < count) throw new NatsClusterError(`could not find ${count} free ports`);
  return [...ports];
}

async function startOnce(cluster: string, count: number, opts: NatsClusterOptions): Promise<NatsCluster> {
  const root = opts.dir ?? mkdtempSync(join(tmpdir(), 'agora-nats-cluster-'));
  const free = await freePorts(3 * count);
  const all: Ports[] = Array.from({ length: count }, (_, i) => ({
    name: `n${i + 1}`, port: opts.clientPorts?.[i] ?? free[3 * i] as number, clusterPort: free[3 * i + 1] as number, monitorPort: free[3 * i + 2] as number,
  }));
  const nodes = all.map((ports) => {
    const dir = join(root, ports.name);
    mkdirSync(join(dir, 'accounts'), { recursive: true, mode: 0o700 });
    const conf = join(dir, 'nats-server.conf');
    writeFileSync(conf, clusterNodeConfig({ cluster, node: ports, all, dir, securityDir: opts.securityDir }), { mode: 0o600 });
    return clusterNode(ports, conf, opts.bin, opts.detached === true);
  });
  const handle: NatsCluster = {
    name: cluster,
    nodes,
    urls: nodes.map((n) => n.url),
    ready: (attempts) => waitReady(nodes, attempts),
    stop: async () => {
      await Promise.all(nodes.map((n) => n.stop()));
      if (!opts.dir) rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all(nodes.map((n) => n.restart()));
    await handle.ready();
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}

function clusterNode(ports: Ports, conf: string, bin: string | undefined, detached: boolean): NatsClusterNode {
  let child: ChildProcess | undefined;
  const exited = (c: ChildProcess) => c.exitCode !== null || c.signalCode !== null;
  return {
    ...ports,
    url: `nats://127.0.0.1:${ports.port}`,
    running: () => child !== undefined && !exited(child),
    get pid() { return child && !exited(child) ? child.pid : undefined; },
    stop: async () => { if (child) await stopChild(child); },
    kill: async () => {
      const c = child;
      if (!c || exited(c)) return;
      await new Promise<void>((resolve) => { c.once('exit', () => resolve()); c.kill('SIGKILL'); });
    },
    restart: async () => {
      if (child && !exited(child)) throw new NatsClusterError(`node ${ports.name} is running: stop or kill it before restarting it`);
      child = await spawnNatsServer(bin, ['-c', conf], ports.port, { detached });
    },
  };
}

/** What one node's monitoring endpoint says about its routes and the meta group. */
interface NodeView {
  routes: number;
  metaLeader: string;
  /** The meta group's other peers this node knows as current (the leader's view counts). */
  currentPeers: number;
}

async function view(node: NatsClusterNode): Promise<NodeView | undefined> {
  const [routez, jsz] = await Promise.all([monitor(node.monitorPort, '/routez'), monitor(node.monitorPort, '/jsz')]);
  if (!routez || !jsz) return undefined;
  const routes = typeof routez.num_routes === 'number' ? routez.num_routes : 0;
  const meta = jsz.meta_cluster as { leader?: unknown; replicas?: { current?: unknown }[] } | undefined;
  const currentPeers = Array.isArray(meta?.replicas) ? meta.replicas.filter((r) => r.current === true).length : 0;
  return { routes, metaLeader: typeof meta?.leader === 'string' ? meta.leader : '', currentPeers };
}

/**
 * The running nodes are ready when each routes to all the others, all name the same, running,
 * meta leader, and that leader knows every other running node as a current peer: before that, a
 * replicated stream made at once may fail ("error creating store for stream").
 */
async function waitReady(nodes: readonly NatsClusterNode[], attempts = 300): Promise<void> {
  let last = 'no node answered';
  for (let i = 0; i < attempts; i++) {
    const up = nodes.filter((n) => n.running());
    if (up.length === 0) throw new NatsClusterError('no node of the cluster is running');
    const views = await Promise.all(up.map(view));
    const leaders = new Set(views.map((v) => v?.metaLeader));
    const [leader] = [...leaders];
    const routed = views.every((v) => v !== undefined && v.routes >= up.length - 1);
    const leaderView = views[up.findIndex((n) => n.name === leader)];
    if (routed && leaders.size === 1 && leaderView && leaderView.currentPeers >= up.length - 1) return;
    last = up.map((n, k) => `${n.name}: ${views[k] ? `${views[k].routes} routes, meta leader '${views[k].metaLeader}', ${views[k].currentPeers} current peers` : 'no answer'}`).join('; ');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new NatsClusterError(`the NATS cluster did not form in ${attempts} tries: ${last}`);
}

/** GET a monitoring endpoint's JSON; undefined if the node does not answer (yet). */
function monitor(port: number, path: string): Promise<Record<string, unknown> | undefined> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path, timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as Record<string, unknown>);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}
