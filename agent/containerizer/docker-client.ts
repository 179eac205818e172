/**
 * The one door to the Docker Engine: the only module that holds a dockerode client (the lint
 * config refuses `dockerode` anywhere else in agent/, but for its types). Everything else
 * gets a `DockerEngine`, whose every call waits its turn in one bounded line: at most
 * `concurrentCalls` requests of this agent are at the engine at once, whoever makes them —
 * launches, kills, health-check execs, usage stats, GC, recovery. Docker 20.10 before .27
 * can deadlock when many container operations run at once (moby/moby#42545), and an engine
 * that hangs must not collect an unbounded pile of our requests.
 *
 * A call holds its slot until the engine has answered it. A call that opens a stream (attach,
 * logs, exec output, pull progress, and the wait for a container's exit) is answered when the
 * engine accepted the stream; what flows after that is outside the bound. Otherwise each
 * running container's wait would hold a slot for its whole life, and eight tasks would fill
 * the line for good.
 *
 * Kills go first, background reads last (`DockerPriority`). A kill waiting in line goes ahead
 * of every launch step: it frees resources, and it is what a framework tearing down, a failed
 * health check or a stopping agent waits for, while a launch that waits a few calls longer
 * loses little. It still takes a slot: the bound is what keeps the engine alive. Usage stats
 * and GC's sweeps go last, so a round of stats over a hundred tasks never delays a launch.
 *
 * The watchdog's `probe` does not wait in the line: a line full of stuck calls is exactly the
 * wedge it has to see. It speaks through a client of its own that opens a fresh connection
 * for each request, so no stuck request of the line can hold it up either.
 */
import Docker from 'dockerode';
import { Agent } from 'http';
import type { Duplex, Writable } from 'stream';
import { PriorityLimiter } from '../../common/limit';

/** `kill` (docker stop) before `task` (everything on a task's way) before `background` (stats, GC). */
export type DockerPriority = 'kill' | 'task' | 'background';
const LEVEL: Record<DockerPriority, number> = { kill: 0, task: 1, background: 2 };

/** How a container ended, as the engine's wait answers it. */
export interface WaitResult {
  StatusCode?: number;
  Error?: { Message?: string } | null;
}

/** An exec started in a container: its output, and how it ended once it did. */
export interface ExecStarted {
  stream: Duplex;
  inspect(): Promise<{ Running: boolean; ExitCode: number | null }>;
}

/** The Docker Engine as the agent uses it, every call bounded (above). Ids are Docker's. */
export interface DockerEngine {
  /** Calls at the engine now, and calls waiting for a slot. */
  load(): { inFlight: number; waiting: number };
  /** Whether the engine has `image` (false on its 404; any other failure throws). */
  imagePresent(image: string): Promise<boolean>;
  /** A pull's progress stream, once the engine began it; follow it with `followProgress`. */
  pull(image: string): Promise<NodeJS.ReadableStream>;
  /** Reads a pull's progress to its end; `onDone` gets the error the engine reported in it. */
  followProgress(stream: NodeJS.ReadableStream, onDone: (err: unknown) => void): void;
  create(options: Docker.ContainerCreateOptions): Promise<string>;
  /** The container's multiplexed output from now on (`demux` splits it). */
  attach(dockerId: string): Promise<NodeJS.ReadableStream>;
  start(dockerId: string): Promise<void>;
  /** Resolves when the container has exited; its slot was freed as soon as the engine took the wait. */
  wait(dockerId: string): Promise<WaitResult>;
  inspect(dockerId: string): Promise<Docker.ContainerInspectInfo>;
  /** `docker stop`: SIGTERM, SIGKILL after `seconds` (the engine escalates itself). First in line. */
  stop(dockerId: string, seconds: number): Promise<void>;
  remove(dockerId: string, priority?: DockerPriority): Promise<void>;
  /** The container's log from its start, followed (a running one's goes on). */
  logs(dockerId: string): Promise<NodeJS.ReadableStream>;
  /** One sample of the engine's stats (background). */
  stats(dockerId: string): Promise<unknown>;
  /** Creates and starts an exec; a `signal` that aborts while it waits in line takes it out. */
  exec(dockerId: string, options: Docker.ExecCreateOptions, signal?: AbortSignal): Promise<ExecStarted>;
  list(filters: Record<string, string[]>, priority?: DockerPriority): Promise<Docker.ContainerInfo[]>;
  /** Splits a multiplexed output stream into stdout and stderr (no engine call). */
  demux(stream: NodeJS.ReadableStream, out: Writable, err: Writable): void;
}

