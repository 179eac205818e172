/**
 * A real cluster for one test file: its own nats-server, a master and agents on ephemeral
 * ports, all on 127.0.0.1. Nothing is mocked; `stop()` leaves nothing running.
 */
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startAgent } from '../../agent/agent';
import type { AgentStateView } from '../../agent/api/http';
import type { AgentOptions } from '../../agent/config';
import { startNatsServer, type NatsServer } from '../../common/nats-server';
import type { MasterStateView } from '../../common/operator-types';
import { getJson, masterAddress } from '../../common/operator-client';
import { startMaster, type StartMasterOptions } from '../../master/server';
import type { AclsJson } from '../../common/security/acl';
import type { ServerSecurity } from '../../common/security/security-dir';
import { testSecurity, type TestSecurity } from './security';
import { connect, type NatsConnection } from 'nats';
import { natsIdentity } from '../../common/security/nats-client';
import type { NatsRole } from '../../common/security/nats-auth';
import { subjects } from '../../common/subjects';

export const TEST_IMAGE = 'agora/busybox:latest';
export const AGENT_RESOURCES = 'cpus:2;mem:1024;disk:2048;ports:[31000-31099]';

type Master = Awaited<ReturnType<typeof startMaster>>;
type Agent = Awaited<ReturnType<typeof startAgent>>;

export interface TestCluster {
  nats: NatsServer;
  master: Master;
  /** The cluster's keys (absent when started with `secure: false`). */
  security?: TestSecurity;
  /** The keys as the doors hold them, to start more doors (frameworks) with. */
  doors?: ServerSecurity;
  agents: Agent[];
  /** The master's HTTP address, as `--master` takes it. */
  masterAddr: string;
  grpcAddr: string;
  state(): Promise<MasterStateView>;
  /** `principal`: the agent credential it connects with on a locked cluster (default local-agent). */
  addAgent(opts?: { containerizer?: 'docker' | 'process'; resources?: string; hostname?: string; principal?: string; attributes?: Record<string, string> }): Promise<Agent>;
  /**
   * A NATS connection as an agent would open it: as agent principal `name` (its NATS user, TLS)
   * on a locked cluster, as the owner `anonymous` on an open one; `natsAs('master', 'master')`
   * as the master's user (everything, JetStream included). The caller closes it.
   */
  natsAs(name?: string, role?: NatsRole): Promise<{ nc: NatsConnection; owner: string }>;
  stop(): Promise<void>;
}

