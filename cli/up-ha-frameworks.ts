/**
 * The services and jobs frameworks of `agora up --masters N`, as supervised children
 * (`agora services`, `agora jobs`), FRAMEWORK_REPLICAS of each: on 8080 and 8081, 4400 and 4401.
 * Each is given every master (`--master m1,m2,m3`) and finds the leading master through the
 * first that answers (a standby master answers 307 over HTTP, and names the leader to the SDK
 * over gRPC); the SDK keeps each master's gRPC address, so that when the leader goes away it
 * finds the next one even with master-1 down.
 *
 * With more than one replica every instance runs `--ha --nats <all NATS URLs> --ha-replicas 3`:
 * the replicas of a framework elect one leader on the NATS cluster (frameworks/README.md, "High
 * availability"); the other serves its port as a standby, forwarding every request to the
 * leader, so either port answers. FRAMEWORK_REPLICAS = 1 runs one plain instance of each.
 */
import type { ClientIdentity } from '../common/security/client-config';
import { superviseChild, type SupervisedChild } from './up-children';
import { getJsonAt, waitUntil } from './up-ha-health';
import type { Stoppable } from './up-shared';

/** Instances of each framework (see above): the one switch between one plain instance and HA replicas. */
export const FRAMEWORK_REPLICAS: number = 2;

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
  /** Every master's HTTP address, comma-separated. */
  masterList: string;
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
    kind, '--master', p.masterList, '--host', p.host, '--port', String(p.ports[kind] + i), '--role', kind,
    '--security-dir', p.home, '--principal', kind,
    ...(replicas > 1 ? ['--ha', '--nats', p.natsUrls.join(','), '--ha-replicas', String(p.natsUrls.length), '--ha-id', instanceName(kind, i)] : []),
  ];
}

/** Both frameworks' instances, started in turn, each kind stopped as a group. */
export async function frameworkChildren(p: FrameworkPlan, started: Stoppable[]): Promise<FrameworkSet> {
  const replicas = p.replicas ?? FRAMEWORK_REPLICAS;
  const set: FrameworkSet = { services: [], jobs: [] };
  for (const kind of ['services', 'jobs'] as const) {
    started.push({ stop: async () => { await Promise.all(set[kind].map((f) => f.child.stop())); } });
    for (let i = 0; i < replicas; i++) {
      const name = instanceName(kind, i);
      const child = await superviseChild({
        name, args: frameworkArgs(kind, i, p), env: { AGORA_REDIS: p.redisUrl }, ready: new RegExp(`^agora ${kind}( \\(HA\\))?: .* on port (\\d+)`),
      }, { log: p.log, onStart: (pid) => p.onStart(name, pid) });
      set[kind].push({ kind, name, addr: `${p.host}:${p.ports[kind] + i}`, child });
    }
  }
  return set;
}

/** 'services', then 'services-2'…: the first instance keeps the framework's plain name. */
function instanceName(kind: FrameworkKind, i: number): string {
  return i === 0 ? kind : `${kind}-${i + 1}`;
}

/** Whether a framework's /metrics says it is subscribed to a master. */
export function subscribedNow(kind: FrameworkKind, body: unknown): boolean {
  const b = body as { gauges?: Record<string, { value?: unknown }>; connected?: unknown } | null;
  return kind === 'services' ? b?.gauges?.agora_services_connected?.value === 1 : b?.connected === true;
}

/** Resolves once each framework is subscribed (asked through any instance: a standby forwards to the leader). */
export async function checkFrameworks(set: FrameworkSet, admin: ClientIdentity): Promise<void> {
  await Promise.all((['services', 'jobs'] as const).map((kind) => Promise.any(set[kind].map((f) =>
    waitUntil(f.addr, '/metrics', admin, (body) => subscribedNow(kind, body), `the ${f.name} framework did not subscribe to the leading master`)))));
}

/** 'leader' or 'standby' as the instance's `GET /v2/leader` says (a leader names itself); '' for a single instance. */
export async function frameworkRole(f: FrameworkChild, admin: ClientIdentity): Promise<string> {
  const got = await getJsonAt(f.addr, '/v2/leader', admin);
  const leader = (got?.body as { leader?: unknown } | undefined)?.leader;
  if (got?.status !== 200 || typeof leader !== 'string') return '';
  return leader === f.addr ? 'leader' : 'standby';
}
