/**
 * The chaos cluster: a 3-node NATS cluster with JetStream (common/nats-cluster.ts), one
 * redis-server with an append-only file (common/redis-server.ts), three `agora master --ha`
 * processes, process agents, and the services and jobs frameworks, every Agora process a child
 * of `node dist/cli/agora.js …` under a supervisor (supervisor.ts) that starts it again after
 * `restartDelayMs`, as an operator's init would.
 *
 * Every door is locked, as `agora up --masters 3` locks its cluster: the run's AGORA_HOME
 * (`<run dir>/home`) gets the CA, the host certificate, the credentials of the local principals,
 * the ACLs and the client config (common/security/bootstrap.ts), plus the frameworks' grant to
 * mount the start file's directory (`host_volumes`). The NATS nodes run the locked config with
 * authenticated routes, Redis a password (`redis.secret` there, handed to the masters and
 * frameworks in AGORA_REDIS, out of `ps`), and every process `--security-dir <home>` as its own
 * principal: `master`, `local-agent` (each agent), `services` and `jobs` (each with its own
 * role). This process speaks as the client config's `admin` over HTTPS (`door`: one pool of
 * kept-alive connections, so the health poll is not a TLS handshake each time), and so does the
 * load's SDK framework, which reads the same config.
 *
 * Each master's `/health` is polled every `healthPollMs`; a change (role, epoch, pid, leader) is
 * a `health` event in the history, and `leader()` is the newest epoch's leader.
 *
 * Which processes run is one list, `processSpecs()`: with `frameworkReplicas` (the default) two
 * `--ha` instances of each framework (services-2, jobs-2 beside services, jobs).
 *
 * With `dockerAgent` (the default) one more agent, `agent-docker`, runs Docker tasks on an engine
 * of the run's own (test/support/private-dockerd.ts, `--live-restore`), which the
 * `restart-docker` nemesis stops and starts. The agents say which they are in an `engine`
 * attribute (`process`, `docker`), so the load can place work on each. The start file's
 * directory is mounted into Docker tasks at the same path, so a task's start line is the same
 * wherever it runs.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import { startNatsCluster, type NatsCluster } from '../../common/nats-cluster';
import { freePort } from '../../common/nats-server';
import { startRedisServer, type RedisServer } from '../../common/redis-server';
import { CONTAINER_SANDBOX } from '../../agent/containerizer/docker-create';
import type { AclsJson } from '../../common/security/acl';
import { bootstrapSecurity, LOCAL_FRAMEWORK_ROLES, localAcls } from '../../common/security/bootstrap';
import { clientIdentity } from '../../common/security/client-config';
import { localRedisSecret } from '../../common/security/redis-secret';
import { doorClient, type DoorClient } from '../support/http';
import { startPrivateDockerd, type PrivateDockerd } from '../support/private-dockerd';
import type { History } from './history';
import { Supervised, type ProcessSpec } from './supervisor';

export interface ChaosClusterOptions {
  runDir: string;
  history: History;
  /** The masters' lease (default 1500 ms): short, so failovers are quick. */
  leaseMs?: number;
  /** How long the supervisor waits before starting an exited process again (default 1000 ms). */
  restartDelayMs?: number;
  agents?: number;
  /** Start the second services and jobs instances. */
  frameworkReplicas?: boolean;
  /** One more agent, for Docker tasks, on an engine of the run's own (default true). */
  dockerAgent?: boolean;
  healthPollMs?: number;
}

export interface Ports {
  masters: { http: number; grpc: number }[];
  agents: number[];
  /** The Docker agent's, with `dockerAgent`. */
  dockerAgent?: number;
  services: number[];
  jobs: number[];
}

export interface Health { status?: string; role?: string; epoch?: number | null; pid?: number; leader?: string | null }

export interface MasterSlot { name: string; http: number; grpc: number; proc: Supervised; health?: Health }

/**
 * The line a task's command starts with, appended to the start file: its id, its clock and
 * where it runs (`docker` when its sandbox is the one mounted into containers, else `process`;
 * not /.dockerenv, which a host that is itself a container has too). The clock has whole
 * seconds: busybox's `date` in the Docker tasks' image has no `%N`.
 */
export function startLine(startFile: string): string {
  const where = `$(test "$AGORA_SANDBOX" = ${CONTAINER_SANDBOX} && echo docker || echo process)`;
  return `echo "$AGORA_TASK_ID $(date +%s)000 ${where}" >> ${startFile}`;
}

