/**
 * A real redis-server that a test takes down and brings back: stopped (SIGTERM: it fsyncs its
 * append-only file) and started again on the same port and dir, so its clients reconnect on
 * their own to the same data, as after a Redis restart in production.
 */
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startRedisServer, type RedisServer } from '../../common/redis-server';

export class RestartableRedis {
  private constructor(private server: RedisServer | undefined, readonly port: number, readonly url: string, private readonly dir: string) {}

  static async start(): Promise<RestartableRedis> {
    const dir = mkdtempSync(join(tmpdir(), 'agora-redis-outage-'));
    const server = await startRedisServer({ dir });
    return new RestartableRedis(server, server.port, server.url, dir);
  }

  get running(): boolean {
    return this.server !== undefined;
  }

  async down(): Promise<void> {
    await this.server?.stop();
    this.server = undefined;
  }

  async up(): Promise<void> {
    this.server ??= await startRedisServer({ dir: this.dir, port: this.port });
  }

  async stop(): Promise<void> {
    await this.down();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
