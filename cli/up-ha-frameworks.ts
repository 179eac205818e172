/**
 * The services and jobs frameworks of `agora up --masters N`, as supervised children
 * (`agora services`, `agora jobs`) on 8080 and 4400. Each is given master-1's address and finds
 * the leader through it (a standby answers 307 over HTTP, and names the leader to the SDK over
 * gRPC, which the SDK follows when the leader it had goes away).
 *
 * FRAMEWORK_REPLICAS is the one switch for more instances of each: with 2, a second instance
 * runs on the next port (8081, 4401) and every instance is started with
 * `--ha --nats <all NATS URLs> --ha-replicas 3`. Those flags belong to frameworks that stand for
 * election among themselves; an `agora services` or `agora jobs` that does not take them
 * refuses the unknown flag at once, and `agora up` stops, naming the child and its words.
 */
import type { ClientIdentity } from '../common/security/client-config';
import { superviseChild, type SupervisedChild } from './up-children';
import { waitUntil } from './up-ha-health';
import type { Stoppable } from './up-shared';

/** Instances of each framework (see above): 1 until `agora services` and `agora jobs` take `--ha`. */
export const FRAMEWORK_REPLICAS: number = 1;

export type FrameworkKind = 'services' | 'jobs';

export interface FrameworkChild {
  kind: FrameworkKind;
  /** 'services', 'services-2'… */
  name: string;
  addr: string;
  child: SupervisedChild;
}

export type FrameworkSet = Record<FrameworkKind, FrameworkChild[]>;

export interface FrameworkPlan {
  host: string;
  masterAddr: string;
  redisUrl: string;
  natsUrls: readonly string[];
  home: string;
  ports: Record<FrameworkKind, number>;
  log: (line: string) => void;
  onStart: (name: string, pid: number) => void;
  /** Default FRAMEWORK_REPLICAS. */
  replicas?: number;
}

/** The arguments of instance `i` (from 0) of `kind`. */
export function frameworkArgs(kind: FrameworkKind, i: number, p: FrameworkPlan): string[] {
  const replicas = p.replicas ?? FRAMEWORK_REPLICAS;
  return [
    kind, '--master', p.masterAddr, '--host', p.host, '--port', String(p.ports[kind] + i), '--role', kind,
    '--security-dir', p.home, '--principal', kind,
    ...(replicas > 1 ? ['--ha', '--nats', p.natsUrls.join(','), '--ha-replicas', String(p.natsUrls.length)] : []),
  ];
}

/** Both frameworks' instances, started in turn, each kind stopped as a group. */
export async function frameworkChildren(p: FrameworkPlan, started: Stoppable[]): Promise<FrameworkSet> {
  const replicas = p.replicas ?? FRAMEWORK_REPLICAS;
  const set: FrameworkSet = { services: [], jobs: [] };
  for (const kind of ['services', 'jobs'] as const) {
    started.push({ stop: async () => { await Promise.all(set[kind].map((f) => f.child.stop())); } });
    for (let i = 0; i < replicas; i++) {
      const name = i === 0 ? kind : `${kind}-${i + 1}`;
      const child = await superviseChild({
        name, args: frameworkArgs(kind, i, p), env: { AGORA_REDIS: p.redisUrl }, ready: new RegExp(`^agora ${kind}: .* on port (\\d+)`),
      }, { log: p.log, onStart: (pid) => p.onStart(name, pid) });
      set[kind].push({ kind, name, addr: `${p.host}:${p.ports[kind] + i}`, child });
    }
  }
  return set;
}

/** Whether a framework's /metrics says it is subscribed to a master. */
export function subscribedNow(kind: FrameworkKind, body: unknown): boolean {
  const b = body as { gauges?: Record<string, { value?: unknown }>; connected?: unknown } | null;
  return kind === 'services' ? b?.gauges?.agora_services_connected?.value === 1 : b?.connected === true;
}

/** Resolves once an instance of each framework is subscribed (a standby instance never is). */
export async function checkFrameworks(set: FrameworkSet, admin: ClientIdentity): Promise<void> {
  await Promise.all((['services', 'jobs'] as const).map((kind) => Promise.any(set[kind].map((f) =>
    waitUntil(f.addr, '/metrics', admin, (body) => subscribedNow(kind, body), `the ${f.name} framework did not subscribe to the leading master`)))));
}
