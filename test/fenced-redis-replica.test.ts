/**
 * An epoch claim with a replica (common/fenced-redis.ts), on a real primary and replica: the
 * claim is not taken as made until the replica has it, so a failover cannot lose it; writes at
 * an epoch already claimed do not wait.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Redis } from 'ioredis';
import { FencedWriter, ReplicaWaitError } from '../common/fenced-redis';
import { unavailableWhy } from '../common/redis';
import { startRedisServer, type RedisServer } from '../common/redis-server';

const PASSWORD = 'agora_replica-test';
let dir: string;
let primary: RedisServer;
let replica: RedisServer | undefined;
let replicaPort: number | undefined;
const clients: Redis[] = [];

const startReplica = async () => {
  replica = await startRedisServer({ dir: join(dir, 'replica'), port: replicaPort, password: PASSWORD, replicaOf: { host: '127.0.0.1', port: primary.port } });
  replicaPort = replica.port;
};
const connect = (port: number) => {
  const c = new Redis({ host: '127.0.0.1', port, password: PASSWORD, disconnectTimeout: 200 });
  clients.push(c);
  return c;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agora-fenced-replica-'));
  primary = await startRedisServer({ dir: join(dir, 'primary'), password: PASSWORD });
  await startReplica();
});
afterAll(async () => {
  for (const c of clients.splice(0)) c.disconnect();
  await replica?.stop();
  await primary?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('an epoch claim with a replica', () => {
  it('resolves only once the replica has the raised epoch and the claim\'s writes', async () => {
    const writer = new FencedWriter(connect(primary.port), 'r1:epoch', 3, { replicas: 1, replicaWaitMs: 10_000 });
    await writer.write([['SET', 'r1:k', 'claimed']]);
    // read at once from the replica, with no wait of our own: the claim's WAIT already had it acknowledged
    expect(await connect(replica!.port).mget('r1:epoch', 'r1:k')).toEqual(['3', 'claimed']);
  });

  it('fails NOREPLICAS (a "try again") while no replica acknowledges it, and succeeds on a retry once one does; later writes at that epoch do not wait', async () => {
    let epoch = 4;
    const writer = new FencedWriter(connect(primary.port), 'r2:epoch', () => epoch, { replicas: 1, replicaWaitMs: 1000 });
    await replica!.kill();
    await replica!.stop();
    replica = undefined;

    const refused = writer.write([['SET', 'r2:k', 'four']]).catch((e: unknown) => e);
    const err = await refused;
    expect(err).toBeInstanceOf(ReplicaWaitError);
    expect(err).toMatchObject({ epoch: 4, acknowledged: 0, wanted: 1, waitedMs: 1000 });
    expect(unavailableWhy(err)).toBe('NOREPLICAS the claim of epoch 4 reached 0 of 1 replica(s) within 1000 ms');

    await startReplica();
    expect(await connect(primary.port).wait(1, 10_000)).toBe(1); // a fresh connection's WAIT: the replica has synced
    await writer.write([['SET', 'r2:k', 'four again']]);
    expect(await connect(replica!.port).mget('r2:epoch', 'r2:k')).toEqual(['4', 'four again']);

    await replica!.kill(); // epoch 4 is claimed and replicated: its writes go on alone
    await writer.write([['SET', 'r2:k', 'alone']]);
    epoch = 5; // a raised epoch is a new claim, and waits again
    await expect(writer.write([['SET', 'r2:k', 'five']])).rejects.toThrow(ReplicaWaitError);
    await replica!.stop();
    replica = undefined;
    await startReplica();
  });

  it('does not wait without a replica expected (one Redis, a redis:// URL)', async () => {
    await replica!.kill();
    const writer = new FencedWriter(connect(primary.port), 'r3:epoch', 1);
    expect(writer.replicas).toBe(0);
    await writer.write([['SET', 'r3:k', 'alone']]);
    expect(await connect(primary.port).get('r3:k')).toBe('alone');
  });

  it('refuses a replica count or wait that is not a whole number, before any write', () => {
    const c = connect(primary.port);
    expect(() => new FencedWriter(c, 'r4:epoch', 1, { replicas: -1 })).toThrow('replicas is an integer, 0 or more, got -1');
    expect(() => new FencedWriter(c, 'r4:epoch', 1, { replicas: 1, replicaWaitMs: 0.5 })).toThrow('replicaWaitMs is an integer, 1 or more, got 0.5');
  });
});
