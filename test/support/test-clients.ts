/**
 * Real clients for the master's shell tests: a raw grpc-js scheduler client, a fake agent
 * that speaks the agent protocol over real NATS, and HTTP/SSE readers. Only tests import it.
 */
import { makeGenericClientConstructor, type Client, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { get } from 'http';
import { connect, type Msg, type NatsConnection } from 'nats';
import { eventFromWire, frameworkInfoToWire, resourcesToWire } from '../../common/codec';
import type { OfferLogEvent } from '../../common/operator-types';
import { decodeAs, pb, type agora } from '../../common/proto';
import { parse } from '../../common/resources';
import { schedulerService } from '../../common/scheduler-service';
import { subjects, type Subjects } from '../../common/subjects';
import { clientIdentity, type ClientIdentity } from '../../common/security/client-config';
import { channelCredentials } from '../../common/security/grpc-auth';
import { natsIdentity, type NatsIdentity } from '../../common/security/nats-client';
import type { Logger } from '../../common/log';
import { readEventFrames } from '../../common/sse';
import type { FrameworkInfo, SchedulerEvent } from '../../common/types';

/** Items in arrival order; `take` removes and returns the first that matches, waiting if needed. */
export class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: { match: (x: T) => boolean; resolve: (x: T) => void }[] = [];

  push(item: T): void {
    const i = this.waiters.findIndex((w) => w.match(item));
    if (i >= 0) {
      const [waiter] = this.waiters.splice(i, 1);
      waiter?.resolve(item);
    } else {
      this.items.push(item);
    }
  }

  take(match: (x: T) => boolean = () => true, what = 'an item', timeoutMs = 10_000): Promise<T> {
    const i = this.items.findIndex(match);
    if (i >= 0) return Promise.resolve(this.items.splice(i, 1)[0] as T);
    return new Promise((resolve, reject) => {
      const waiter = { match, resolve: (x: T) => { clearTimeout(timer); resolve(x); } };
      // Not a sleep: a deadline, so a missing event fails with a message instead of hanging.
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

export const SchedulerClient = makeGenericClientConstructor(schedulerService, 'Scheduler');

type UnaryFn = (req: unknown, cb: (err: ServiceError | null) => void) => void;

/** Calls a unary method; resolves with the error (or null), so tests can assert on status codes. */
export function callUnary(client: Client, method: string, req: unknown): Promise<ServiceError | null> {
  const fn = (client as unknown as Record<string, UnaryFn>)[method];
  if (!fn) throw new Error(`no method ${method}`);
  return new Promise((resolve) => fn.call(client, req, (err) => resolve(err)));
}

export interface TestFramework {
  client: Client;
  events: Inbox<SchedulerEvent>;
  frameworkId: string;
  streamId: string;
  stream: ClientReadableStream<agora.v1.Event>;
  ended: Promise<ServiceError | undefined>;
  close(): void;
}

/**
 * Subscribes as `identity` (TLS and its credentials on every call), by default the client
 * config's user when the test made one (`AGORA_CONFIG`), else in plaintext without credentials.
 */
export async function subscribeFramework(grpcPort: number, info: Partial<FrameworkInfo> = {},
  identity: ClientIdentity | undefined = clientIdentity()): Promise<TestFramework> {
  const client = new SchedulerClient(`127.0.0.1:${grpcPort}`, channelCredentials(identity));
  const full: FrameworkInfo = { id: '', name: 'test', roles: ['*'], failoverTimeoutMs: 0, capabilities: [], principal: '', user: '', hostname: '', labels: {}, ...info };
  const stream = (client as unknown as { Subscribe(r: unknown): ClientReadableStream<agora.v1.Event> }).Subscribe({ frameworkInfo: frameworkInfoToWire(full) });
  const events = new Inbox<SchedulerEvent>();
  stream.on('data', (e: agora.v1.Event) => { const d = eventFromWire(e); if (d) events.push(d); });
  const ended = new Promise<ServiceError | undefined>((resolve) => {
    stream.on('error', (err: ServiceError) => resolve(err));
    stream.on('end', () => resolve(undefined));
  });
  // A refused subscription ends the stream with a status: that, not a timeout, is the answer.
  const first = await Promise.race([
    events.take((e) => e.type === 'SUBSCRIBED', 'SUBSCRIBED'),
    ended.then((err) => { throw err ?? new Error('the stream ended before SUBSCRIBED'); }),
  ]);
  if (first.type !== 'SUBSCRIBED') throw new Error('unreachable');
  return {
    client, events, frameworkId: first.frameworkId, streamId: first.streamId, stream, ended,
    close: () => { stream.cancel(); client.close(); },
  };
}

/** An agent played by the test over real NATS. */
export class FakeAgent {
  readonly runs = new Inbox<agora.v1.RunTaskMessage>();
  readonly kills = new Inbox<agora.v1.KillTaskMessage>();
  readonly acks = new Inbox<agora.v1.StatusUpdateAck>();
  agentId = '';

  private constructor(readonly nc: NatsConnection, readonly subjects: Subjects, readonly owner: string) {}

  /** Connects as `nats` (an agent principal's NATS user on a locked cluster), by default as an open cluster's agent. */
  static async connect(natsUrl: string, prefix: string, nats?: NatsIdentity): Promise<FakeAgent> {
    const subj = subjects(prefix);
    const id = nats ?? natsIdentity('agent', subj, undefined, undefined);
    return new FakeAgent(await connect({ servers: natsUrl, ...id.options }), subj, id.owner);
  }

  async register(resources = 'cpus:2;mem:1024;ports:[31000-31010]'): Promise<agora.v1.RegisterAgentResponse> {
    const req = pb.RegisterAgentRequest.encode({ agentInfo: { hostname: 'fake-host', resources: resourcesToWire(parse(resources)), port: 5051 }, version: 'test' }).finish();
    const reply = decodeAs(pb.RegisterAgentResponse, 'RegisterAgentResponse', (await this.nc.request(this.subjects.register(this.owner), req, { timeout: 5000 })).data);
    if (reply.error) throw new Error(`registration refused: ${reply.error}`);
    this.agentId = reply.agentId ?? '';
    const on = (subject: string, fn: (m: Msg) => void) => this.nc.subscribe(subject, { callback: (_e, m) => fn(m) });
    on(this.subjects.run(this.owner, this.agentId), (m) => this.runs.push(pb.RunTaskMessage.decode(m.data)));
    on(this.subjects.kill(this.owner, this.agentId), (m) => this.kills.push(pb.KillTaskMessage.decode(m.data)));
    on(this.subjects.ack(this.owner, this.agentId), (m) => this.acks.push(pb.StatusUpdateAck.decode(m.data)));
    await this.nc.flush();
    return reply;
  }

  sendStatus(frameworkId: string, taskId: string, state: agora.v1.TaskState, uuid: string): void {
    this.nc.publish(this.subjects.status(this.owner), pb.StatusUpdateMessage.encode({
      frameworkId, status: { taskId, state, source: pb.StatusSource.SOURCE_AGENT, agentId: this.agentId, frameworkId, uuid, timestamp: Date.now() / 1000 },
    }).finish());
  }

  close(): Promise<void> {
    return this.nc.close();
  }
}

export function getJson(port: number, path: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    }).on('error', reject);
  });
}

