/**
 * How a process connects to NATS: as whom (the owner its subjects name), with which key and
 * JWT, trusting which CA; and, for the master, how revocations reach nats-server.
 *
 * On an open cluster (`--insecure`) every agent is the owner `anonymous` and nothing is
 * authenticated. On a locked one a process connects over TLS with the NATS user of its
 * principal (nats-auth.ts): the key derived from its secret, the JWT from the credentials file.
 */
import { readFileSync } from 'fs';
import { connect, credsAuthenticator, jwtAuthenticator, type ConnectionOptions } from 'nats';
import type { Logger } from '../log';
import { natsServers, OPEN_OWNER, type Subjects } from '../subjects';
import type { ClientIdentity } from './client-config';
import { jwtDigest, natsPaths, natsUserKey, readNatsCluster, type NatsRole } from './nats-auth';
import { SecuritySetupError } from './process-flags';
import type { ServerSecurity } from './security-dir';
import { LiveFile } from './live-file';

export interface NatsIdentity {
  /** The owner this process's subjects name. */
  readonly owner: string;
  /** What to add to `connect()`: the authenticator, TLS and the inbox the owner may read. */
  readonly options: Partial<ConnectionOptions>;
}

/**
 * The NATS identity of a process of `role`: open without security, else its principal's
 * NATS user, which must exist and have that role. A mismatch is a SecuritySetupError at
 * start, never a connection that fails with a permission error later.
 */
export function natsIdentity(
  role: NatsRole, subjects: Subjects, security: ServerSecurity | undefined, identity: ClientIdentity | undefined,
): NatsIdentity {
  if (!security) return { owner: OPEN_OWNER, options: role === 'agent' ? { inboxPrefix: subjects.inbox(OPEN_OWNER) } : {} };
  if (!identity) throw new SecuritySetupError(`a ${role} on a locked cluster needs its principal: pass --principal NAME (a user of the client config)`);
  const name = identity.principal;
  const user = security.credentials.get().natsUser(name);
  if (!user) throw new SecuritySetupError(`principal '${name}' has no NATS user in ${security.dir}: create it with \`agora credentials create agent|framework ${name}\` (agents, frameworks) or use the master's principal`);
  if (user.role !== role) throw new SecuritySetupError(`principal '${name}' is a NATS ${user.role}, not a ${role}`);
  const cluster = readNatsCluster(security.dir);
  if (cluster && cluster.subjectPrefix !== subjects.prefix) {
    throw new SecuritySetupError(`the cluster's NATS users were issued for subject prefix '${cluster.subjectPrefix}', not '${subjects.prefix}'`);
  }
  const seed = natsUserKey(name, identity.secret).getSeed();
  // The JWT as the credentials file has it now: a re-issued one is used on the next reconnect.
  const jwt = () => security.credentials.get().natsUser(name)?.jwt ?? user.jwt;
  return {
    owner: name,
    options: {
      authenticator: jwtAuthenticator(jwt, seed),
      tls: natsTls(security),
      // Replies come back under the owner's inbox: the only subjects an agent's or a framework's user may receive on besides its own.
      ...(role !== 'master' ? { inboxPrefix: subjects.inbox(name) } : {}),
    },
  };
}

/**
 * TLS towards nats-server, trusting the cluster's CA. No SNI: the client would send the
 * server's IP address as the name (RFC 6066 forbids it, and Node warns); the certificate is
 * still checked against the address connected to.
 */
function natsTls(security: ServerSecurity): NonNullable<ConnectionOptions['tls']> {
  return { ca: security.tls.ca.toString('utf8'), servername: '' } as NonNullable<ConnectionOptions['tls']>;
}

export interface AccountPusher {
  /** Settles when the account as it is now has been offered to nats-server (logged either way). */
  readonly pushed: Promise<void>;
  close(): void;
}

/**
 * The master's side of revocation: whenever the account JWT in the security folder changes
 * (`agora credentials revoke` re-signs it), send it to nats-server as the system user. The
 * server then refuses the revoked users and closes their connections. Also sent at start, so
 * a server started with an older account catches up. A folder without the system user's
 * credentials (a master on a host where credentials are not issued) pushes nothing.
 */
export function pushAccountUpdates(security: ServerSecurity, natsUrl: string, log: Logger): AccountPusher {
  const p = natsPaths(security.dir);
  let creds: Uint8Array;
  try {
    creds = readFileSync(p.systemCreds);
  } catch {
    log.info('no NATS system credentials here: revocations reach nats-server from where they are issued', { expected: p.systemCreds });
    return { pushed: Promise.resolve(), close: () => undefined };
  }
  const push = async (jwt: string): Promise<void> => {
    const nc = await connect({ servers: natsServers(natsUrl), name: 'agora-master account updates', authenticator: credsAuthenticator(creds), tls: natsTls(security), timeout: 5_000 });
    try {
      const reply = await nc.request('$SYS.REQ.CLAIMS.UPDATE', new TextEncoder().encode(jwt), { timeout: 5_000 });
      const answer = JSON.parse(new TextDecoder().decode(reply.data)) as { data?: { code?: number; message?: string }; error?: { description?: string } };
      if (answer.error || (answer.data?.code ?? 200) >= 300) throw new Error(answer.error?.description ?? answer.data?.message ?? 'refused');
      log.info('NATS account updated', { jwt: jwtDigest(jwt) });
    } finally {
      await nc.close();
    }
  };
  const file = new LiveFile(p.accountJwt, (path) => readFileSync(path, 'utf8').trim(), (err) => log.error('cannot read the NATS account', { error: err.message }), (a, b) => a === b);
  let last: Promise<void> = Promise.resolve();
  const enqueue = (jwt: string) => {
    last = last.then(() => push(jwt)).catch((err: Error) => log.error('cannot send the NATS account to nats-server; revocations wait for the next change or restart', { error: err.message }));
    return last;
  };
  file.onChange((jwt) => void enqueue(jwt));
  const pushed = enqueue(file.get());
  return { pushed, close: () => file.close() };
}
