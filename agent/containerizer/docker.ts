/**
 * The Docker containerizer: one Docker container per task run, through the Engine API.
 *
 * Every container carries labels naming its agent, framework, task and container id, so the
 * agent can find its own containers after a restart and never touches anyone else's. The
 * task's output is streamed from the container into the sandbox's `stdout` and `stderr`.
 * Limits are real: `cpus` becomes a CFS quota (NanoCpus), `mem` a hard memory limit with
 * no extra swap. A shell command runs under an init process (`docker-init`) as PID 1, so
 * SIGTERM reaches it instead of being ignored by a shell running as PID 1.
 *
 * An image the engine does not have (or every image, with `forcePullImage`) is pulled
 * first, within a bounded time; a task's volumes become bind mounts, its sandbox-relative
 * ones made inside the run's sandbox.
 *
 * What a container is created with is in docker-create.ts; pulling images, in docker-engine.ts;
 * moving its output into the sandbox, in docker-output.ts. Every call to the engine goes through
 * docker-client.ts, its one door: bounded in number, kills first.
 */
import { createWriteStream, mkdirSync } from 'fs';
import type { ContainerInfo } from 'dockerode';
import { Writable } from 'stream';
import { join } from 'path';
import { mapLimited } from '../../common/limit';
import { DEFAULT_DOCKER_USER } from '../../common/security/defaults';
import { logger, type Logger } from '../../common/log';
import {
  EXEC_OUTPUT_MAX, LaunchError, type Containerizer, type ExecOptions, type ExecResult, type LaunchSpec,
  type RecoverSpec, type Recovered, type RunIdentity, type Termination,
} from './containerizer';
import { dockerStatistics, UsageError, type ContainerUsage } from './statistics';
import { resolveVolumes, volumesProblem, workingDirectory } from './volumes';
import { appendMissing, closeFile, drained } from './docker-output';
import { CONTAINER_SANDBOX, createOptions, giveSandboxTo, LABELS } from './docker-create';
import { DEFAULT_PULL_TIMEOUT_MS, ensureImage } from './docker-engine';
import { dockerMessage, type DockerEngine } from './docker-client';

/**
 * At most this many containers are cleared side by side when the agent clears many (on stop,
 * after a restart). The engine's own line bounds the calls in flight anyway (docker-client.ts);
 * this only keeps a burst of hundreds from queueing there all at once, ahead of everything else.
 */
const BURST_LIMIT = 8;

/** How long the output stream may lag behind the exit before it is cut off. */
const OUTPUT_DRAIN_MS = 2_000;

const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

interface Running {
  dockerId: string;
  exited: Promise<Termination>;
}

export interface DockerContainerizerOptions {
  /** The engine, through its bounded line (docker-client.ts). */
  docker: DockerEngine;
  defaultImage: string;
  /** The agent's current id, for finding its containers by label. */
  agentId(): string;
  /** An image pull that has not finished by then is abandoned and the launch fails. */
  pullTimeoutMs?: number;
  /**
   * Who a task that names no user runs as: by default nobody (65534:65534), the user the
   * master's ACLs checked; '' runs it as its image's own user (often root).
   */
  defaultUser?: string;
  log?: Logger;
}

export class DockerContainerizer implements Containerizer {
  readonly kind = 'docker' as const;
  private readonly running = new Map<string, Running>();
  private readonly docker: DockerEngine;
  private readonly log: Logger;

  constructor(private readonly opts: DockerContainerizerOptions) {
    this.docker = opts.docker;
    this.log = opts.log ?? logger('agent/docker');
  }

  private userOf(spec: LaunchSpec): string {
    return spec.task.command.user || (this.opts.defaultUser ?? DEFAULT_DOCKER_USER);
  }

