/**
 * The services framework as the CLI sees it: its address (`--services HOST:PORT`,
 * `AGORA_SERVICES`, else `agora up`'s 127.0.0.1:8080), its Marathon v2 REST API, and its event
 * stream, on which `--wait` learns that a deployment is over. The wire shapes the commands
 * read are declared here, apart from how the commands show them; the calls themselves are
 * framework-client.ts's.
 */
import { FrameworkCliError, FrameworkClient, frameworkAddress } from './framework-client';
import type { EventWatch } from './event-watch';

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


export class ServicesClient extends FrameworkClient {
  constructor(raw?: string) {
    super('services', frameworkAddress('services', raw));
  }

  /** A POST that starts a deployment: its answer and the deployment (Marathon's `Marathon-Deployment-Id` header). */
  async deploy<T>(path: string, body?: unknown): Promise<{ body: T; deploymentId: string | undefined }> {
    const r = await this.call<T>('POST', path, body);
    const id = r.headers['marathon-deployment-id'];
    return { body: r.body, deploymentId: Array.isArray(id) ? id[0] : id };
  }

  /**
   * Listens for deployments ending, from before the change that starts one is sent: a
   * deployment with nothing to wait for (a scale to the count already running) ends before
   * its answer arrives, and would otherwise be missed. Resolves once the stream is open.
   */
  async watchDeployments(): Promise<DeploymentWatch> {
    return new DeploymentWatch(await this.watch<Outcome>('/v2/events?event_type=deployment_success&event_type=deployment_failed', (_, data) => {
      const e = JSON.parse(data) as { eventType?: string; id?: unknown; reason?: unknown };
      if (typeof e.id !== 'string') return undefined;
      const outcome: Outcome | undefined = e.eventType === 'deployment_success' ? { ok: true }
        : e.eventType === 'deployment_failed' ? { ok: false, reason: typeof e.reason === 'string' ? e.reason : 'no reason given' } : undefined;
      return outcome && { id: e.id, outcome };
    }, (m, id) => `${m} before deployment ${id} finished; see agora deployments`));
  }
}

type Outcome = { ok: true } | { ok: false; reason: string };

/** `deployment_success` and `deployment_failed` from `/v2/events`, by deployment id. */
export class DeploymentWatch {
  constructor(private readonly w: EventWatch<Outcome>) {}

  /** Resolves when deployment `id` succeeds; rejects saying why if it fails, is cancelled, or the stream ends first. */
  async done(id: string): Promise<void> {
    const outcome = await this.w.outcome(id);
    if (!outcome.ok) throw new FrameworkCliError(`deployment ${id} did not succeed: ${outcome.reason}`);
  }

  close(): void {
    this.w.close();
  }
}