export async function startCluster(opts: {
  containerizer?: 'docker' | 'process';
  resources?: string;
  allocationIntervalMs?: number;
  agents?: number;
  /** The hostname each agent reports (default 127.0.0.1 for all), e.g. to tell them apart in constraints. */
  hostnames?: string[];
  /** More agent options, e.g. a short `statusRetryInitialMs` to see resends. */
  agentOptions?: AgentOptions;
  /** More master options, e.g. a short agent heartbeat interval. */
  masterOptions?: StartMasterOptions;
  /** `jetstream: false` starts NATS without JetStream, e.g. to see the master's offer log degraded. */
  natsOptions?: { jetstream?: boolean };
  /**
   * Every door locked, as `agora up` runs it (the default): gRPC over TLS, credentials on every
   * call, and `AGORA_CONFIG` pointing at an admin's client config. `false`: open doors.
   */
  secure?: boolean;
  /** The ACLs of a locked cluster (default: as `agora up` writes them for the test principals). */
  acls?: AclsJson;
} = {}): Promise<TestCluster> {
  const security = opts.secure === false ? undefined : await testSecurity(opts.acls ? { acls: opts.acls } : {});
  const nats = await startNatsServer({ ...opts.natsOptions, ...(security ? { securityDir: security.dir } : {}) });
  const workRoot = mkdtempSync(join(tmpdir(), 'agora-test-'));
  // Process tasks run as nobody: the way down to their sandboxes must let them through.
  chmodSync(workRoot, 0o711);
  const doors: ServerSecurity | undefined = security?.open();
  const master = await startMaster({
    natsUrl: nats.url, host: '127.0.0.1', httpPort: 0, grpcPort: 0,
    allocationIntervalMs: opts.allocationIntervalMs ?? 100,
    ...(security && doors ? { security: doors, identity: security.identity('master') } : {}),
    ...opts.masterOptions,
  });
  const masterAddr = `127.0.0.1:${master.httpPort}`;
  const agents: Agent[] = [];
  const addAgent = async (a: { containerizer?: 'docker' | 'process'; resources?: string; hostname?: string; principal?: string; attributes?: Record<string, string> } = {}) => {
    const agent = await startAgent({
      natsUrl: nats.url, httpHost: '127.0.0.1', httpPort: 0, hostname: a.hostname ?? '127.0.0.1',
      workDir: join(workRoot, `agent-${agents.length}`),
      ...(security && doors ? { security: doors, identity: security.identity(a.principal ?? 'local-agent') } : {}),
      containerizer: a.containerizer ?? opts.containerizer ?? 'docker',
      resources: a.resources ?? opts.resources ?? AGENT_RESOURCES,
      ...opts.agentOptions,
      ...(a.attributes ? { attributes: a.attributes } : {}),
    });
    agents.push(agent);
    await agent.registered;
    return agent;
  };
  for (let i = 0; i < (opts.agents ?? 1); i++) await addAgent({ hostname: opts.hostnames?.[i] });
  return {
    nats, master, agents, masterAddr, ...(security && doors ? { security, doors } : {}),
    grpcAddr: `127.0.0.1:${master.grpcPort}`,
    state: () => getJson<MasterStateView>(masterAddress(masterAddr), '/api/v1/state'),
    addAgent,
    natsAs: async (name = 'local-agent', role: NatsRole = 'agent') => {
      const id = natsIdentity(role, subjects(), doors, security?.identity(name));
      return { nc: await connect({ servers: nats.url, ...id.options }), owner: id.owner };
    },
    stop: async () => {
      for (const a of agents) await a.stop();
      await master.stop();
      await nats.stop();
      doors?.close();
      security?.remove();
      rmSync(workRoot, { recursive: true, force: true });
    },
  };
}

/** A task's stdout or stderr, read through its agent's HTTP sandbox API. */
export async function readSandbox(cluster: TestCluster, frameworkId: string, taskId: string, file: 'stdout' | 'stderr'): Promise<string> {
  const state = await cluster.state();
  const t = state.tasks.find((x) => x.id === taskId);
  const agent = state.agents.find((a) => a.id === t?.agentId);
  if (!agent) throw new Error(`task ${taskId} has no known agent`);
  const q = `framework_id=${encodeURIComponent(frameworkId)}&task_id=${encodeURIComponent(taskId)}&file=${file}&offset=0`;
  const chunk = await getJson<{ data: string }>(masterAddress(`${agent.hostname}:${agent.port}`), `/files/read?${q}`);
  return chunk.data;
}

/**
 * Resolves once `check()` holds, re-checking on a short poll bounded by `attempts`: for
 * what a real process or server reaches on its own time and announces to nobody (a file a
 * task writes, an acknowledgement the agent takes in). Rejects naming `what` if it never does.
 */
export async function eventually(what: string, check: () => Promise<boolean>, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${what} never happened`);
}

/** Waits until a task's sandbox file satisfies `ready`; a process writes when it runs, not when the agent reports it. */
export async function waitForSandbox(cluster: TestCluster, frameworkId: string, taskId: string, file: 'stdout' | 'stderr',
  ready: (text: string) => boolean): Promise<string> {
  let text = '';
  await eventually(`${file} of ${taskId} ready`, async () => ready(text = await readSandbox(cluster, frameworkId, taskId, file)));
  return text;
}

/** An agent's own view (`GET /state` on its HTTP port). */
export function agentState(agent: { httpPort: number }): Promise<AgentStateView> {
  return getJson<AgentStateView>(masterAddress(`127.0.0.1:${agent.httpPort}`), '/state');
}