  async launch(spec: LaunchSpec): Promise<RunIdentity> {
    const image = spec.task.container.docker?.image || this.opts.defaultImage;
    // What is wrong with the task itself is said before anything is pulled or made.
    const volumes = spec.task.container.volumes ?? [];
    const problem = volumesProblem(volumes);
    if (problem) throw new LaunchError(problem);
    const workDir = workingDirectory(CONTAINER_SANDBOX, spec.task.command.workingDirectory);
    if (workDir === undefined) {
      throw new LaunchError(`command.workingDirectory '${spec.task.command.workingDirectory}' leads out of the sandbox; use a path inside it or an absolute one`);
    }
    const mounts = resolveVolumes(spec.sandboxDir, volumes);
    for (const v of mounts.filter((m) => m.inSandbox)) {
      try {
        mkdirSync(v.hostPath, { recursive: true });
      } catch (err) {
        throw new LaunchError(`cannot create the volume directory ${v.hostPath} in the sandbox: ${(err as Error).message}`, { cause: err });
      }
    }
    giveSandboxTo(this.userOf(spec), spec.sandboxDir, mounts);
    await ensureImage(this.docker, image, spec.task.container.docker?.forcePullImage ?? false, this.opts.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS, this.log);
    let dockerId: string;
    try {
      dockerId = await this.docker.create(createOptions(spec, image, this.userOf(spec), workDir, mounts));
    } catch (err) {
      throw new LaunchError(`docker could not create the container from '${image}': ${dockerMessage(err)}`, { cause: err });
    }
    const out = createWriteStream(join(spec.sandboxDir, 'stdout'), { flags: 'a' });
    const errOut = createWriteStream(join(spec.sandboxDir, 'stderr'), { flags: 'a' });
    for (const w of [out, errOut]) w.on('error', (e) => this.log.warn('cannot write task output', { containerId: spec.containerId, err: e }));
    try {
      // Attach before start, so not a byte of early output is missed.
      const stream = await this.docker.attach(dockerId);
      this.docker.demux(stream, out, errOut);
      await this.docker.start(dockerId);
      const exited = this.watch(dockerId, spec.sandboxDir, stream, out, errOut);
      this.running.set(spec.containerId, { dockerId, exited });
      return {};
    } catch (err) {
      out.end();
      errOut.end();
      await this.docker.remove(dockerId).catch(() => undefined);
      throw new LaunchError(`docker could not start the container: ${dockerMessage(err)}`, { cause: err });
    }
  }

  wait(containerId: string): Promise<Termination> {
    const r = this.running.get(containerId);
    if (!r) return Promise.reject(new Error(`unknown docker container ${containerId}`));
    return r.exited;
  }

  async kill(containerId: string, gracePeriodMs: number): Promise<void> {
    const r = this.running.get(containerId);
    if (r) await this.stop(r.dockerId, gracePeriodMs);
  }

  async destroy(containerId: string): Promise<void> {
    const r = this.running.get(containerId);
    if (!r) {
      // A run recovered as already exited is not tracked: find it by its label.
      for (const c of await this.labelled(containerId)) await this.remove(c.Id);
      return;
    }
    await this.remove(r.dockerId);
    await r.exited;
    this.running.delete(containerId);
  }

  /**
   * Finds the run's container by its labels. Its output while the agent was away is in
   * Docker's log: what the sandbox files lack of it is appended, and a running container's
   * output goes on streaming into them.
   */
  async recover(spec: RecoverSpec): Promise<Recovered> {
    const [found] = await this.labelled(spec.containerId);
    if (!found) return { state: 'missing', why: `no Docker container labelled ${LABELS.containerId}=${spec.containerId} is left` };
    const info = await this.docker.inspect(found.Id);
    if (info.State.Status === 'created') {
      // The agent stopped between creating and starting it: the command never ran.
      await this.remove(found.Id);
      return { state: 'missing', why: 'its container was created but never started' };
    }
    const stream = await this.docker.logs(found.Id);
    const out = appendMissing(join(spec.sandboxDir, 'stdout'));
    const errOut = appendMissing(join(spec.sandboxDir, 'stderr'));
    this.docker.demux(stream, out, errOut);
    if (info.State.Running) {
      this.running.set(spec.containerId, { dockerId: found.Id, exited: this.watch(found.Id, spec.sandboxDir, stream, out, errOut) });
      return { state: 'running' };
    }
    // The log of an exited container ends by itself once sent.
    await drained(stream, OUTPUT_DRAIN_MS);
    await Promise.all([closeFile(out), closeFile(errOut)]);
    return {
      state: 'exited',
      termination: { exitCode: info.State.ExitCode, ...(info.State.OOMKilled ? { oomKilled: true } : {}) },
    };
  }

