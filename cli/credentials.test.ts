import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { UsageError } from '../common/flags';
import { clientIdentity, readClientConfig } from '../common/security/client-config';
import { readCredentials } from '../common/security/credentials';
import { credentials } from './credentials';

let dir: string;
let lines: string[];
const run = (...argv: string[]) => credentials([...argv, '--dir', dir], (l) => lines.push(l));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agora-creds-cli-'));
  lines = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('agora credentials', () => {
  it('init makes a CA, a host certificate it signed, the local principals and a 0600 client config whose admin verifies; a second init keeps them', () => {
    expect(run('init')).toBe(0);
    expect(lines[0]).toMatch(/^made the cluster's CA/);
    execFileSync('openssl', ['verify', '-CAfile', join(dir, 'tls', 'ca.crt'), join(dir, 'tls', 'server.crt')]);
    expect(statSync(join(dir, 'tls', 'ca.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'config')).mode & 0o777).toBe(0o600);
    const creds = readCredentials(join(dir, 'credentials.json'));
    expect(creds.list().map((r) => [r.name, r.kind, r.role ?? '-'])).toEqual([
      ['admin', 'operator', 'admin'], ['master', 'operator', 'viewer'], ['services', 'framework', '-'], ['jobs', 'framework', '-'], ['local-agent', 'agent', '-'],
    ]);
    const admin = clientIdentity({ path: join(dir, 'config') })!;
    expect(creds.verify(admin.principal, admin.secret)?.operatorRole).toBe('admin');
    expect(admin.ca?.toString()).toBe(readFileSync(join(dir, 'tls', 'ca.crt'), 'utf8'));
    const before = readFileSync(join(dir, 'credentials.json'), 'utf8');
    run('init');
    expect(lines[1]).toMatch(/^kept the cluster's CA/);
    expect(readFileSync(join(dir, 'credentials.json'), 'utf8')).toBe(before);
  });

  it('create prints the secret once, stores only its digest, and adds a user of that name to the client config; revoke removes both', () => {
    run('init');
    run('create', 'operator', 'carol', '--role', 'viewer');
    const secret = lines.at(-1)!;
    expect(secret).toMatch(/^agora_/);
    expect(readFileSync(join(dir, 'credentials.json'), 'utf8')).not.toContain(secret);
    expect(readCredentials(join(dir, 'credentials.json')).verify('carol', secret)?.operatorRole).toBe('viewer');
    expect(clientIdentity({ path: join(dir, 'config'), user: 'carol' })?.secret).toBe(secret);
    run('revoke', 'carol');
    expect(readCredentials(join(dir, 'credentials.json')).has('carol')).toBe(false);
    expect(readClientConfig(join(dir, 'config'))?.users.carol).toBeUndefined();
  });

  it('list shows who, never a secret', () => {
    run('init');
    lines = [];
    run('list', '--json');
    const listed = JSON.parse(lines[0]!) as Record<string, unknown>[];
    expect(listed.map((p) => p.name)).toEqual(['admin', 'master', 'services', 'jobs', 'local-agent']);
    expect(lines[0]).not.toMatch(/agora_|secret/);
  });

  it('refuses an operator without a role, a role for a framework, and an unknown verb, as usage errors', () => {
    run('init');
    expect(() => run('create', 'operator', 'x')).toThrow(UsageError);
    expect(() => run('create', 'framework', 'x', '--role', 'admin')).toThrow(/--role is for operators/);
    expect(() => run('grant')).toThrow(UsageError);
    expect(() => run('create', 'operator', 'admin', '--role', 'admin')).toThrow(/principal 'admin' exists already/);
  });

  it('cert signs a certificate for another host that the cluster CA verifies', () => {
    run('init');
    const out = join(dir, 'host-b');
    run('cert', '--name', 'host-b.example', '10.9.8.7', '--out', out);
    execFileSync('openssl', ['verify', '-CAfile', join(out, 'ca.crt'), join(out, 'server.crt')]);
    const text = execFileSync('openssl', ['x509', '-in', join(out, 'server.crt'), '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    expect(text).toMatch(/DNS:host-b\.example, IP Address:10\.9\.8\.7/);
  });
});
