/**
 * Elections on a real 3-node NATS cluster, the lease in an R3 bucket, lease 1000 ms (renewed
 * every 333 ms). Each test has its own group (key) and candidates, each candidate its own
 * connection given all three URLs. The tests wait on events (elections, depositions, the key's
 * revisions as a watcher of the test sees them), never on time; a test that needs a takeover
 * to be immediate gives its candidates a lease longer than the test may run.
 *
 * Throughout, whenever a candidate is elected, no other candidate may still pass check(): all
 * run in this process on one monotonic clock, so that is checked for real.
 */
import { connect, type KV, type NatsConnection } from 'nats';
import { startNatsCluster, type NatsCluster, type NatsClusterNode } from '../nats-cluster';
import { Election, FencedError, type Deposed } from '.';
import { decodeLease, type LeaseValue } from './lease-value';

const BUCKET = 'TEST_LEADERS';
let cluster: NatsCluster;
let admin: NatsConnection;
let kv: KV;
const live: Candidate[] = [];
const overlaps: string[] = [];

interface Candidate {
  id: string;
  nc: NatsConnection;
  election: Election;
}

/** `servers`: the nodes in the order the candidate tries them (the first is the one it uses). */
async function join(id: string, group: string, o: { servers?: readonly string[]; leaseMs?: number } = {}): Promise<Candidate> {
  const nc = await connect({ servers: [...(o.servers ?? cluster.urls)], noRandomize: true, reconnectTimeWait: 50, maxReconnectAttempts: -1 });
  const election = await Election.join({ nc, bucket: BUCKET, group, candidate: { id, address: `http://${id}:5050`, pid: 100 }, replicas: 3, leaseMs: o.leaseMs ?? 1000 });
  const c = { id, nc, election };
  election.onElected((epoch) => {
    const others = live.filter((x) => x !== c && x.election.isLeader()).map((x) => x.id);
    if (others.length) overlaps.push(`${id} elected (epoch ${epoch}) while ${others.join(', ')} still passed check()`);
  });
  live.push(c);
  return c;
}

/** The next candidate of `among` to be elected, with its epoch. Ask before doing what should cause it. */
function nextElected(among: readonly Candidate[]): Promise<{ c: Candidate; epoch: number }> {
  return new Promise((resolve) => {
    const offs = among.map((c) => c.election.onElected((epoch) => {
      offs.forEach((off) => off());
      resolve({ c, epoch });
    }));
  });
}

/** The candidate that leads now, or the next one elected. */
async function leading(among: readonly Candidate[]): Promise<{ c: Candidate; epoch: number }> {
  const next = nextElected(among);
  const now = among.find((c) => c.election.isLeader());
  return now ? { c: now, epoch: now.election.epoch() as number } : next;
}

const nextDeposed = (c: Candidate): Promise<Deposed> => new Promise((resolve) => {
  const off = c.election.onDeposed((d) => { off(); resolve(d); });
});

/** Resolves once `cond` holds, checking it now and at each event `subscribe` delivers. */
function when(cond: () => boolean, subscribe: (listener: () => void) => () => void): Promise<void> {
  return new Promise((resolve) => {
    if (cond()) return resolve();
    const off = subscribe(() => {
      if (cond()) { off(); resolve(); }
    });
  });
}

/** What the test's own watcher saw of a key: every revision, in order. */
async function watchKey(group: string) {
  const entries: { revision: number; op: string; holder?: LeaseValue }[] = [];
  const listeners = new Set<() => void>();
  const iterator = await kv.watch({ key: group });
  void (async () => {
    for await (const e of iterator) {
      entries.push({ revision: e.revision, op: e.operation, holder: e.operation === 'PUT' ? decodeLease(e.value) : undefined });
      listeners.forEach((l) => l());
    }
  })();
  return {
    entries,
    until: (cond: () => boolean) => when(cond, (l) => { listeners.add(l); return () => listeners.delete(l); }),
    stop: () => iterator.stop(),
  };
}

const node = (name: string | undefined) => cluster.nodes.find((n) => n.name === name) as NatsClusterNode;
const streamLeader = async () => (await (await admin.jetstreamManager()).streams.info(`KV_${BUCKET}`)).cluster?.leader;
const urlsFrom = (first: NatsClusterNode) => [first.url, ...cluster.urls.filter((u) => u !== first.url)];

beforeAll(async () => {
  cluster = await startNatsCluster({ nodes: 3 });
  admin = await connect({ servers: [...cluster.urls], reconnectTimeWait: 50, maxReconnectAttempts: -1 });
  kv = await admin.jetstream({ timeout: 10_000 }).views.kv(BUCKET, { replicas: 3, history: 1, allow_direct: false });
});

afterEach(async () => {
  for (const c of live.splice(0)) {
    await c.election.stop();
    await c.nc.close();
  }
  for (const n of cluster.nodes) if (!n.running()) await n.restart();
  await cluster.ready();
  expect(overlaps.splice(0)).toEqual([]);
});

afterAll(async () => {
  await admin?.close();
  await cluster?.stop();
});

it('three candidates: exactly one leads, its epoch the revision of its winning write; the others learn who and where it is', async () => {
  const key = await watchKey('one');
  const cands = await Promise.all(['a', 'b', 'c'].map((id) => join(id, 'one')));
  const { c: leader, epoch } = await leading(cands);
  expect(cands.filter((c) => c.election.isLeader())).toEqual([leader]);
  expect(leader.election.check()).toBe(epoch);
  // The winning write carries no epoch (its revision is it); the renewals after it carry it. (The
  // test's watcher is trusted here: on a cluster that has not lost a node its replicas agree.)
  await key.until(() => key.entries.some((e) => e.holder?.epoch === epoch));
  const won = key.entries.find((e) => e.holder?.id === leader.id);
  expect(won).toMatchObject({ revision: epoch, op: 'PUT' });
  expect(won?.holder?.epoch).toBeUndefined();
  for (const f of cands.filter((c) => c !== leader)) {
    await when(() => f.election.leader()?.epoch === epoch, (l) => f.election.onLeader(l));
    expect(f.election.leader()).toEqual({ id: leader.id, address: `http://${leader.id}:5050`, pid: 100, epoch, leaseMs: 1000 });
    expect(() => f.election.check()).toThrow(FencedError);
    expect(f.election.epoch()).toBeUndefined();
  }
  key.stop();
});

