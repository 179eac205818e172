/**
 * A framework's HTTP door (services, jobs): the shared one (common/security/http-door.ts)
 * over the credentials file it was given, cutting a revoked principal's streams.
 */
import type { Logger } from '../../common/log';
import { httpDoor, type HttpDoor } from '../../common/security/http-door';
import type { ServerSecurity } from '../../common/security/security-dir';

export function frameworkDoor(security: ServerSecurity, port: number, name: string, title: string, log: Logger): HttpDoor {
  const door = httpDoor({ credentials: () => security.credentials.get(), name: `${name}_${port || process.pid}`, title, log });
  security.credentials.onChange(() => door.revokeGone());
  return door;
}