/** Follows the offer log over SSE; `close` ends the connection. */
export function followOfferLog(port: number, replay?: number): Promise<{ events: Inbox<OfferLogEvent>; status: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const path = `/api/v1/offers/events${replay === undefined ? '' : `?replay=${replay}`}`;
    const req = get({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream' } }, (res) => {
      const events = new Inbox<OfferLogEvent>();
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = frame.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
          if (data) events.push(JSON.parse(data) as OfferLogEvent);
        }
      });
      resolve({ events, status: res.statusCode ?? 0, close: () => req.destroy() });
    });
    req.on('error', (err) => { if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err); });
  });
}

/** A client of a server-sent event stream that reads nothing after the headers, until told to. */
export interface StalledStream {
  status: number;
  /** Reads on to the end: the frames it had whole, and whether the response ended normally (false: it was cut). */
  readToEnd(): Promise<{ frames: string[]; complete: boolean }>;
  close(): void;
}

export function stalledEventStream(port: number, path: string, headers: Record<string, string> = {}): Promise<StalledStream> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      res.pause();   // the kernel's buffers fill, then the server's
      res.on('error', () => undefined);   // a cut stream is the expected end here, not a failure
      const end = new Promise<boolean>((done) => res.on('close', () => done(res.complete)));
      resolve({
        status: res.statusCode ?? 0,
        readToEnd: async () => {
          const frames: string[] = [];
          readEventFrames(res, (frame) => frames.push(frame));
          res.resume();
          return { frames, complete: await end };
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
  });
}

export interface LogLine { level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }

/** A Logger that keeps its lines, and tells a waiting test of the first that matches. */
export function recordingLogger(): Logger & { lines: LogLine[]; next(match: (l: LogLine) => boolean): Promise<LogLine> } {
  const lines: LogLine[] = [];
  let waiters: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  const at = (level: LogLine['level']) => (msg: string, fields?: object): void => {
    const line: LogLine = { level, msg, fields: fields as Record<string, unknown> | undefined };
    lines.push(line);
    waiters = waiters.filter((w) => (w.match(line) ? (w.resolve(line), false) : true));
  };
  const log = {
    lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: () => log,
    next: (match: (l: LogLine) => boolean) => new Promise<LogLine>((resolve) => { waiters.push({ match, resolve }); }),
  };
  return log;
}

/**
 * Runs `step` (which makes events) until `done` resolves, yielding to the event loop between
 * steps so the server can write and cut; fails after `maxSteps` instead of hanging.
 */
export async function stepUntil(done: Promise<unknown>, step: (i: number) => unknown, maxSteps: number): Promise<number> {
  let finished = false;
  void done.then(() => { finished = true; });
  for (let i = 0; i < maxSteps; i++) {
    await step(i);
    await new Promise((r) => setImmediate(r));
    if (finished) return i + 1;
  }
  throw new Error(`still not done after ${maxSteps} steps`);
}
