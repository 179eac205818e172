/**
 * A real redis-server with a dir: what it acknowledged survives a SIGKILL and a restart on
 * the same dir; a password is required of every client and never on the command line.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Redis } from 'ioredis';
import { RedisServerError, startRedisServer, type RedisServer } from './redis-server';

describe('redis-server with a dir', () => {
  let dir: string;
  const servers: RedisServer[] = [];
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'agora-redis-aof-')); });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a written key across SIGKILL and a restart on the same dir (appendonly, appendfsync always)', async () => {
    const first = await startRedisServer({ dir, password: 'agora_test-secret' });
    servers.push(first);
    const a = new Redis(first.url);
    expect(await a.set('agora:key', 'kept')).toBe('OK');
    a.disconnect();
    process.kill(first.pid, 'SIGKILL');
    await first.stop();
    expect(readdirSync(join(dir, 'appendonlydir')).some((f) => f.endsWith('.incr.aof'))).toBe(true);

    const second = await startRedisServer({ dir, password: 'agora_test-secret' });
    servers.push(second);
    const b = new Redis(second.url);
    expect(await b.get('agora:key')).toBe('kept');
    b.disconnect();
    await second.stop();
    expect(existsSync(dir)).toBe(true);   // a dir given is never removed
  });

  it('refuses a client without the password, and keeps the password off its command line', async () => {
    const s = await startRedisServer({ dir, password: 'agora_not-in-ps' });
    servers.push(s);
    expect(s.url).toBe(`redis://:agora_not-in-ps@127.0.0.1:${s.port}`);
    const anonymous = new Redis(`redis://127.0.0.1:${s.port}`, { lazyConnect: true, maxRetriesPerRequest: 0 });
    anonymous.on('error', () => undefined);
    await expect(anonymous.get('x')).rejects.toThrow(/NOAUTH/);
    anonymous.disconnect();
    expect(readFileSync(`/proc/${s.pid}/cmdline`, 'utf8')).not.toContain('agora_not-in-ps');
  });

  it('refuses an unknown appendfsync mode before it makes anything', async () => {
    const wanted = join(dir, 'never');
    await expect(startRedisServer({ dir: wanted, appendfsync: 'sometimes' as never })).rejects.toThrow(RedisServerError);
    await expect(startRedisServer({ dir: wanted, appendfsync: 'sometimes' as never })).rejects.toThrow(/appendfsync must be one of always, everysec, no, got 'sometimes'/);
    expect(existsSync(wanted)).toBe(false);
  });

  it('without a dir persists nothing and removes its temp dir on stop', async () => {
    const s = await startRedisServer();
    const c = new Redis(s.url);
    expect(await c.config('GET', 'appendonly')).toEqual(['appendonly', 'no']);
    const [, tempDir] = await c.config('GET', 'dir') as [string, string];
    c.disconnect();
    expect(existsSync(tempDir)).toBe(true);
    await s.stop();
    expect(existsSync(tempDir)).toBe(false);
  });

  it('with replicaOf is a read-only replica that authenticates to its primary with the shared password (masterauth)', async () => {
    const primary = await startRedisServer({ dir: join(dir, 'primary'), password: 'agora_set-secret' });
    servers.push(primary);
    const replica = await startRedisServer({ dir: join(dir, 'replica'), password: 'agora_set-secret', replicaOf: { host: '127.0.0.1', port: primary.port } });
    servers.push(replica);
    const p = new Redis(primary.url);
    const r = new Redis(replica.url);
    try {
      await p.set('agora:replicated', 'yes');
      expect(await p.wait(1, 10_000)).toBe(1); // the replica synced and acknowledged the write
      expect(await r.get('agora:replicated')).toBe('yes');
      await expect(r.set('agora:replicated', 'no')).rejects.toThrow(/READONLY/);
      expect(readFileSync(`/proc/${replica.pid}/cmdline`, 'utf8')).not.toContain('agora_set-secret');
    } finally {
      p.disconnect();
      r.disconnect();
    }
  });

  it('kill() SIGKILLs it: resolved once the process is gone, its dir kept', async () => {
    const s = await startRedisServer({ dir, password: 'agora_test-secret' });
    servers.push(s);
    await s.kill();
    expect(existsSync(`/proc/${s.pid}`)).toBe(false);
    expect(existsSync(join(dir, 'appendonlydir'))).toBe(true);
  });

  it('refuses a replicaOf without a valid port before it makes anything', async () => {
    const wanted = join(dir, 'never');
    await expect(startRedisServer({ dir: wanted, replicaOf: { host: '127.0.0.1', port: 70000 } })).rejects.toThrow(/replicaOf must be a host and a port in 1..65535/);
    expect(existsSync(wanted)).toBe(false);
  });
});
