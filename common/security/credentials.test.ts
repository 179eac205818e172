import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  CredentialError, emptyCredentials, LiveCredentials, newSecret, parseCredentials, readCredentials, sha256, writeCredentials,
} from './credentials';

let dir: string;
beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'agora-cred-')); });
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('credentials', () => {
  it('a secret is 256 random bits, recognisable by its prefix, and never the same twice', () => {
    const a = newSecret();
    expect(a).toMatch(/^agora_[A-Za-z0-9_-]{43}$/);
    expect(newSecret()).not.toBe(a);
  });

  it('the file keeps only the digest of a secret; the name and the secret verify, a wrong secret or name does not', () => {
    const secret = newSecret();
    const creds = emptyCredentials().adding('alice', 'operator', secret, 'viewer', new Date('2026-12-03T10:00:00Z'));
    expect(JSON.stringify(creds.file)).not.toContain(secret);
    expect(creds.file.principals[0]).toEqual({ name: 'alice', kind: 'operator', role: 'viewer', secretSha256: sha256(secret), created: '2026-12-03T10:00:00.000Z' });
    expect(creds.verify('alice', secret)).toEqual({ name: 'alice', kind: 'operator', operatorRole: 'viewer' });
    expect(creds.verify('alice', newSecret())).toBeUndefined();
    expect(creds.verify('bob', secret)).toBeUndefined();
    expect(creds.bySecret(secret)?.name).toBe('alice');
  });

  it('refuses a taken name, a bad name, an operator without a role, and revoking a stranger, each saying which', () => {
    const creds = emptyCredentials().adding('web', 'framework', newSecret());
    expect(() => creds.adding('web', 'framework', newSecret())).toThrow(/principal 'web' exists already: revoke it first/);
    expect(() => creds.adding('../x', 'framework', newSecret())).toThrow(CredentialError);
    expect(() => creds.adding('ops', 'operator', newSecret())).toThrow(/an operator needs a role: admin or viewer/);
    expect(() => creds.removing('nobody')).toThrow(/no principal named 'nobody'/);
    expect(creds.removing('web').has('web')).toBe(false);
  });

  it('a broken file is refused with where it is broken', () => {
    expect(() => parseCredentials({ version: 2, principals: [] }, 'f')).toThrow('f: version must be 1, not 2');
    expect(() => parseCredentials({ version: 1, principals: [{ name: 'a', kind: 'robot', secretSha256: 'x' }] }, 'f')).toThrow('principals[0].kind must be one of operator, framework, agent');
    expect(() => parseCredentials({ version: 1, principals: [{ name: 'a', kind: 'agent', secretSha256: 'x' }] }, 'f')).toThrow('principals[0].secretSha256 must be 64 hex digits');
    const dup = { name: 'a', kind: 'agent', secretSha256: sha256('s') };
    expect(() => parseCredentials({ version: 1, principals: [dup, dup] }, 'f')).toThrow("principal 'a' is listed twice");
  });

  it('is written 0600 through a rename, and read back the same', () => {
    const path = join(dir, 'credentials.json');
    const creds = emptyCredentials().adding('jobs', 'framework', newSecret());
    writeCredentials(path, creds);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readCredentials(path).file).toEqual(creds.file);
  });

  it('a live file tells its listeners of a change (a revoke), and keeps the last good one when the file turns bad', async () => {
    const path = join(dir, 'credentials.json');
    const secret = newSecret();
    writeCredentials(path, emptyCredentials().adding('a', 'framework', secret).adding('b', 'framework', newSecret()));
    const errors: Error[] = [];
    const live = new LiveCredentials(path, (e) => errors.push(e));
    const changed = new Promise<void>((resolve) => live.onChange(() => resolve()));
    writeCredentials(path, readCredentials(path).removing('b'));
    await changed;
    expect(live.get().has('b')).toBe(false);
    writeFileSync(path, '{not json');
    live.reload();
    expect(errors[0]?.message).toMatch(/is not JSON/);
    expect(live.get().verify('a', secret)?.name).toBe('a');
    live.close();
    expect(readFileSync(path, 'utf8')).toBe('{not json');
  });
});
