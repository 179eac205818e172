/**
 * What `agora up --masters N` asks its children over HTTPS: a master's /health (its role,
 * epoch, pid and the leader it knows), and a framework's /metrics (whether it is subscribed).
 * Polls are bounded: a cluster that does not come together within them is an error that says
 * what each one answered last.
 */
import { doorRequest } from '../common/security/https';
import type { ClientIdentity } from '../common/security/client-config';

export interface MasterHealth {
  status: string;
  role?: 'leader' | 'standby';
  epoch?: number;
  pid?: number;
  /** The leader's HTTP address, as this master knows it. */
  leader?: string | null;
}

const POLL_MS = 100;

/** GET `https://addr/path` as `identity`: the status and parsed JSON body, or undefined if it did not answer with JSON. */
export function getJsonAt(addr: string, path: string, identity: ClientIdentity, timeoutMs = 2000): Promise<{ status: number; body: unknown } | undefined> {
  return new Promise((resolve) => {
    const req = doorRequest(`https://${addr}${path}`, { method: 'GET', timeout: timeoutMs, identity }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as unknown });
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end();
  });
}

export async function masterHealth(addr: string, identity: ClientIdentity): Promise<MasterHealth | undefined> {
  const got = await getJsonAt(addr, '/health', identity);
  const body = got?.body as MasterHealth | undefined;
  return body && typeof body.status === 'string' ? body : undefined;
}

/**
 * Resolves with every master's /health once exactly one leads and every other is a standby
 * that knows the leader's epoch; rejects after `attempts` polls.
 */
export async function waitForOneLeader(addrs: readonly string[], identity: ClientIdentity, attempts = 600): Promise<MasterHealth[]> {
  let last: (MasterHealth | undefined)[] = [];
  for (let i = 0; i < attempts; i++) {
    last = await Promise.all(addrs.map((a) => masterHealth(a, identity)));
    const leaders = last.filter((h) => h?.role === 'leader' && h.status === 'ok');
    const epoch = leaders[0]?.epoch;
    if (leaders.length === 1 && last.every((h) => h?.role === 'leader' || (h?.role === 'standby' && h.epoch === epoch))) return last as MasterHealth[];
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const said = addrs.map((a, k) => `${a}: ${last[k] ? JSON.stringify(last[k]) : 'no answer'}`).join('; ');
  throw new Error(`the masters did not agree on one leader within ${(attempts * POLL_MS) / 1000} s: ${said}`);
}

/** Resolves once `connected` says yes of what `addr` answers on `path`; rejects after `attempts` polls. */
export async function waitUntil(addr: string, path: string, identity: ClientIdentity, connected: (body: unknown) => boolean, what: string, attempts = 1200): Promise<void> {
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    const got = await getJsonAt(addr, path, identity);
    if (got && got.status === 200 && connected(got.body)) return;
    last = got?.body;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`${what} within ${(attempts * POLL_MS) / 1000} s; it answered ${JSON.stringify(last)?.slice(0, 300)}`);
}
