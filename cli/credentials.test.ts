import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { UsageError } from '../common/flags';
import { clientIdentity, readClientConfig } from '../common/security/client-config';
import { readCredentials } from '../common/security/credentials';
import { credentials } from './credentials';
import { decode, type Account, type User } from '@nats-io/jwt';
import { natsUserKey } from '../common/security/nats-auth';

let dir: string;
let lines: string[];
const run = (...argv: string[]) => credentials([...argv, '--dir', dir], (l) => lines.push(l));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'agora-creds-cli-'));
  lines = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('agora credentials', () => {
  it('init makes a CA, a host certificate it signed, the local principals and a 0600 client config whose admin verifies; a second init keeps them', async () => {
    expect(await run('init')).toBe(0);
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
    await run('init');
    expect(lines[1]).toMatch(/^kept the cluster's CA/);
    expect(readFileSync(join(dir, 'credentials.json'), 'utf8')).toBe(before);
  });

  it('create prints the secret once, stores only its digest, and adds a user of that name to the client config; revoke removes both', async () => {
    await run('init');
    await run('create', 'operator', 'carol', '--role', 'viewer');
    const secret = lines.at(-1)!;
    expect(secret).toMatch(/^agora_/);
    expect(readFileSync(join(dir, 'credentials.json'), 'utf8')).not.toContain(secret);
    expect(readCredentials(join(dir, 'credentials.json')).verify('carol', secret)?.operatorRole).toBe('viewer');
    expect(clientIdentity({ path: join(dir, 'config'), user: 'carol' })?.secret).toBe(secret);
    await run('revoke', 'carol');
    expect(readCredentials(join(dir, 'credentials.json')).has('carol')).toBe(false);
    expect(readClientConfig(join(dir, 'config'))?.users.carol).toBeUndefined();
  });

  it('create agent issues a NATS user whose key comes from the secret and whose JWT allows only its own subjects; revoke re-signs the account with it revoked', async () => {
    await run('init');
    await run('create', 'agent', 'node-7');
    const secret = lines.at(-1)!;
    const user = readCredentials(join(dir, 'credentials.json')).natsUser('node-7')!;
    expect(user.user).toBe(natsUserKey('node-7', secret).getPublicKey());
    const claims = decode<User>(user.jwt);
    expect(claims.sub).toBe(user.user);
    expect(claims.iss).toBe(decode(readFileSync(join(dir, 'nats', 'account.jwt'), 'utf8')).sub);
    expect(claims.nats.pub?.allow).toEqual(['agora.master.node-7.>']);
    expect(claims.nats.sub?.allow).toEqual(['agora.agent.node-7.>', 'agora.reply.node-7.>', 'agora.leader']);
    // The master's user may do anything in the account; operators have none; a framework's only its lease bucket.
    const creds = readCredentials(join(dir, 'credentials.json'));
    expect(decode<User>(creds.natsUser('master')!.jwt).nats.pub).toBeUndefined();
    expect(creds.natsUser('admin')).toBeUndefined();
    const framework = decode<User>(creds.natsUser('services')!.jwt).nats;
    expect(creds.natsUser('services')!.role).toBe('framework');
    expect(framework.pub?.allow).toContain('$KV.AGORA_FRAMEWORKS.>');
    expect(framework.pub?.allow?.some((s) => s.startsWith('agora.') || s.includes('AGORA_LEADERS'))).toBe(false);
    expect(framework.sub?.allow).toEqual(['agora.reply.services.>']);
    await run('create', 'framework', 'team-x');
    const teamX = readCredentials(join(dir, 'credentials.json')).natsUser('team-x')!;
    expect(teamX.role).toBe('framework');
    expect(teamX.user).toBe(natsUserKey('team-x', lines.at(-1)!).getPublicKey());
    expect(decode<User>(teamX.jwt).nats.sub?.allow).toEqual(['agora.reply.team-x.>']);

    await run('revoke', 'node-7');
    const account = decode<Account>(readFileSync(join(dir, 'nats', 'account.jwt'), 'utf8'));
    expect(Object.keys(account.nats.revocations ?? {})).toEqual([user.user]);
    expect(account.nats.limits?.conn).toBe(-1);
  });

  it('init refuses to make new NATS keys over part of a setup: they would orphan every agent', async () => {
    await run('init');
    rmSync(join(dir, 'nats', 'system.creds'));
    const before = readFileSync(join(dir, 'nats', 'account.jwt'), 'utf8');
    await expect(run('init')).rejects.toThrow(/holds part of the cluster's NATS keys; .*system\.creds missing/);
    expect(readFileSync(join(dir, 'nats', 'account.jwt'), 'utf8')).toBe(before);
  });

  it('nats-conf prints a nats-server config naming the operator, the system account, both accounts and TLS', async () => {
    await run('init');
    lines = [];
    await run('nats-conf', '--listen', '0.0.0.0:4333', '--store', '/srv/nats');
    const conf = lines.join('\n');
    expect(conf).toContain('listen: "0.0.0.0:4333"');
    expect(conf).toContain(`operator: "${join(dir, 'nats', 'operator.jwt')}"`);
    expect(conf).toMatch(/resolver \{ type: full, dir: "\/srv\/nats\/accounts"/);
    expect(conf).toContain(`${decode(readFileSync(join(dir, 'nats', 'account.jwt'), 'utf8')).sub}: "`);
    expect(conf).toContain(`cert_file: "${join(dir, 'tls', 'server.crt')}"`);
  });

  it('list shows who, never a secret', async () => {
    await run('init');
    lines = [];
    await run('list', '--json');
    const listed = JSON.parse(lines[0]!) as Record<string, unknown>[];
    expect(listed.map((p) => p.name)).toEqual(['admin', 'master', 'services', 'jobs', 'local-agent']);
    expect(lines[0]).not.toMatch(/agora_|secret/);
  });

  it('refuses an operator without a role, a role for a framework, and an unknown verb, as usage errors', async () => {
    await run('init');
    await expect(run('create', 'operator', 'x')).rejects.toThrow(UsageError);
    await expect(run('create', 'framework', 'x', '--role', 'admin')).rejects.toThrow(/--role is for operators/);
    await expect(run('grant')).rejects.toThrow(UsageError);
    await expect(run('create', 'operator', 'admin', '--role', 'admin')).rejects.toThrow(/principal 'admin' exists already/);
    // An agent's name is a token of its NATS subjects.
    await expect(run('create', 'agent', 'host.b')).rejects.toThrow(/cannot name a NATS user/);
    expect(readCredentials(join(dir, 'credentials.json')).has('host.b')).toBe(false);
  });

  it('cert signs a certificate for another host that the cluster CA verifies', async () => {
    await run('init');
    const out = join(dir, 'host-b');
    await run('cert', '--name', 'host-b.example', '10.9.8.7', '--out', out);
    execFileSync('openssl', ['verify', '-CAfile', join(out, 'ca.crt'), join(out, 'server.crt')]);
    const text = execFileSync('openssl', ['x509', '-in', join(out, 'server.crt'), '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    expect(text).toMatch(/DNS:host-b\.example, IP Address:10\.9\.8\.7/);
  });
});
