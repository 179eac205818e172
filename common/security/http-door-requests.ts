/**
 * What the HTTP door reads off a request before it asks who is knocking (does it carry a
 * body, is that JSON, is it a write from another site), and how it answers: JSON, always.
 * Pure but for writing the answer.
 */
import type { IncomingMessage, ServerResponse } from 'http';

/** Answers with `body` as JSON (and `headers`), ending the response. */
export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** True when the request carries a body. */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}

export function isJsonType(contentType: string | undefined): boolean {
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

/** Why a write must be refused as cross-site, or undefined. */
export function crossSite(req: IncomingMessage): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') return `the browser marked this request ${site}`;
  const origin = req.headers.origin;
  if (typeof origin === 'string' && origin !== 'null') {
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return `its Origin '${origin}' is not a URL`;
    }
    if (host !== req.headers.host) return `it comes from ${origin}, not from this server`;
  } else if (origin === 'null') {
    return 'it comes from an opaque origin';
  }
  return undefined;
}