/** The image Docker tasks of the load run (copied into the run's own engine). */
export const CHAOS_IMAGE = process.env.AGORA_TASK_IMAGE || 'agora/busybox:latest';

/** Every process of the cluster, in start order; the second instance of each framework only with `frameworkReplicas`. */
export function processSpecs(o: { ports: Ports; natsUrls: string; home: string; runDir: string; leaseMs: number; frameworkReplicas: boolean; dockerSocket?: string }): ProcessSpec[] {
  // Redis comes in AGORA_REDIS (its URL holds the password); each process is its own principal.
  const as = (principal: string) => ['--security-dir', o.home, '--principal', principal];
  const masters = o.ports.masters.map((p, i): ProcessSpec => ({
    name: `m${i + 1}`, kind: 'master', enabled: true,
    args: ['master', '--ha', '--nats', o.natsUrls, '--ha-replicas', '3', '--lease-ms', String(o.leaseMs), '--ha-id', `m${i + 1}`,
      '--host', '127.0.0.1', '--port', String(p.http), '--grpc-port', String(p.grpc), '--allocation-interval-ms', '200',
      '--framework-heartbeat-interval-ms', '500', ...as('master')],
  }));
  const agent = (name: string, port: number, engine: string[]): ProcessSpec => ({
    name, kind: 'agent', enabled: true,
    args: ['agent', '--nats', o.natsUrls, '--work-dir', join(o.runDir, name), '--host', '127.0.0.1', '--port', String(port), '--hostname', '127.0.0.1',
      '--resources', 'cpus:8;mem:8192;disk:8192;ports:[31000-31099]', '--process-user', '', ...as('local-agent'), ...engine],
  });
  const agents = o.ports.agents.map((port, i) => agent(`agent-${i + 1}`, port, ['--containerizer', 'process', '--attributes', 'engine:process']));
  if (o.dockerSocket && o.ports.dockerAgent) {
    agents.push(agent('agent-docker', o.ports.dockerAgent, ['--containerizer', 'docker', '--docker-socket', o.dockerSocket, '--attributes', 'engine:docker',
      '--default-image', CHAOS_IMAGE, '--docker-concurrency', '4', '--docker-probe-interval', '250ms', '--docker-probe-failures', '3']));
  }
  // Every master, so a framework finds the leader whichever of them is down.
  const master = o.ports.masters.map((m) => `127.0.0.1:${m.http}`).join(',');
  const framework = (kind: 'services' | 'jobs', port: number, i: number): ProcessSpec => {
    const name = i === 0 ? kind : `${kind}-${i + 1}`;
    const ha = o.frameworkReplicas ? ['--ha', '--nats', o.natsUrls, '--ha-replicas', '3', '--lease-ms', String(o.leaseMs), '--ha-id', name] : [];
    return {
      name, kind, enabled: i === 0 || o.frameworkReplicas,
      args: [kind, '--master', master, '--host', '127.0.0.1', '--port', String(port), '--failover-timeout-ms', '600000', '--role', kind, ...as(kind),
        ...ha, ...(kind === 'jobs' ? ['--keep-runs', '100000', '--retry-delay-ms', '500'] : [])],
    };
  };
  return [...masters, ...agents, ...o.ports.services.map((p, i) => framework('services', p, i)), ...o.ports.jobs.map((p, i) => framework('jobs', p, i))];
}

/**
 * The ACLs of the run's home: `agora up`'s (each framework registers with its own role, runs
 * tasks as the default user), and the services and jobs frameworks may mount `startsDir`, where
 * the load's Docker tasks write their start lines.
 */
export function chaosAcls(startsDir: string): AclsJson {
  const acls = localAcls(LOCAL_FRAMEWORK_ROLES);
  acls.host_volumes = [...(acls.host_volumes ?? []), { principals: { values: LOCAL_FRAMEWORK_ROLES.map((f) => f.principal) }, paths: { values: [startsDir] } }];
  return acls;
}

