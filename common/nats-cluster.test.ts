/**
 * A real 3-node nats-server cluster: it forms with a JetStream meta leader, keeps a replicated
 * (R3) stream writable with one node killed, and a restarted node rejoins on its old ports.
 * A locked cluster authenticates its routes and its clients.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { connect, StorageType, type NatsConnection } from 'nats';
import { tmpdir } from 'os';
import { join } from 'path';
import { logger } from './log';
import { freePort } from './nats-server';
import { clusterNodeConfig, NatsClusterError, startNatsCluster, type NatsCluster } from './nats-cluster';
import { bootstrapSecurity } from './security/bootstrap';
import { natsPaths } from './security/nats-auth';
import { natsIdentity } from './security/nats-client';
import { openServerSecurity } from './security/security-dir';
import { subjects } from './subjects';

/**
 * Retries `fn` until it succeeds, at most `attempts` times (100 ms apart): after a node goes, a
 * replicated stream answers 503 until its survivors have elected a new stream leader (up to
 * about 12 s on nats-server 2.9.10).
 */
async function eventually<T>(fn: () => Promise<T>, attempts = 300): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

describe('an open 3-node cluster', () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;

  beforeAll(async () => {
    cluster = await startNatsCluster({ nodes: 3 });
    nc = await connect({ servers: [...cluster.urls], reconnectTimeWait: 50, maxReconnectAttempts: -1 });
  });

  afterAll(async () => {
    await nc?.close();
    await cluster?.stop();
  });

  it('has three nodes on distinct ports, each with its own name', () => {
    expect(cluster.nodes.map((n) => n.name)).toEqual(['n1', 'n2', 'n3']);
    const ports = cluster.nodes.flatMap((n) => [n.port, n.clusterPort, n.monitorPort]);
    expect(new Set(ports).size).toBe(9);
    expect(cluster.urls).toEqual(cluster.nodes.map((n) => `nats://127.0.0.1:${n.port}`));
    // Its own name, so that it never merges with another suite's cluster on this host.
    expect(cluster.name).toMatch(/^agora-[0-9a-f]{8}$/);
  });

  it('keeps an R3 key-value bucket writable with one node killed, and the node rejoins after a restart', async () => {
    const kv = await nc.jetstream({ timeout: 2000 }).views.kv('CLUSTER_TEST', { replicas: 3, history: 1, storage: StorageType.File });
    expect((await kv.status()).replicas).toBe(3);
    await kv.put('k', 'before');
    const victim = cluster.nodes.find((n) => n.port !== nc.info?.port) as NatsCluster['nodes'][number];
    await victim.kill();
    expect(victim.running()).toBe(false);
    await cluster.ready();
    // A write needs a majority (2 of 3): it still succeeds.
    expect(await eventually(() => kv.update('k', 'during', 1))).toBe(2);
    await victim.restart();
    await cluster.ready();
    expect(victim.running()).toBe(true);
    // With the restarted node back, a second node can go and the stream still has a majority.
    const second = cluster.nodes.find((n) => n !== victim && n.port !== nc.info?.port) as NatsCluster['nodes'][number];
    await second.kill();
    await cluster.ready();
    expect(await eventually(() => kv.update('k', 'after', 2))).toBe(3);
    expect(new TextDecoder().decode((await kv.get('k'))?.value)).toBe('after');
    await second.restart();
    await cluster.ready();
  });

  it('refuses to restart a node that is still running', async () => {
    await expect((cluster.nodes[0] as NatsCluster['nodes'][number]).restart()).rejects.toThrow(/node n1 is running: stop or kill it before restarting it/);
  });
});

it('refuses a cluster of no nodes, or a name that cannot be a config token', async () => {
  await expect(startNatsCluster({ nodes: 0 })).rejects.toThrow(NatsClusterError);
  await expect(startNatsCluster({ name: 'a b' })).rejects.toThrow(/cluster name 'a b' must be letters/);
});

