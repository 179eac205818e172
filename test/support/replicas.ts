/**
 * Framework replicas for the HA tests: real `agora services --ha` / `agora jobs --ha` processes
 * (dist/), on the test cluster's NATS, one Redis and the master, each on its own HTTP port, so a
 * test can SIGKILL one. Their log lines are kept, and a test waits on what they say or on what
 * their HTTP answers, never on time.
 */
import { spawn, type ChildProcess } from 'child_process';
import { freePort } from '../../common/nats-server';
import type { FrameworkView, MasterStateView } from '../../common/operator-types';
import { authHeaders } from '../../common/security/client-config';
import { AGORA_BIN } from './binary';
import { eventually, type TestCluster } from './cluster';
import { doorFetch } from './http';

export interface ReplicaProcess {
  kind: 'services' | 'jobs';
  port: number;
  /** host:port, as /v2/leader names it. */
  address: string;
  child: ChildProcess;
  /** Its log, line by line. */
  lines: string[];
  /** Resolves with its exit code. */
  exited: Promise<number | null>;
}

export interface ReplicaSetup {
  cluster: TestCluster;
  redisUrl: string;
  /** The lease (ms); short, so a SIGKILLed leader is replaced quickly. */
  leaseMs?: number;
}

export async function spawnReplica(kind: 'services' | 'jobs', s: ReplicaSetup, port?: number): Promise<ReplicaProcess> {
  const p = port ?? await freePort();
  const sec = s.cluster.security;
  const args = [AGORA_BIN, kind, '--ha', '--nats', s.cluster.nats.url, '--redis', s.redisUrl, '--lease-ms', String(s.leaseMs ?? 1500),
    '--master', s.cluster.masterAddr, '--host', '127.0.0.1', '--port', String(p),
    ...(sec ? ['--security-dir', sec.dir, '--principal', kind] : ['--insecure'])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AGORA_LOG: 'info' } });
  const lines: string[] = [];
  let partial = '';
  const take = (d: Buffer): void => {
    const text = partial + d.toString();
    const all = text.split('\n');
    partial = all.pop() ?? '';
    lines.push(...all);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { kind, port: p, address: `127.0.0.1:${p}`, child, lines, exited };
}

/** An HTTP call to a replica as the test admin (or with `headers`), its status, headers and JSON body. */
export async function call<T = unknown>(r: ReplicaProcess, method: string, path: string, body?: unknown, headers: Record<string, string> = {}):
  Promise<{ status: number; body: T; headers: Headers }> {
  const scheme = process.env.AGORA_CONFIG ? 'https' : 'http';
  const res = await doorFetch(`${scheme}://${r.address}${path}`, {
    method, headers: { 'content-type': 'application/json', ...authHeaders(), ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown;
  try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = text; }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** What a replica's GET /v2/leader says, or undefined when it does not answer (not listening, or no leader known). */
export async function leaderSaidBy(r: ReplicaProcess): Promise<string | undefined> {
  try {
    const a = await call<{ leader?: string }>(r, 'GET', '/v2/leader');
    return a.status === 200 ? a.body.leader : undefined;
  } catch {
    return undefined;
  }
}

/** Waits until every one of `live` names the same leader, one of them, and returns it. */
export async function agreedLeader(live: ReplicaProcess[]): Promise<ReplicaProcess> {
  let found: ReplicaProcess | undefined;
  await eventually('the replicas agree on a leader', async () => {
    const said = await Promise.all(live.map(leaderSaidBy));
    const first = said[0];
    found = first && said.every((s) => s === first) ? live.find((r) => r.address === first) : undefined;
    return found !== undefined;
  }, 1200);
  return found!;
}

/** The master's view of the framework named `name` and its tasks. */
export async function frameworkAtMaster(cluster: TestCluster, name: string): Promise<{ framework?: FrameworkView; tasks: MasterStateView['tasks'] }> {
  const state = await cluster.state();
  const framework = state.frameworks.find((f) => f.name === name);
  return { ...(framework ? { framework } : {}), tasks: state.tasks.filter((t) => t.frameworkId === framework?.id) };
}

export async function stopReplicas(replicas: ReplicaProcess[]): Promise<void> {
  for (const r of replicas) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGTERM');
    await r.exited;
  }
}
