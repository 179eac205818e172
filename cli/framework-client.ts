/**
 * A framework's REST API as the CLI calls it (`agora app`, `agora job`): where it is
 * (`--services`/`--jobs`, then `AGORA_SERVICES`/`AGORA_JOBS`, else where `agora up` serves
 * it), one JSON call at a time (framework-http.ts), an error status as a `FrameworkRefusal`
 * for the commands to put in their own words, and an unreachable framework said with what to
 * do about it. services-client.ts and jobs-client.ts add each framework's wire shapes and
 * what its commands wait for on its event stream.
 */
import { clientIdentity } from '../common/security/client-config';
import { schemeFor } from '../common/security/https';
import { EventWatch, type EventWatchOptions } from './event-watch';
import { callJson } from './framework-http';

/** Which framework: its name in messages ("the jobs framework"), its flag and its variable. */
export type FrameworkKind = 'services' | 'jobs';

/** Where `agora up` serves each framework. */
const DEFAULT_PORT: Record<FrameworkKind, number> = { services: 8080, jobs: 4400 };

export interface FrameworkAddress {
  /** `https://host:port` (`http://` on an open cluster) of the REST API. */
  httpUrl: string;
}

/** The framework could not be reached, or refused; the message says which and what to do. */
export class FrameworkCliError extends Error {
  override readonly name = 'FrameworkCliError';
}

/** One place in a definition and what is wrong there (the `details` of a 422, or of a Chronos 400). */
export interface ValidationDetail { path: string; errors: string[] }

/** An error body: `{message, details?}`; Marathon's 409 adds the deployments in the way. */
export interface RefusalBody {
  message?: string;
  details?: ValidationDetail[];
  deployments?: { id: string }[];
}

/** The framework answered with an error status; the commands put it in their own words. */
export class FrameworkRefusal extends FrameworkCliError {
  constructor(readonly kind: FrameworkKind, readonly status: number, readonly body: RefusalBody, readonly at: string) {
    super(`the ${kind} framework at ${at} answered ${status}: ${body.message ?? 'no reason given'}`);
  }
}

/** `host:port`, `https://host:port` or `http://host:port`; default: the environment's, else `agora up`'s. */
export function frameworkAddress(kind: FrameworkKind, raw: string | undefined = process.env[envName(kind)]): FrameworkAddress {
  const text = (raw && raw.trim()) || `127.0.0.1:${DEFAULT_PORT[kind]}`;
  const wrong = () => new FrameworkCliError(`${kind} address '${text}' must be host:port, https://host:port or http://host:port`);
  let url: URL;
  try {
    // No scheme: HTTPS when this client trusts the cluster's CA (a locked cluster).
    url = new URL(/^[a-z]+:\/\//.test(text) ? text : `${schemeFor(clientIdentity()?.ca)}://${text}`);
  } catch {
    throw wrong();
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw wrong();
  return { httpUrl: `${url.protocol}//${url.hostname}:${url.port || DEFAULT_PORT[kind]}` };
}

const envName = (kind: FrameworkKind) => `AGORA_${kind.toUpperCase()}`;

export class FrameworkClient {
  constructor(readonly kind: FrameworkKind, readonly addr: FrameworkAddress) {}

  async get<T>(path: string): Promise<T> { return (await this.call<T>('GET', path)).body; }
  async post<T>(path: string, body?: unknown): Promise<T> { return (await this.call<T>('POST', path, body)).body; }
  async put<T>(path: string, body: unknown): Promise<T> { return (await this.call<T>('PUT', path, body)).body; }
  async delete<T>(path: string): Promise<T> { return (await this.call<T>('DELETE', path)).body; }

  /** GET, with a 404 as undefined: whether something exists. */
  async find<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof FrameworkRefusal && err.status === 404) return undefined;
      throw err;
    }
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T; headers: Record<string, string | string[] | undefined> }> {
    const r = await callJson({
      url: this.addr.httpUrl, method, path, body, what: `the ${this.kind} framework`,
      refusal: (status, b) => new FrameworkRefusal(this.kind, status, b as RefusalBody, this.addr.httpUrl),
      unreachable: (err) => this.unreachable(err), fail: (m) => new FrameworkCliError(m),
    });
    return { status: r.status, body: r.body as T, headers: r.headers };
  }

  /**
   * Outcomes read from the event stream at `path`, by id (event-watch.ts); `endedBefore` says
   * what the stream's end means for the thing still waited for.
   */
  watch<T>(path: string, pick: EventWatchOptions<T>['pick'], endedBefore: (message: string, id: string) => string): Promise<EventWatch<T>> {
    return EventWatch.open<T>({
      url: `${this.addr.httpUrl}${path}`, pick,
      fail: (m) => new FrameworkCliError(`the ${this.kind} framework at ${this.addr.httpUrl} ${m}`),
      unreachable: (err) => this.unreachable(err),
      endedBefore: (m, id) => new FrameworkCliError(endedBefore(m, id)),
    });
  }

  private unreachable(err: Error): FrameworkCliError {
    return new FrameworkCliError(`cannot reach the ${this.kind} framework at ${this.addr.httpUrl}: ${err.message} ` +
      `(is it running? \`agora up\` starts one on 127.0.0.1:${DEFAULT_PORT[this.kind]}; else name it with --${this.kind} HOST:PORT or ${envName(this.kind)})`);
  }
}
