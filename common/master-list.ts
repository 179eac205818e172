/**
 * A client names the masters of an HA cluster as a comma-separated list
 * (`m1:5050,m2:5050,m3:5050`): any one of them that answers leads it to the leader, so the
 * client survives the loss of any master but the last. One address is a list of one. Pure:
 * no config is read and nothing connects here (operator-client.ts does both).
 */

/** One master's operator API: where a request may go. */
export interface MasterEndpoint {
  /** `https://host:port` of the master's operator API (`http://` on an open cluster). */
  httpUrl: string;
  host: string;
  httpPort: number;
}

/** A master address, or one entry of a list, that cannot be one: says which and why. */
export class MasterAddressError extends Error {
  override readonly name = 'MasterAddressError';
  constructor(readonly entry: string, why: string) {
    super(`master address '${entry}' ${why}`);
  }
}

/**
 * Parses `text`: one address or a comma-separated list, each `host:port`, `https://host:port`
 * or `http://host:port` (port 5050 when none). `scheme` is for entries without one. Entries
 * named twice are kept once, in their first place. Throws MasterAddressError for an empty
 * entry or a bad one, naming it.
 */
export function parseMasterList(text: string, scheme: 'http' | 'https'): MasterEndpoint[] {
  const entries = text.split(',').map((e) => e.trim());
  const endpoints: MasterEndpoint[] = [];
  entries.forEach((entry, i) => {
    if (!entry) throw new MasterAddressError(text, `has an empty entry (number ${i + 1} of ${entries.length}): name each master as host:port, separated by commas`);
    const e = parseOne(entry, scheme);
    if (!endpoints.some((known) => known.httpUrl === e.httpUrl)) endpoints.push(e);
  });
  return endpoints;
}

function parseOne(entry: string, scheme: 'http' | 'https'): MasterEndpoint {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? entry : `${scheme}://${entry}`);
  } catch {
    throw new MasterAddressError(entry, 'is not host:port, https://host:port or http://host:port');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new MasterAddressError(entry, 'must be host:port, https://host:port or http://host:port');
  if (!url.hostname) throw new MasterAddressError(entry, 'names no host');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username) {
    throw new MasterAddressError(entry, 'must be host:port alone, without a path, query or user');
  }
  const httpPort = url.port ? Number(url.port) : 5050;
  return { httpUrl: `${url.protocol}//${url.hostname}:${httpPort}`, host: url.hostname, httpPort };
}

/** The list as a client passes it on: each master's URL, comma-separated. */
export function masterListText(endpoints: readonly MasterEndpoint[]): string {
  return endpoints.map((e) => e.httpUrl).join(',');
}
