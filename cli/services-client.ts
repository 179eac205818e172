/**
 * The services framework as the CLI sees it: its address (`--services HOST:PORT`,
 * `AGORA_SERVICES`, else `agora up`'s 127.0.0.1:8080), its Marathon v2 REST API, and its event
 * stream, on which `--wait` learns that a deployment is over. The wire shapes the commands
 * read are declared here, apart from how the commands show them.
 */
import { clientIdentity } from '../common/security/client-config';
import { schemeFor } from '../common/security/https';
import { callJson } from './framework-http';
import { EventWatch } from './event-watch';

export const DEFAULT_SERVICES = '127.0.0.1:8080';

export interface ServicesAddress {
  /** `https://host:port` (`http://` on an open cluster) of the REST API. */
  httpUrl: string;
}

export function servicesAddress(raw: string | undefined = process.env.AGORA_SERVICES): ServicesAddress {
  const text = (raw && raw.trim()) || DEFAULT_SERVICES;
  let url: URL;
  try {
    // No scheme: HTTPS when this client trusts the cluster's CA (a locked cluster).
    url = new URL(/^[a-z]+:\/\//.test(text) ? text : `${schemeFor(clientIdentity()?.ca)}://${text}`);
  } catch {
    throw new ServicesError(`services address '${text}' must be host:port, https://host:port or http://host:port`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ServicesError(`services address '${text}' must be host:port, https://host:port or http://host:port`);
  return { httpUrl: `${url.protocol}//${url.hostname}:${url.port || 8080}` };
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


export class ServicesClient {
  constructor(readonly addr: ServicesAddress) {}

  async get<T>(path: string): Promise<T> { return (await this.call<T>('GET', path)).body; }
  async put<T>(path: string, body: unknown): Promise<T> { return (await this.call<T>('PUT', path, body)).body; }
  async delete<T>(path: string): Promise<T> { return (await this.call<T>('DELETE', path)).body; }
  /** A POST's answer and the deployment it started (Marathon's `Marathon-Deployment-Id` header). */
  post<T>(path: string, body?: unknown): Promise<{ body: T; deploymentId: string | undefined }> { return this.call<T>('POST', path, body); }

  private async call<T>(method: string, path: string, body?: unknown): Promise<{ body: T; deploymentId: string | undefined }> {
    const r = await callJson({
      url: this.addr.httpUrl, method, path, body, what: 'the services framework',
      refusal: (status, b) => new ServicesRefusal(status, b as RefusalBody, this.addr.httpUrl),
      unreachable: (err) => unreachable(this.addr, err), fail: (m) => new ServicesError(m),
    });
    const id = r.headers['marathon-deployment-id'];
    return { body: r.body as T, deploymentId: Array.isArray(id) ? id[0] : id };
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