  async removeOrphans(known: ReadonlySet<string>): Promise<string[]> {
    const orphans = (await this.labelled()).filter((c) => !known.has(c.Labels[LABELS.containerId] ?? ''));
    await mapLimited(orphans, BURST_LIMIT, async (c) => {
      await this.stop(c.Id, 0);
      await this.remove(c.Id);
    });
    return orphans.map((c) => c.Labels[LABELS.containerId] ?? c.Id);
  }

  /** One sample of the engine's stats (one-shot: no second sample, which only serves cpu percentages). */
  async usage(containerId: string): Promise<ContainerUsage> {
    const r = this.running.get(containerId);
    if (!r) throw new UsageError(`unknown docker container ${containerId}`);
    let stats: unknown;
    try {
      stats = await this.docker.stats(r.dockerId);
    } catch (err) {
      throw new UsageError(`docker stats of container ${containerId} failed: ${dockerMessage(err)}`, { cause: err });
    }
    return dockerStatistics(stats);
  }

  /** `docker exec`: inside the container, with the container's environment plus `opts.env`. */
  async exec(containerId: string, argv: string[], opts: ExecOptions): Promise<ExecResult> {
    const r = this.running.get(containerId);
    if (!r) throw new Error(`unknown docker container ${containerId}`);
    // A check that times out while its exec waits in the engine's line leaves the line.
    const exec = await this.docker.exec(r.dockerId, {
      Cmd: argv, Env: Object.entries(opts.env).map(([k, v]) => `${k}=${v}`), AttachStdout: true, AttachStderr: true, Tty: false,
    }, opts.signal);
    const stream = exec.stream;
    let output = '';
    const sink = new Writable({ write(chunk: Buffer, _enc, done) {
      if (output.length < EXEC_OUTPUT_MAX) output = (output + chunk.toString()).slice(0, EXEC_OUTPUT_MAX);
      done();
    } });
    this.docker.demux(stream, sink, sink);
    // A timed-out check stops listening; the command itself runs on inside the container
    // until it ends (the Engine API cannot signal an exec), as with `docker exec` in Mesos.
    await new Promise<void>((resolve, reject) => {
      const abort = () => { stream.destroy(); reject(new Error('aborted')); };
      if (opts.signal.aborted) return abort();
      opts.signal.addEventListener('abort', abort, { once: true });
      const done = () => { opts.signal.removeEventListener('abort', abort); resolve(); };
      stream.once('end', done);
      stream.once('close', done);
      stream.once('error', (e) => { opts.signal.removeEventListener('abort', abort); reject(e); });
    });
    const info = await exec.inspect();
    return { exitCode: info.Running ? undefined : (info.ExitCode ?? undefined), output };
  }

  async list(): Promise<string[]> {
    const ids = new Set(this.running.keys());
    for (const c of await this.labelled()) {
      const id = c.Labels[LABELS.containerId];
      if (id) ids.add(id);
    }
    return [...ids];
  }