/** Polls `check` every 100 ms until it holds; rejects naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class ChaosCluster {
  readonly procs: Supervised[] = [];
  readonly masters: MasterSlot[] = [];
  readonly startFile: string;
  redis!: RedisServer;
  /** The Docker agent's engine, with `dockerAgent`. */
  engine: PrivateDockerd | undefined;
  private poller: ReturnType<typeof setInterval> | undefined;
  private polling = false;

  private constructor(readonly o: Required<Omit<ChaosClusterOptions, 'history'>> & { history: History }, readonly nats: NatsCluster,
    readonly redisPort: number, readonly ports: Ports, readonly door: DoorClient) {
    this.startFile = join(o.runDir, 'starts', 'starts.txt');
  }

  static async start(opts: ChaosClusterOptions): Promise<ChaosCluster> {
    const o = { leaseMs: 1500, restartDelayMs: 1000, agents: 2, frameworkReplicas: true, dockerAgent: true, healthPollMs: 200, ...opts };
    mkdirSync(join(o.runDir, 'logs'), { recursive: true });
    // Process tasks may run as another user: the way to the start file must let them write it.
    chmodSync(o.runDir, 0o755);
    const ports: Ports = { masters: [], agents: [], services: [], jobs: [] };
    for (let i = 0; i < 3; i++) ports.masters.push({ http: await freePort(), grpc: await freePort() });
    for (let i = 0; i < o.agents; i++) ports.agents.push(await freePort());
    if (o.dockerAgent) ports.dockerAgent = await freePort();
    for (let i = 0; i < 2; i++) ports.services.push(await freePort());
    for (let i = 0; i < 2; i++) ports.jobs.push(await freePort());
    const home = join(o.runDir, 'home');
    mkdirSync(home, { recursive: true });
    // The context names this run's doors: `AGORA_HOME=<run dir>/home agora agents` looks at it.
    const at = (port: number | undefined) => `127.0.0.1:${port}`;
    const boot = await bootstrapSecurity(home, {
      acls: chaosAcls(join(o.runDir, 'starts')),
      context: { master: ports.masters.map((m) => at(m.http)).join(','), services: at(ports.services[0]), jobs: at(ports.jobs[0]) },
    });
    const admin = clientIdentity({ user: 'admin', path: boot.configPath });
    if (!admin) throw new Error(`the client config ${boot.configPath} has no user admin`);
    const nats = await startNatsCluster({ nodes: 3, securityDir: home });
    const c = new ChaosCluster(o, nats, await freePort(), ports, doorClient(admin));
    mkdirSync(dirname(c.startFile), { mode: 0o755 });
    writeFileSync(c.startFile, '', { mode: 0o666 });
    chmodSync(c.startFile, 0o666);
    try {
      // Its directory is short: containerd's socket path lives under it.
      if (o.dockerAgent) c.engine = await startPrivateDockerd(join(mkdtempSync('/tmp/agc-'), 'e'), CHAOS_IMAGE);
      await c.startRedis();
      c.launch();
      c.poller = setInterval(() => void c.pollHealth(), o.healthPollMs);
      await c.waitSteady(60_000);
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  get natsUrls(): string { return this.nats.urls.join(','); }
  get redisDir(): string { return join(this.o.runDir, 'redis'); }
  /** The run's AGORA_HOME: its security folder and client config. */
  get home(): string { return join(this.o.runDir, 'home'); }

  /** Redis on its port and dir, locked with the home's `redis.secret` (the same password at every restart). */
  async startRedis(): Promise<void> {
    this.redis = await startRedisServer({ port: this.redisPort, dir: this.redisDir, password: localRedisSecret(this.home) });
  }

  private launch(): void {
    const env: NodeJS.ProcessEnv = { ...process.env, AGORA_HOME: this.home, AGORA_REDIS: this.redis.url, AGORA_LOG: process.env.AGORA_LOG ?? 'info' };
    for (const v of ['AGORA_CONFIG', 'AGORA_MASTER', 'AGORA_USER']) delete env[v];
    const specs = processSpecs({
      ports: this.ports, natsUrls: this.natsUrls, home: this.home, runDir: this.o.runDir, leaseMs: this.o.leaseMs,
      frameworkReplicas: this.o.frameworkReplicas, ...(this.engine ? { dockerSocket: this.engine.socket } : {}),
    });
    for (const spec of specs.filter((s) => s.enabled)) {
      const p = new Supervised(spec, { logDir: join(this.o.runDir, 'logs'), env, history: this.o.history, restartDelayMs: this.o.restartDelayMs });
      this.procs.push(p);
      const m = /^m(\d)$/.exec(spec.name);
      if (m) this.masters.push({ name: spec.name, ...this.ports.masters[Number(m[1]) - 1]!, proc: p });
      p.start();
    }
  }

  proc(name: string): Supervised {
    const p = this.procs.find((x) => x.spec.name === name);
    if (!p) throw new Error(`no process ${name}`);
    return p;
  }

  ofKind(kind: ProcessSpec['kind']): Supervised[] {
    return this.procs.filter((p) => p.spec.kind === kind);
  }

  /** GET `path` of the process on 127.0.0.1:`port` as the admin: its JSON, or undefined when it does not answer 2xx. */
  async getJson<T>(port: number, path: string, timeoutMs = 1000): Promise<T | undefined> {
    try {
      const res = await this.door.fetch(this.door.url(`127.0.0.1:${port}`, path), { signal: AbortSignal.timeout(timeoutMs) });
      // Read to its end either way: a body left unread holds its kept-alive connection.
      const text = await res.text();
      return res.ok ? JSON.parse(text) as T : undefined;
    } catch {
      return undefined;   // not listening (yet, or any more), stopped, or not JSON
    }
  }

  /** Every master's /health, a `health` event for each that changed. */
  async pollHealth(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      await Promise.all(this.masters.map(async (m) => {
        const h = m.proc.running() ? await this.getJson<Health>(m.http, '/health', 500) : undefined;
        const key = (x?: Health) => JSON.stringify([x?.pid, x?.role, x?.epoch, x?.leader]);
        if (key(h) === key(m.health)) return;
        m.health = h;
        // Not answering (stopped, frozen, gone) is recorded too: a leader's state ends there.
        this.o.history.add(h
          ? { type: 'health', observer: m.name, pid: h.pid, role: h.role, epoch: h.epoch ?? null, leader: h.leader ?? null }
          : { type: 'health', observer: m.name, epoch: null });
      }));
    } finally {
      this.polling = false;
    }
  }

  /** The master whose /health says it leads, in the newest epoch if two say so. */
  leader(): MasterSlot | undefined {
    const leading = this.masters.filter((m) => m.proc.running() && m.health?.role === 'leader');
    return leading.sort((a, b) => (b.health?.epoch ?? 0) - (a.health?.epoch ?? 0))[0];
  }

  /** The newest epoch any master reports. */
  epoch(): number {
    return Math.max(0, ...this.masters.map((m) => m.health?.epoch ?? 0));
  }

  /** Every agent the leader knows is active (registered, reachable) and not degraded (its engine answers). */
  async agentsRegistered(): Promise<boolean> {
    const l = this.leader();
    if (!l) return false;
    const state = await this.getJson<{ agents: { status: string; degradedReason?: string }[] }>(l.http, '/api/v1/state', 2000);
    return (state?.agents ?? []).filter((a) => a.status === 'ACTIVE' && !a.degradedReason).length >= this.ofKind('agent').length;
  }

  async frameworksAnswer(): Promise<boolean> {
    const urls = [this.ports.services[0]!, this.ports.jobs[0]!].map((p) => this.door.url(`127.0.0.1:${p}`, '/ping'));
    const answers = await Promise.all(urls.map(async (u) => {
      try {
        const res = await this.door.fetch(u, { signal: AbortSignal.timeout(1000) });
        await res.text();
        return res.ok;
      } catch { return false; }
    }));
    return answers.every(Boolean);
  }

  /** Steady: every process runs, every NATS node too, a master leads, the agents are registered with it, the frameworks answer. */
  async waitSteady(timeoutMs: number): Promise<void> {
    await waitUntil('every process runs', () => this.procs.every((p) => p.running()) && this.nats.nodes.every((n) => n.running()), timeoutMs);
    await waitUntil('a master leads', () => this.leader() !== undefined, timeoutMs);
    // A master that runs but does not answer (a deposed one that never exits) is not steady.
    await waitUntil('every master answers /health', () => this.masters.every((m) => m.health !== undefined), timeoutMs);
    await waitUntil('the agents are registered', () => this.agentsRegistered(), timeoutMs);
    await waitUntil('the frameworks answer', () => this.frameworksAnswer(), timeoutMs);
  }

  async stop(): Promise<void> {
    if (this.poller) clearInterval(this.poller);
    // Frameworks and agents first, then the masters, then what they stand on.
    const order: ProcessSpec['kind'][] = ['services', 'jobs', 'agent', 'master'];
    for (const kind of order) await Promise.all(this.ofKind(kind).map((p) => p.stop()));
    await this.redis?.stop();
    await this.nats.stop();
    await this.door.close();
    if (this.engine) {
      await this.engine.stop();
      rmSync(dirname(dirname(this.engine.socket)), { recursive: true, force: true });
    }
  }
}
