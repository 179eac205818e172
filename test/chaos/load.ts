/**
 * The chaos load: one operation every `opIntervalMs`, chosen by the seeded RNG, through the
 * three ways work reaches Agora —
 *   the SDK      a tiny framework (`chaos-sdk`) launching `sleep` tasks into its offers and killing them;
 *   services     Marathon's `/v2/apps`: create, scale, destroy apps of `sleep` instances;
 *   jobs         Metronome's `/v1/jobs`: create jobs, run them now.
 * Every request is an `invoke` in the history and its answer a `complete`; the SDK framework's
 * offers, status updates and acknowledgements are recorded as they happen. Every command first
 * appends its task id to the start file (cluster.ts `startLine`): the ground truth of what ran.
 *
 * `final()` reads what the checkers compare against: an explicit reconciliation of every SDK task
 * ever launched, each job's runs once none is active, and the start file.
 */
import { readFileSync } from 'fs';
import { dirname } from 'path';
import type { Random } from '../../common/clock';
import type { Offer, TaskStatus } from '../../common/types';
import { subscribe, task, type Scheduler } from '../../frameworks/sdk';
import type { DoorClient } from '../support/http';
import { CHAOS_IMAGE, startLine, waitUntil, type ChaosCluster } from './cluster';
import { offerEpoch, type History, type OpKind } from './history';

export interface LoadOptions {
  /** Time between operations (default 400 ms). */
  opIntervalMs?: number;
  /** At most this many SDK tasks alive, apps and jobs (defaults 12, 3, 3). */
  maxTasks?: number;
  maxApps?: number;
  maxJobs?: number;
  /** How often the apps are sampled for the capacity rule (default 1000 ms). */
  appSampleMs?: number;
}

/** A run as the jobs API lists it, the parts the checkers read. */
interface RunJson { id: string; status: string; agora?: { attempts?: { exitCode: number | null; endedAt: string | null }[] } }

interface Answer { status: number; body: Record<string, unknown> | undefined }