  async destroyAll(gracePeriodMs: number): Promise<void> {
    const dockerIds = new Set([...this.running.values()].map((r) => r.dockerId));
    for (const c of await this.labelled()) dockerIds.add(c.Id);
    await mapLimited([...dockerIds], BURST_LIMIT, async (id) => {
      await this.stop(id, gracePeriodMs);
      await this.remove(id);
    });
    await Promise.all([...this.running.values()].map((r) => r.exited));
    this.running.clear();
  }

  /**
   * Resolves with how the container ended, once its output is in the sandbox files.
   *
   * A wait that breaks without an answer (the engine restarted: with `live-restore` its
   * containers run on) is not an exit: the container is waited for again once the engine
   * answers, and its output, whose stream broke too, is followed again from the engine's log
   * (appending only what the files lack). Only an answer, or the container being gone, ends it.
   */
  private async watch(dockerId: string, sandboxDir: string, stream: NodeJS.ReadableStream, out: Writable, err: Writable): Promise<Termination> {
    let status: { StatusCode?: number } | undefined;
    let output = { stream, out, err };
    for (let failures = 0; !status; failures++) {
      try {
        status = await this.docker.wait(dockerId);
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404) break;
        if (failures === 0) this.log.warn('lost the wait on a container; waiting again once the engine answers', { dockerId, err: e });
        await pause(Math.min(2_000, 100 * 2 ** Math.min(failures, 5)));
        output = await this.followAgain(dockerId, sandboxDir, output);
      }
    }
    await drained(output.stream, OUTPUT_DRAIN_MS);
    await Promise.all([closeFile(output.out), closeFile(output.err)]);
    let oomKilled = false;
    try {
      oomKilled = !!(await this.docker.inspect(dockerId)).State?.OOMKilled;
    } catch {
      // Already removed (a cleanup raced us): the exit code is all there is to know.
    }
    return { exitCode: status?.StatusCode ?? undefined, ...(oomKilled ? { oomKilled } : {}) };
  }

  /**
   * A container's output anew after its stream broke: once the old stream has ended and the
   * files are closed, the engine's whole log, of which only what the files lack is appended.
   * The old output is kept while the engine cannot give the log.
   */
  private async followAgain(dockerId: string, sandboxDir: string, old: { stream: NodeJS.ReadableStream; out: Writable; err: Writable }) {
    const ended = old.stream as NodeJS.ReadableStream & { readableEnded?: boolean; destroyed?: boolean };
    if (!ended.readableEnded && !ended.destroyed) return old;
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.logs(dockerId);
    } catch {
      return old;
    }
    await Promise.all([closeFile(old.out), closeFile(old.err)]);
    const out = appendMissing(join(sandboxDir, 'stdout'));
    const err = appendMissing(join(sandboxDir, 'stderr'));
    this.docker.demux(stream, out, err);
    return { stream, out, err };
  }

  private async stop(dockerId: string, gracePeriodMs: number): Promise<void> {
    try {
      // The daemon escalates SIGTERM to SIGKILL itself, so a kill completes even if the
      // agent dies during the grace period. Its grace period has whole seconds.
      await this.docker.stop(dockerId, Math.ceil(gracePeriodMs / 1000));
    } catch (e) {
      const code = (e as { statusCode?: number }).statusCode;
      if (code !== 304 && code !== 404) this.log.warn('cannot stop container', { dockerId, err: e });
    }
  }

  private async remove(dockerId: string): Promise<void> {
    try {
      await this.docker.remove(dockerId);
    } catch (e) {
      const code = (e as { statusCode?: number }).statusCode;
      if (code !== 404 && code !== 409) this.log.warn('cannot remove container', { dockerId, err: e });
    }
  }

  /** This agent's containers (all of them, or the one of a run), running or not. */
  private async labelled(containerId?: string): Promise<ContainerInfo[]> {
    const agentId = this.opts.agentId();
    if (!agentId) return [];
    const label = [`${LABELS.agentId}=${agentId}`, ...(containerId ? [`${LABELS.containerId}=${containerId}`] : [])];
    return this.docker.list({ label });
  }
}