/** One look at whether the engine answers: resolves, or rejects saying what did not answer. */
export type EngineProbe = (signal: AbortSignal) => Promise<void>;

export interface DockerDoor {
  engine: DockerEngine;
  /** `/_ping`, then `/info`, outside the line (the watchdog's). */
  probe: EngineProbe;
  /** Whether the engine answers `/_ping` within `timeoutMs`, outside the line (start-up). */
  available(timeoutMs: number): Promise<boolean>;
}

/** The engine's message for a failed call (in its JSON body), else the error's own. */
export function dockerMessage(err: unknown): string {
  const e = err as { json?: { message?: string }; message?: string };
  return e.json?.message ?? e.message ?? String(err);
}

/** Opens the door to the engine on `socketPath`; `concurrentCalls` bounds the line. */
export function openDocker(socketPath: string, concurrentCalls: number): DockerDoor {
  const client = new Docker({ socketPath });
  // Its own connections, never reused: a request stuck on a kept-alive socket cannot hold a probe.
  const watch = new Docker({ socketPath, agent: new Agent({ keepAlive: false }) } as Docker.DockerOptions);
  const get = (path: string, signal: AbortSignal) => new Promise<void>((resolve, reject) => {
    watch.modem.dial({ path, method: 'GET', abortSignal: signal, statusCodes: { 200: true, 500: 'server error' } },
      (err: unknown) => (err ? reject(new Error(`${path}: ${dockerMessage(err)}`, { cause: err })) : resolve()));
  });
  return {
    engine: new QueuedEngine(client, new PriorityLimiter(concurrentCalls, 3)),
    // /_ping says the daemon serves HTTP; /info walks its containers, images and drivers, a
    // step further in, for a daemon that still answers a ping with its insides stuck.
    probe: async (signal) => {
      await get('/_ping', signal);
      await get('/info', signal);
    },
    available: (timeoutMs) => get('/_ping', AbortSignal.timeout(timeoutMs)).then(() => true, () => false),
  };
}

class QueuedEngine implements DockerEngine {
  constructor(private readonly client: Docker, private readonly line: PriorityLimiter) {}

  private call<T>(fn: () => Promise<T>, priority: DockerPriority = 'task', signal?: AbortSignal): Promise<T> {
    return this.line.run(fn, { priority: LEVEL[priority], ...(signal ? { signal } : {}) });
  }

  load() {
    return { inFlight: this.line.inFlight, waiting: this.line.waiting };
  }

  imagePresent(image: string): Promise<boolean> {
    return this.call(() => this.client.getImage(image).inspect().then(() => true, (err: unknown) => {
      if ((err as { statusCode?: number }).statusCode === 404) return false;
      throw err;
    }));
  }

  pull(image: string): Promise<NodeJS.ReadableStream> {
    return this.call(() => new Promise<NodeJS.ReadableStream>((resolve, reject) => {
      this.client.pull(image, {}, (err: unknown, s?: NodeJS.ReadableStream) => {
        if (err || !s) reject(err instanceof Error ? err : new Error(err ? String(err) : 'the engine answered without a progress stream'));
        else resolve(s);
      });
    }));
  }

  followProgress(stream: NodeJS.ReadableStream, onDone: (err: unknown) => void): void {
    this.client.modem.followProgress(stream, onDone);
  }

