/**
 * The cluster's certificates: one CA, and server certificates it signs (gRPC today, NATS TLS
 * next). Made with the `openssl` command (Debian's, present on every host that runs Agora)
 * rather than a JavaScript X.509 library: it is the reference implementation, it runs once at
 * bootstrap, and nothing here parses ASN.1 by hand.
 *
 * Keys are ECDSA P-256: a key pair takes milliseconds, so every test file can make its own CA.
 * Private keys are written 0600; the CA key never leaves the directory that made it.
 */
import { execFileSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'fs';
import { hostname } from 'os';
import { isIP } from 'net';
import { join } from 'path';

export class PkiError extends Error {
  override readonly name = 'PkiError';
}

export interface TlsFiles {
  /** PEM of the CA that signed the certificate, for peers to trust. */
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

export const CA_CERT = 'ca.crt';
export const CA_KEY = 'ca.key';
export const SERVER_CERT = 'server.crt';
export const SERVER_KEY = 'server.key';

const CURVE = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-noenc'];

function openssl(args: string[], dir: string): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: Buffer };
    if (e.code === 'ENOENT') throw new PkiError('the openssl command is missing: install Debian\'s openssl package (node scripts/setup.js does)');
    throw new PkiError(`openssl ${args[0]} failed: ${e.stderr?.toString().trim() || e.message}`);
  }
}

/** Makes `dir`/ca.crt and ca.key unless they exist. True when it made them. */
export function ensureCa(dir: string, name = 'Agora cluster CA'): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (existsSync(join(dir, CA_CERT)) && existsSync(join(dir, CA_KEY))) return false;
  openssl(['req', '-x509', '-new', ...CURVE, '-keyout', CA_KEY, '-out', CA_CERT, '-days', '3650', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  chmodSync(join(dir, CA_KEY), 0o600);
  return true;
}

/** The names a server certificate made here covers by default: loopback and this host. */
export function defaultServerNames(): string[] {
  return ['localhost', '127.0.0.1', '::1', hostname()];
}

/**
 * Signs a server certificate for `names` (DNS names or IP addresses) with the CA in `dir`,
 * written as `<base>.crt` and `<base>.key`. It serves as a client certificate too, so one
 * process can present it on both sides of mutual TLS.
 */
export function issueCert(dir: string, names: readonly string[], base = 'server'): void {
  if (!existsSync(join(dir, CA_KEY))) throw new PkiError(`no CA key in ${dir}: the certificate must be issued where the CA was made`);
  if (names.length === 0) throw new PkiError('a server certificate needs at least one name');
  const san = names.map((n) => (isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  openssl(['req', '-x509', ...CURVE, '-keyout', `${base}.key`, '-out', `${base}.crt`, '-days', '825', '-subj', `/CN=${names[0]}`,
    '-CA', CA_CERT, '-CAkey', CA_KEY, '-addext', `subjectAltName=${san}`, '-addext', 'basicConstraints=critical,CA:FALSE',
    '-addext', 'extendedKeyUsage=serverAuth,clientAuth'], dir);
  chmodSync(join(dir, `${base}.key`), 0o600);
}

/** Reads the CA and a certificate with its key from `dir`; a missing file is a PkiError naming it. */
export function readTls(dir: string, base = 'server'): TlsFiles {
  const read = (file: string) => {
    try {
      return readFileSync(join(dir, file));
    } catch {
      throw new PkiError(`cannot read ${join(dir, file)}: run \`agora up\` once, or \`agora credentials init\`, to make the cluster's certificates`);
    }
  };
  return { ca: read(CA_CERT), cert: read(`${base}.crt`), key: read(`${base}.key`) };
}
