/**
 * The services framework as the CLI sees it: its address (`--services HOST:PORT`,
 * `AGORA_SERVICES`, else `agora up`'s 127.0.0.1:8080), its Marathon v2 REST API, and its event
 * stream, on which `--wait` learns that a deployment is over. The wire shapes the commands
 * read are declared here, apart from how the commands show them.
 */
import { request, type IncomingMessage } from 'http';
import { EventWatch } from './event-watch';

export const DEFAULT_SERVICES = '127.0.0.1:8080';

export interface ServicesAddress {
  /** `http://host:port` of the REST API. */
  httpUrl: string;
}

export function servicesAddress(raw: string | undefined = process.env.AGORA_SERVICES): ServicesAddress {
  const text = (raw && raw.trim()) || DEFAULT_SERVICES;
  let url: URL;
  try {
    url = new URL(/^[a-z]+:\/\//.test(text) ? text : `http://${text}`);
  } catch {
    throw new ServicesError(`services address '${text}' must be host:port or http://host:port`);
  }
  if (url.protocol !== 'http:') throw new ServicesError(`services address '${text}' must be host:port or http://host:port`);
  return { httpUrl: `http://${url.hostname}:${url.port || 8080}` };
}

/** The framework could not be reached, or refused; the message says which and what to do. */
export class ServicesError extends Error {
  override readonly name = 'ServicesError';
}

/** One place in a definition and what is wrong there (the `details` of a 422). */
export interface ValidationDetail { path: string; errors: string[] }

/** Marathon's error body: `{message, details?}`, and for a 409 the deployments in the way. */
export interface RefusalBody {
  message?: string;
  details?: ValidationDetail[];
  deployments?: { id: string }[];
}

/** The framework answered with an error status; the commands put it in their own words. */
export class ServicesRefusal extends ServicesError {
  constructor(readonly status: number, readonly body: RefusalBody, readonly at: string) {
    super(`the services framework at ${at} answered ${status}: ${body.message ?? 'no reason given'}`);
  }
}

/** What a change answers: the deployment that carries it out. */
export interface DeploymentRef { version: string; deploymentId: string }

export interface TaskJson {
  id: string;
  appId: string;
  host: string;
  ports: number[];
  state: string;
  version: string;
  startedAt: string | null;
  healthCheckResults?: { alive: boolean }[];
}

export interface AppJson {
  id: string;
  cmd?: string;
  args?: string[];
  instances: number;
  cpus: number;
  mem: number;
  disk: number;
  container?: { type?: string; docker?: { image?: string } };
  healthChecks: unknown[];
  version: string;
  tasksStaged: number;
  tasksRunning: number;
  tasksHealthy: number;
  tasksUnhealthy: number;
  deployments: { id: string }[];
  tasks?: TaskJson[];
  lastTaskFailure?: { taskId: string; state: string; message: string; timestamp: string };
}

export interface DeploymentJson {
  id: string;
  version: string;
  affectedApps: string[];
  currentActions: { action: string; app: string }[];
  currentStep: number;
  totalSteps: number;
}

const TIMEOUT_MS = 10_000;

export class ServicesClient {
  constructor(readonly addr: ServicesAddress) {}

  async get<T>(path: string): Promise<T> { return (await this.call<T>('GET', path)).body; }
  async put<T>(path: string, body: unknown): Promise<T> { return (await this.call<T>('PUT', path, body)).body; }
  async delete<T>(path: string): Promise<T> { return (await this.call<T>('DELETE', path)).body; }
  /** A POST's answer and the deployment it started (Marathon's `Marathon-Deployment-Id` header). */
  post<T>(path: string, body?: unknown): Promise<{ body: T; deploymentId: string | undefined }> { return this.call<T>('POST', path, body); }

  private call<T>(method: string, path: string, body?: unknown): Promise<{ body: T; deploymentId: string | undefined }> {
    const data = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(`${this.addr.httpUrl}${path}`, {
        method, timeout: TIMEOUT_MS,
        headers: data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      }, (res) => {
        readAll(res).then((text) => {
          const status = res.statusCode ?? 0;
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : {};
          } catch {
            if (status < 400) return reject(new ServicesError(`${this.addr.httpUrl} answered ${method} ${path} with something other than JSON: is it the services framework?`));
            parsed = { message: text.slice(0, 300) };
          }
          if (status >= 400) reject(new ServicesRefusal(status, parsed as RefusalBody, this.addr.httpUrl));
          else resolve({ body: parsed as T, deploymentId: headerOf(res, 'marathon-deployment-id') });
        }, reject);
      });
      req.on('timeout', () => req.destroy(new Error(`no answer to ${method} ${path} within ${TIMEOUT_MS} ms`)));
      req.on('error', (err) => reject(unreachable(this.addr, err)));
      req.end(data);
    });
  }

  /**
   * Listens for deployments ending, from before the change that starts one is sent: a
   * deployment with nothing to wait for (a scale to the count already running) ends before
   * its answer arrives, and would otherwise be missed. Resolves once the stream is open.
   */
  watchDeployments(): Promise<DeploymentWatch> {
    return DeploymentWatch.open(this.addr);
  }
}

function unreachable(addr: ServicesAddress, err: Error): ServicesError {
  return new ServicesError(`cannot reach the services framework at ${addr.httpUrl}: ${err.message} ` +
    '(is it running? `agora up` starts one on 127.0.0.1:8080; else name it with --services HOST:PORT or AGORA_SERVICES)');
}

function headerOf(res: IncomingMessage, name: string): string | undefined {
  const v = res.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => { text += c; });
    res.on('end', () => resolve(text));
    res.on('error', reject);
  });
}

type Outcome = { ok: true } | { ok: false; reason: string };

/** `deployment_success` and `deployment_failed` from `/v2/events`, by deployment id. */
export class DeploymentWatch {
  private constructor(private readonly w: EventWatch<Outcome>) {}

  static async open(addr: ServicesAddress): Promise<DeploymentWatch> {
    return new DeploymentWatch(await EventWatch.open<Outcome>({
      url: `${addr.httpUrl}/v2/events?event_type=deployment_success&event_type=deployment_failed`,
      pick: (_, data) => {
        const e = JSON.parse(data) as { eventType?: string; id?: unknown; reason?: unknown };
        if (typeof e.id !== 'string') return undefined;
        const outcome: Outcome | undefined = e.eventType === 'deployment_success' ? { ok: true }
          : e.eventType === 'deployment_failed' ? { ok: false, reason: typeof e.reason === 'string' ? e.reason : 'no reason given' } : undefined;
        return outcome && { id: e.id, outcome };
      },
      fail: (m) => new ServicesError(`the services framework at ${addr.httpUrl} ${m}`),
      unreachable: (err) => unreachable(addr, err),
      endedBefore: (m, id) => new ServicesError(`${m} before deployment ${id} finished; see agora deployments`),
    }));
  }

  /** Resolves when deployment `id` succeeds; rejects saying why if it fails, is cancelled, or the stream ends first. */
  async done(id: string): Promise<void> {
    const outcome = await this.w.outcome(id);
    if (!outcome.ok) throw failed(id, outcome.reason);
  }

  close(): void {
    this.w.close();
  }
}

function failed(id: string, reason: string): ServicesError {
  return new ServicesError(`deployment ${id} did not succeed: ${reason}`);
}
