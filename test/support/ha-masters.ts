/**
 * `agora master --ha` processes for tests: spawned on one NATS and one Redis with the test
 * security's keys, a short lease (1.5 s) and a fast allocation interval; their /health read
 * without credentials, as a load balancer reads it.
 */
import { spawn, type ChildProcess } from 'child_process';
import type { NatsServer } from '../../common/nats-server';
import type { RedisServer } from '../../common/redis-server';
import { AGORA_BIN } from './binary';
import { eventually } from './cluster';
import { doorFetch } from './http';
import type { TestSecurity } from './security';

export interface Health { status: string; role?: string; epoch?: number | null; pid?: number; leader?: string | null; grpcPort?: number }
export interface MasterProcess { http: number; grpc: number; child: ChildProcess }

export function spawnHaMaster(m: Omit<MasterProcess, 'child'>, on: { nats: NatsServer; redis: RedisServer; sec: TestSecurity }): MasterProcess {
  const child = spawn(process.execPath, [AGORA_BIN, 'master', '--ha', '--lease-ms', '1500', '--nats', on.nats.url, '--redis', on.redis.url,
    '--host', '127.0.0.1', '--port', String(m.http), '--grpc-port', String(m.grpc), '--allocation-interval-ms', '100',
    '--security-dir', on.sec.dir, '--principal', 'master'], { stdio: 'ignore', env: { ...process.env, AGORA_LOG: 'warn' } });
  return { ...m, child };
}

/** Its /health, or undefined while it does not listen (yet, or any more). */
export async function masterHealth(m: MasterProcess): Promise<Health | undefined> {
  try {
    return await (await doorFetch(`https://127.0.0.1:${m.http}/health`)).json() as Health;
  } catch {
    return undefined;
  }
}

/** Waits until one of `of` leads, and returns it with its health. */
export async function leaderOf(of: MasterProcess[]): Promise<{ leader: MasterProcess; h: Health }> {
  let found: { leader: MasterProcess; h: Health } | undefined;
  await eventually('a master leads', async () => {
    for (const m of of) {
      const h = await masterHealth(m);
      if (h?.role === 'leader') found = { leader: m, h };
    }
    return found !== undefined;
  }, 600);
  return found!;
}