it('a leader whose connection closes without abdicating is deposed (expired), and another leads after about a lease with a higher epoch', async () => {
  const cands = await Promise.all(['a', 'b'].map((id) => join(id, 'closed')));
  const { c: old, epoch } = await leading(cands);
  const other = cands.find((c) => c !== old) as Candidate;
  const [next, deposed] = [nextElected([other]), nextDeposed(old)];
  await old.nc.close();
  const [{ epoch: newEpoch }, why] = await Promise.all([next, deposed]);
  expect(newEpoch).toBeGreaterThan(epoch);
  expect(why).toMatchObject({ epoch, cause: 'expired' });
  expect(() => old.election.check()).toThrow(expect.objectContaining({ name: 'FencedError', reason: 'not-leader', epoch }) as Error);
});

describe('stepping down, with a 10-minute lease: only the deleted key can let a follower in within the test', () => {
  it('abdicate() deletes the key; a follower claims it at once, on the delete\'s revision', async () => {
    const key = await watchKey('abdicate');
    const cands = await Promise.all(['a', 'b'].map((id) => join(id, 'abdicate', { leaseMs: 600_000 })));
    const { c: old, epoch } = await leading(cands);
    const next = nextElected(cands.filter((c) => c !== old));
    expect(await old.election.abdicate()).toBe(true);
    expect(old.election.isLeader()).toBe(false);
    const { c: heir, epoch: newEpoch } = await next;
    await key.until(() => key.entries.some((e) => e.revision === newEpoch));
    const deleted = key.entries.find((e) => e.op === 'DEL');
    expect(deleted?.revision).toBeGreaterThan(epoch);
    expect(newEpoch).toBe((deleted?.revision ?? 0) + 1);
    expect(key.entries.find((e) => e.revision === newEpoch)?.holder?.id).toBe(heir.id);
    expect(await old.election.abdicate()).toBe(false);   // it no longer leads
    key.stop();
  }, 20_000);

  it('stop() as leader abdicates first', async () => {
    const cands = await Promise.all(['a', 'b'].map((id) => join(id, 'stop', { leaseMs: 600_000 })));
    const { c: old, epoch } = await leading(cands);
    const next = nextElected(cands.filter((c) => c !== old));
    await old.election.stop();
    expect((await next).epoch).toBeGreaterThan(epoch);
  }, 20_000);
});

/** Resolves after `n` renewals of `c` that got through, all with `epoch`; rejects on a renewal with another. */
const renewals = (c: Candidate, n: number, epoch: number): Promise<void> => new Promise((resolve, reject) => {
  let seen = 0;
  const off = c.election.onRenewed((r) => {
    if (r.epoch !== epoch) { off(); reject(new Error(`renewed with epoch ${r.epoch}, not ${epoch}`)); }
    else if (++seen >= n) { off(); resolve(); }
  });
});

it('SIGKILL of a node that neither serves the candidates nor leads the stream costs no election; SIGKILL of the candidates\' own node moves them and elections go on', async () => {
  const leaderNode = node(await streamLeader());
  const serving = cluster.nodes.find((n) => n !== leaderNode) as NatsClusterNode;
  const victim = cluster.nodes.find((n) => n !== leaderNode && n !== serving) as NatsClusterNode;
  const cands = await Promise.all(['a', 'b'].map((id) => join(id, 'node-loss', { servers: urlsFrom(serving) })));
  const { c: leader, epoch } = await leading(cands);
  let deposals = 0;
  cands.forEach((c) => c.election.onDeposed(() => deposals++));

  const held = renewals(leader, 3, epoch);
  await victim.kill();
  await held;
  expect(deposals).toBe(0);
  expect(leader.election.check()).toBe(epoch);
  await victim.restart();
  await cluster.ready();

  // Its node gone, the leader reconnects to another; it either renews through it or, if that took
  // longer than its lease, a new leader is elected with a higher epoch.
  const moved = Promise.race([renewals(leader, 1, epoch), nextElected(cands).then(() => undefined)]);
  await serving.kill();
  await moved;
  const now = await leading(cands);
  expect(now.epoch).toBeGreaterThanOrEqual(epoch);
  const next = nextElected(cands.filter((c) => c !== now.c));
  expect(await now.c.election.abdicate()).toBe(true);
  expect((await next).epoch).toBeGreaterThan(now.epoch);
});

it('a leader whose R3 stream lost its quorum (two of three nodes killed) is deposed and fenced; once they are back a leader is elected with a higher epoch', async () => {
  const serving = node('n1');
  const [c] = [await join('a', 'quorum', { servers: [serving.url] })];
  const { epoch } = await leading([c]);
  const deposed = nextDeposed(c);
  for (const n of cluster.nodes.filter((x) => x !== serving)) await n.kill();
  expect(await deposed).toMatchObject({ epoch, cause: 'expired' });
  expect(() => c.election.check()).toThrow(FencedError);
  expect(c.election.isLeader()).toBe(false);
  const next = nextElected([c]);
  for (const n of cluster.nodes.filter((x) => x !== serving)) await n.restart();
  await cluster.ready();
  expect((await next).epoch).toBeGreaterThan(epoch);
});