  create(options: Docker.ContainerCreateOptions): Promise<string> {
    return this.call(async () => (await this.client.createContainer(options)).id);
  }

  attach(dockerId: string): Promise<NodeJS.ReadableStream> {
    return this.call(() => this.client.getContainer(dockerId).attach({ stream: true, stdout: true, stderr: true }));
  }

  async start(dockerId: string): Promise<void> {
    await this.call(() => this.client.getContainer(dockerId).start());
  }

  /**
   * The engine answers a wait's headers at once and its body when the container exits
   * (Engine API ≥ 1.30), so the slot is given back with the headers and the body is read
   * outside the line. dockerode's own `wait` would hold the slot until the exit.
   */
  async wait(dockerId: string): Promise<WaitResult> {
    const res = await this.call(() => new Promise<NodeJS.ReadableStream>((resolve, reject) => {
      this.client.modem.dial({
        path: `/containers/${encodeURIComponent(dockerId)}/wait?`, method: 'POST', isStream: true, options: {},
        statusCodes: { 200: true, 400: 'bad parameter', 404: 'no such container', 500: 'server error' },
      }, (err: unknown, stream: unknown) => (err ? reject(err) : resolve(stream as NodeJS.ReadableStream)));
    }));
    return readJson<WaitResult>(res, `the wait for container ${dockerId}`);
  }

  inspect(dockerId: string): Promise<Docker.ContainerInspectInfo> {
    return this.call(() => this.client.getContainer(dockerId).inspect());
  }

  async stop(dockerId: string, seconds: number): Promise<void> {
    await this.call(() => this.client.getContainer(dockerId).stop({ t: seconds }), 'kill');
  }

  async remove(dockerId: string, priority: DockerPriority = 'task'): Promise<void> {
    await this.call(() => this.client.getContainer(dockerId).remove({ force: true, v: true }), priority);
  }

  logs(dockerId: string): Promise<NodeJS.ReadableStream> {
    return this.call(async () => (await this.client.getContainer(dockerId).logs({ follow: true, stdout: true, stderr: true })) as unknown as NodeJS.ReadableStream);
  }

  /** `one-shot` (Engine API 1.41) skips the second sample the engine otherwise waits a second for. */
  stats(dockerId: string): Promise<unknown> {
    return this.call(() => this.client.getContainer(dockerId).stats({ stream: false, 'one-shot': true }), 'background');
  }

  async exec(dockerId: string, options: Docker.ExecCreateOptions, signal?: AbortSignal): Promise<ExecStarted> {
    const exec = await this.call(() => this.client.getContainer(dockerId).exec(options), 'task', signal);
    const stream = await this.call(() => exec.start({ hijack: true, stdin: false }), 'task', signal);
    return {
      stream,
      inspect: async () => {
        const info = await this.call(() => exec.inspect(), 'task');
        return { Running: info.Running, ExitCode: info.ExitCode };
      },
    };
  }

  list(filters: Record<string, string[]>, priority: DockerPriority = 'task'): Promise<Docker.ContainerInfo[]> {
    return this.call(() => this.client.listContainers({ all: true, filters }), priority);
  }

  demux(stream: NodeJS.ReadableStream, out: Writable, err: Writable): void {
    this.client.modem.demuxStream(stream, out, err);
  }
}

/** The JSON body of a stream, once it ended; a stream cut before its end rejects naming `what`. */
function readJson<T>(stream: NodeJS.ReadableStream, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let body = '';
    let ended = false;
    stream.on('data', (chunk: Buffer | string) => { body += chunk.toString(); });
    stream.on('error', (err) => reject(err));
    stream.on('end', () => {
      ended = true;
      try {
        resolve(JSON.parse(body) as T);
      } catch (err) {
        reject(new Error(`${what} answered something that is not JSON: ${body.slice(0, 200)}`, { cause: err }));
      }
    });
    stream.on('close', () => { if (!ended) reject(new Error(`${what} was cut off before the engine answered`)); });
  });
}