/** A REST call as the cluster's admin (HTTPS, credentials: cluster.ts `door`). */
async function call(door: DoorClient, method: string, url: string, body?: unknown): Promise<Answer> {
  const res = await door.fetch(url, {
    method, signal: AbortSignal.timeout(5000),
    headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> | undefined;
  try { parsed = text ? JSON.parse(text) as Record<string, unknown> : undefined; } catch { parsed = undefined; }
  return { status: res.status, body: parsed };
}

const pick = <T>(r: Random, xs: readonly T[]): T => xs[Math.floor(r.next() * xs.length)]!;

export class Load {
  private s!: Scheduler;
  private seq = 0;
  private readonly created = { apps: 0, jobs: 0 };
  private opSeq = 0;
  private pending: string[] = [];
  /** Every SDK task launched (accepted by the master), and where. */
  readonly launched = new Map<string, string>();
  private readonly live = new Set<string>();
  private readonly apps = new Set<string>();
  readonly jobs: string[] = [];
  private opTimer: ReturnType<typeof setInterval> | undefined;
  private sampleTimer: ReturnType<typeof setInterval> | undefined;
  private inFlight = new Set<Promise<unknown>>();
  private reconciled: Map<string, string> | undefined;
  private readonly o: Required<LoadOptions>;

  constructor(private readonly cluster: ChaosCluster, private readonly history: History, private readonly random: Random, o: LoadOptions = {}) {
    this.o = { opIntervalMs: 400, maxTasks: 12, maxApps: 3, maxJobs: 3, appSampleMs: 1000, ...o };
  }

  private get services(): string { return this.cluster.door.url(`127.0.0.1:${this.cluster.ports.services[0]}`); }
  private get jobsUrl(): string { return this.cluster.door.url(`127.0.0.1:${this.cluster.ports.jobs[0]}`); }

  async start(): Promise<void> {
    const grpc = this.cluster.masters.map((m) => `127.0.0.1:${m.grpc}`);
    const leader = this.cluster.leader();
    this.s = await subscribe({
      grpcAddress: leader ? `127.0.0.1:${leader.grpc}` : grpc[0]!, autoAcknowledge: false,
      framework: { name: 'chaos-sdk', failoverTimeoutMs: 600_000 },
      reconnect: { initialDelayMs: 100, maxDelayMs: 1000, grpcAddresses: grpc },
    });
    this.s.on('offers', (offers) => { for (const offer of offers) this.onOffer(offer); });
    this.s.on('update', (status) => this.onUpdate(status));
    this.s.on('error', () => undefined);   // its own calls' failures (acks, reconciliation) are in the history already, or retried
    this.opTimer = setInterval(() => this.track(this.step()), this.o.opIntervalMs);
    this.sampleTimer = setInterval(() => this.track(this.sampleApps()), this.o.appSampleMs);
  }

  private track(p: Promise<unknown>): void {
    this.inFlight.add(p);
    void p.catch(() => undefined).finally(() => this.inFlight.delete(p));
  }

  /** Records an operation and its answer; `run` returns what to put in `result`. */
  private async op(f: OpKind, args: Record<string, unknown>, run: () => Promise<Record<string, unknown> | undefined>): Promise<boolean> {
    const op = ++this.opSeq;
    this.history.add({ type: 'invoke', op, f, args });
    try {
      const result = await run();
      this.history.add({ type: 'complete', op, f, ok: true, ...(result ? { result } : {}) });
      return true;
    } catch (err) {
      this.history.add({ type: 'complete', op, f, ok: false, error: (err as Error).message });
      return false;
    }
  }

  private onOffer(offer: Offer): void {
    this.history.add({ type: 'offer', offerId: offer.id, epoch: offerEpoch(offer.id), agentId: offer.agentId });
    const id = this.pending.shift();
    if (!id) {
      this.s.decline([offer.id], { refuseMs: 1000, reason: 'chaos: nothing to launch' }).catch(() => undefined);
      return;
    }
    const info = task({ id, command: `${startLine(this.cluster.startFile)}; exec sleep 3600`, cpus: 0.01, mem: 8, process: true }, offer);
    this.track(this.op('launch', { taskId: id, offerId: offer.id, agentId: offer.agentId }, async () => {
      await this.s.launch(offer, [info]);
      this.launched.set(id, offer.agentId);
      this.live.add(id);
      return undefined;
    }));
  }

  private onUpdate(st: TaskStatus): void {
    this.history.add({ type: 'update', taskId: st.taskId, state: st.state, ...(st.uuid ? { uuid: st.uuid } : {}), reason: st.reason, source: st.source });
    if (this.reconciled && st.reason === 'REASON_RECONCILIATION') this.reconciled.set(st.taskId, st.state);
    // A launch whose answer was lost in a failover may still have reached the master: its updates say so.
    if (st.taskId.startsWith('sdk-') && !this.launched.has(st.taskId)) {
      this.launched.set(st.taskId, st.agentId);
      this.live.add(st.taskId);
    }
    if (['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED', 'TASK_ERROR', 'TASK_LOST', 'TASK_DROPPED', 'TASK_GONE'].includes(st.state)) this.live.delete(st.taskId);
    if (!st.uuid) return;
    const ack = { taskId: st.taskId, state: st.state, uuid: st.uuid };
    this.s.acknowledge(st).then(
      () => this.history.add({ type: 'ack', ...ack, ok: true }),
      (err: Error) => this.history.add({ type: 'ack', ...ack, ok: false, error: err.message }),
    );
  }

  /** One operation, chosen by the RNG among those that make sense now. */
  private async step(): Promise<void> {
    const x = this.random.next();
    if (x < 0.3) return this.launchOne();
    if (x < 0.45) return this.killOne();
    if (x < 0.7) return this.appOp();
    return this.jobOp();
  }

  private async launchOne(): Promise<void> {
    if (this.live.size + this.pending.length >= this.o.maxTasks) return this.killOne();
    this.pending.push(`sdk-${++this.seq}`);
  }

  /**
   * Whether the next app (or job) created runs in Docker or as processes, held to the Docker or
   * the process agents by their `engine` attribute (offers do not say which containerizers an
   * agent runs, so a Docker task sent to a process agent fails there, and is retried): the first
   * of each, then every other one, counted apart from the other operations so that both kinds
   * are always made.
   */
  private docker(kind: 'apps' | 'jobs'): boolean {
    if (this.cluster.engine === undefined) return false;
    return this.created[kind]++ % 2 === 0;
  }

  /** The start file's directory, mounted into a Docker task at the same path. */
  private get startVolume(): { hostPath: string; containerPath: string } {
    const dir = dirname(this.cluster.startFile);
    return { hostPath: dir, containerPath: dir };
  }

  private async killOne(): Promise<void> {
    if (this.live.size === 0) return;
    const taskId = pick(this.random, [...this.live].sort());
    await this.op('kill', { taskId }, async () => { await this.s.kill(taskId, { agentId: this.launched.get(taskId) }); return undefined; });
  }

  private async appOp(): Promise<void> {
    const apps = [...this.apps].sort();
    const x = this.random.next();
    if (apps.length < this.o.maxApps && (apps.length === 0 || x < 0.4)) {
      const appId = `/chaos-app-${++this.seq}`;
      const instances = 1 + Math.floor(this.random.next() * 3);
      const docker = this.docker('apps');
      const ok = await this.op('app-create', { appId, instances, docker }, () => this.http('POST', `${this.services}/v2/apps`, {
        id: appId, cmd: `${startLine(this.cluster.startFile)}; exec sleep 3600`, cpus: 0.01, mem: 16, instances,
        upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0 },
        ...(docker
          ? { container: { type: 'DOCKER', docker: { image: CHAOS_IMAGE }, volumes: [{ ...this.startVolume, mode: 'RW' }] }, constraints: [['engine', 'LIKE', 'docker']] }
          : { constraints: [['engine', 'LIKE', 'process']] }),
      }));
      if (ok) this.apps.add(appId);
      return;
    }
    const appId = pick(this.random, apps);
    if (x < 0.8) {
      const instances = 1 + Math.floor(this.random.next() * 3);
      await this.op('app-scale', { appId, instances }, () => this.http('PATCH', `${this.services}/v2/apps${appId}`, { instances }));
      return;
    }
    if (await this.op('app-destroy', { appId }, () => this.http('DELETE', `${this.services}/v2/apps${appId}`))) this.apps.delete(appId);
  }

  private async jobOp(): Promise<void> {
    if (this.jobs.length < this.o.maxJobs && (this.jobs.length === 0 || this.random.next() < 0.2)) {
      const jobId = `chaos-job-${++this.seq}`;
      const docker = this.docker('jobs');
      const ok = await this.op('job-create', { jobId, docker }, () => this.http('POST', `${this.jobsUrl}/v1/jobs`, {
        // ON_FAILURE: an attempt lost before its command began (its agent killed mid-launch) is tried again;
        // one that began and is tried again anyway shows as two start lines of one run.
        id: jobId, run: {
          cmd: startLine(this.cluster.startFile), cpus: 0.01, mem: 32, restart: { policy: 'ON_FAILURE', activeDeadlineSeconds: 300 },
          ...(docker
            ? { docker: { image: CHAOS_IMAGE }, volumes: [{ ...this.startVolume, mode: 'RW' }], placement: { constraints: [{ attribute: 'engine', operator: 'LIKE', value: 'docker' }] } }
            : { placement: { constraints: [{ attribute: 'engine', operator: 'LIKE', value: 'process' }] } }),
        },
      }));
      if (ok) this.jobs.push(jobId);
      return;
    }
    const jobId = pick(this.random, this.jobs);
    await this.op('job-run', { jobId }, async () => {
      const a = await this.http('POST', `${this.jobsUrl}/v1/jobs/${jobId}/runs`);
      return { jobId, runId: String(a?.id) };
    });
  }

  /** A REST call; a status above 299 throws, naming it. */
  private async http(method: string, url: string, body?: unknown): Promise<Record<string, unknown> | undefined> {
    const a = await call(this.cluster.door, method, url, body);
    if (a.status > 299) throw new Error(`${method} ${new URL(url).pathname}: ${a.status} ${JSON.stringify(a.body ?? {}).slice(0, 200)}`);
    return { status: a.status, ...(a.body && !Array.isArray(a.body) ? pickIds(a.body) : {}) };
  }

  private async sampleApps(): Promise<void> {
    let a: Answer;
    try { a = await call(this.cluster.door, 'GET', `${this.services}/v2/apps`); } catch { return; }   // the framework is away: no sample
    const apps = (a.body?.apps ?? []) as { id: string; instances: number; tasksRunning: number; deployments: unknown[]; upgradeStrategy?: { minimumHealthCapacity?: number } }[];
    for (const app of apps) {
      this.history.add({
        type: 'app', appId: app.id, instances: app.instances, running: app.tasksRunning,
        minimumHealthCapacity: app.upgradeStrategy?.minimumHealthCapacity ?? 1, deploying: app.deployments.length > 0,
      });
    }
  }

  /** Stops issuing operations and waits for those in flight. */
  async stop(): Promise<void> {
    if (this.opTimer) clearInterval(this.opTimer);
    if (this.sampleTimer) clearInterval(this.sampleTimer);
    this.pending = [];
    await Promise.allSettled([...this.inFlight]);
  }

  /** The final reads (see the header), each bounded by `timeoutMs`. */
  async final(timeoutMs: number): Promise<void> {
    await waitUntil('the SDK framework is subscribed', () => this.s.connected, timeoutMs);
    await this.finalJobs(timeoutMs);
    await this.finalReconcile(timeoutMs);
    await this.sampleApps();
    for (const line of readFileSync(this.cluster.startFile, 'utf8').split('\n')) {
      const [taskId, at, engine] = line.trim().split(' ');
      if (taskId) this.history.add({ type: 'start', taskId, at: Number(at), ...(engine === 'docker' || engine === 'process' ? { engine } : {}) });
    }
  }

  private async finalJobs(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const jobId of this.jobs) {
      let runs: RunJson[] = [];
      await waitUntil(`the runs of ${jobId} end`, async () => {
        try {
          const a = await call(this.cluster.door, 'GET', `${this.jobsUrl}/v1/jobs/${jobId}/runs?all=true`);
          runs = (a.body as unknown as RunJson[] | undefined) ?? [];
          return a.status === 200 && runs.every((r) => ['SUCCESS', 'FAILED'].includes(r.status));
        } catch { return false; }
      }, Math.max(0, deadline - Date.now())).catch(() => undefined);   // still active at the deadline: the checker says so
      this.history.add({
        type: 'job-runs', jobId,
        runs: runs.map((r) => ({
          runId: r.id, status: r.status,
          attempts: (r.agora?.attempts ?? []).map((t) => ({ exitCode: t.exitCode, endedAt: t.endedAt ? Date.parse(t.endedAt) : null })),
        })),
      });
    }
  }

  private async finalReconcile(timeoutMs: number): Promise<void> {
    const answers = new Map<string, string>();
    this.reconciled = answers;
    const named = [...this.launched.entries()].map(([taskId, agentId]) => ({ taskId, agentId }));
    let asked = 0;
    await waitUntil('every SDK task reconciled', async () => {
      if (answers.size >= named.length) return true;
      if (Date.now() - asked > 3000) {
        asked = Date.now();
        await this.s.reconcile(named.filter((n) => !answers.has(n.taskId))).catch(() => undefined);
      }
      return false;
    }, timeoutMs).catch(() => undefined);   // unanswered tasks: the checker names them
    this.reconciled = undefined;
    for (const [taskId, state] of answers) this.history.add({ type: 'reconciled', taskId, state });
  }

  connected(): boolean {
    return this.s?.connected ?? false;
  }

  close(): void {
    this.s?.close();
  }
}

function pickIds(body: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['id', 'deploymentId', 'version']) if (k in body) out[k] = body[k];
  return out;
}