it('keeps its nodes\' files in a folder of its own across a stop, on the client ports asked for, and names each node\'s pid', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-nats-kept-'));
  const ports = [await freePort(), await freePort(), await freePort()];
  await expect(startNatsCluster({ nodes: 3, dir, clientPorts: ports.slice(0, 2) })).rejects.toThrow(/3 nodes need 3 client ports, not 2/);
  let cluster = await startNatsCluster({ nodes: 3, dir, clientPorts: ports, name: 'kept' });
  try {
    expect(cluster.nodes.map((n) => n.port)).toEqual(ports);
    const pids = cluster.nodes.map((n) => n.pid);
    expect(pids.every((pid) => typeof pid === 'number' && pid > 0)).toBe(true);
    const nc = await connect({ servers: [...cluster.urls] });
    const kv = await nc.jetstream({ timeout: 2000 }).views.kv('KEPT', { replicas: 3, history: 1, storage: StorageType.File });
    await kv.put('k', 'kept');
    await nc.close();
    await cluster.stop();
    expect(cluster.nodes.map((n) => n.pid)).toEqual([undefined, undefined, undefined]);
    expect(existsSync(join(dir, 'n1', 'js'))).toBe(true);
    // Started again on the same folder, the bucket and its value are back.
    cluster = await startNatsCluster({ nodes: 3, dir, clientPorts: ports, name: 'kept' });
    const again = await connect({ servers: [...cluster.urls] });
    const back = await eventually(() => again.jetstream({ timeout: 2000 }).views.kv('KEPT', { bindOnly: true }));
    expect(new TextDecoder().decode((await eventually(async () => (await back.get('k'))!))?.value)).toBe('kept');
    await again.close();
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('a locked 3-node cluster', () => {
  let dir: string;
  let cluster: NatsCluster;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agora-sec-'));
    await bootstrapSecurity(dir, { principals: [{ name: 'master', kind: 'operator', role: 'viewer', nats: 'master' }], certNames: ['localhost', '127.0.0.1'] });
    cluster = await startNatsCluster({ nodes: 3, securityDir: dir });
  });

  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('authenticates its routes with credentials kept in the security folder (0600) and written into every route', () => {
    const routes = JSON.parse(readFileSync(natsPaths(dir).routes, 'utf8')) as { user: string; password: string };
    expect(statSync(natsPaths(dir).routes).mode & 0o777).toBe(0o600);
    const ports = cluster.nodes.map((n) => ({ name: n.name, port: n.port, clusterPort: n.clusterPort, monitorPort: n.monitorPort }));
    const conf = clusterNodeConfig({ cluster: 'agora', node: ports[0] as (typeof ports)[number], all: ports, dir: '/x', securityDir: dir });
    expect(conf).toContain(`authorization { user: "route", password: ${JSON.stringify(routes.password)}, timeout: 2 }`);
    expect(conf).toContain(`nats-route://route:${routes.password}@127.0.0.1:${cluster.nodes[1]?.clusterPort}`);
  });

  it('lets the master\'s NATS user use an R3 bucket over TLS, and refuses an anonymous client', async () => {
    const config = JSON.parse(readFileSync(join(dir, 'config'), 'utf8')) as { users: Record<string, { principal: string; secret: string }> };
    const security = openServerSecurity(dir, logger('test'));
    try {
      const master = config.users.master as { principal: string; secret: string };
      const id = natsIdentity('master', subjects(), security, { ...master, ca: security.tls.ca });
      const nc = await connect({ servers: [...cluster.urls], ...id.options });
      try {
        const kv = await nc.jetstream({ timeout: 2000 }).views.kv('LOCKED_TEST', { replicas: 3, history: 1 });
        expect(await kv.put('k', 'v')).toBe(1);
      } finally {
        await nc.close();
      }
      await expect(connect({ servers: [...cluster.urls], tls: { ca: security.tls.ca.toString('utf8') }, maxReconnectAttempts: 0 })).rejects.toThrow(/Authorization/i);
    } finally {
      security.close();
    }
  });
});
