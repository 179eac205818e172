/**
 * The password of the Redis that `agora up` starts (`requirepass`): made on first use and kept
 * in the security folder beside the other credentials (`redis.secret`, 0600), so later starts —
 * and `agora up --fresh`, which wipes the state but not the credentials — find the same one,
 * and an operator who wants `redis-cli` there can read it (`redis-cli -a "$(cat ~/.agora/redis.secret)"`).
 * Redis keeps no digest of it: unlike the doors' credentials, the secret itself must be here.
 */
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { newSecret, writeAtomic } from './credentials';

export const REDIS_SECRET_FILE = 'redis.secret';

export class RedisSecretError extends Error {
  override readonly name = 'RedisSecretError';
}

/** The password in `dir`'s `redis.secret`, made there first if it has none. */
export function localRedisSecret(dir: string): string {
  const path = join(dir, REDIS_SECRET_FILE);
  if (!existsSync(path)) {
    const secret = newSecret();
    writeAtomic(path, `${secret}\n`);
    return secret;
  }
  const secret = readFileSync(path, 'utf8').trim();
  if (!/^[\x21-\x7e]{16,}$/.test(secret)) {
    throw new RedisSecretError(`${path} does not hold a Redis password (at least 16 printable characters, no spaces); remove it and a new one is made`);
  }
  return secret;
}
