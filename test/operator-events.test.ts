/**
 * The operator event stream on a real cluster (process containerizer): a framework launches
 * a task and the stream tells its whole life in order; a client that disconnects half-way
 * and resumes with Last-Event-ID ends up with exactly what a client that never left saw.
 */
import { authHeaders } from '../common/security/client-config';
import type { ClientRequest } from 'http';
import { get } from './support/http';
import type { OperatorControlEvent, OperatorEvent } from '../common/operator-types';
import { frameFields, readEventFrames } from '../common/sse';
import { subscribe, task, type Scheduler } from '../frameworks/sdk';
import { startCluster, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

interface Frame {
  id?: string;
  event: string;
  data: OperatorEvent | OperatorControlEvent;
}

/** One SSE connection: every frame in arrival order, and a wait for the first that matches. */
class Follower {
  readonly frames: Frame[] = [];
  /** The response's status code, once its headers are in. */
  readonly status: Promise<number>;
  private waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  private readonly req: ClientRequest;

  constructor(port: number, path: string, lastEventId?: string) {
    let answered: (status: number) => void = () => undefined;
    this.status = new Promise((resolve) => { answered = resolve; });
    this.req = get({ host: '127.0.0.1', port, path, headers: { ...authHeaders(), ...(lastEventId ? { 'last-event-id': lastEventId } : {}) } }, (res) => {
      answered(res.statusCode ?? 0);
      readEventFrames(res, (text) => {
        if (text.startsWith(':')) return;   // keep-alive comment
        const { event, data } = frameFields(text);
        const id = text.split('\n').find((l) => l.startsWith('id: '))?.slice(4);
        const frame: Frame = { id, event: event ?? '', data: JSON.parse(data ?? 'null') as Frame['data'] };
        this.frames.push(frame);
        this.waiters = this.waiters.filter((w) => (w.match(frame) ? (w.resolve(frame), false) : true));
      });
    });
    this.req.on('error', () => undefined);   // our own close() resets it
  }

  until(match: (f: Frame) => boolean): Promise<Frame> {
    const seen = this.frames.find(match);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** The journaled events received (control events left out). */
  events(): OperatorEvent[] {
    return this.frames.filter((f) => f.id !== undefined && f.event !== 'RESYNC').map((f) => f.data as OperatorEvent);
  }

  close(): void {
    this.req.destroy();
  }
}

const taskState = (taskId: string, state: string) => (f: Frame): boolean =>
  f.event === 'TASK_UPDATED' && (f.data as Extract<OperatorEvent, { type: 'TASK_UPDATED' }>).task.id === taskId
  && (f.data as Extract<OperatorEvent, { type: 'TASK_UPDATED' }>).task.state === state;

describe('GET /api/v1/events on a real cluster', () => {
  let cluster: TestCluster;
  let s: Scheduler | undefined;
  const followers: Follower[] = [];
  const follow = (path: string, lastEventId?: string): Follower => {
    const f = new Follower(cluster.master.httpPort, path, lastEventId);
    followers.push(f);
    return f;
  };

  beforeAll(async () => {
    cluster = await startCluster({ containerizer: 'process' });
  });
  afterAll(async () => {
    for (const f of followers) f.close();
    s?.close();
    await cluster.stop();
  });

  it('tells a task\'s life in order, and a client resuming with Last-Event-ID misses nothing and repeats nothing', async () => {
    const { eventId } = await cluster.state();
    const epoch = String(eventId).split(':')[0];
    // From the journal's start, so the agent, registered before any client, is in both.
    const whole = follow('/api/v1/events', `${epoch}:0`);
    const first = follow('/api/v1/events', `${epoch}:0`);
    expect(await whole.status).toBe(200);
    expect((await whole.until((f) => f.event === 'SUBSCRIBED')).data).toMatchObject({ type: 'SUBSCRIBED', epoch });

    s = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'operator-events' } });
    const log = new EventLog(s);
    await first.until((f) => f.event === 'FRAMEWORK_ADDED');
    first.close();   // gone before the task is launched: all of its life is missed

    const offer = await log.offer();
    await s.launch(offer, [task({ id: 'watched', command: 'echo watched', cpus: 0.1, mem: 32, process: true }, offer)]);
    const finished = await whole.until(taskState('watched', 'TASK_FINISHED'));
    const cutoff = Number(finished.id?.split(':')[1]);

    const missedFrom = first.frames.filter((f) => f.id !== undefined).at(-1)?.id;
    expect(missedFrom).toMatch(new RegExp(`^${epoch}:\\d+$`));
    const second = follow('/api/v1/events', missedFrom);
    await second.until((f) => f.id === finished.id);

    const upTo = (events: OperatorEvent[]) => events.filter((e) => e.id <= cutoff);
    const resumed = [...first.events(), ...upTo(second.events())];
    expect(resumed.map((e) => e.id)).toEqual(Array.from({ length: cutoff }, (_, i) => i + 1));
    expect(resumed).toEqual(upTo(whole.events()));
    expect(second.frames[0]?.event).toBe('SUBSCRIBED');

    // In order: the agent, the framework, the task added, running, finished.
    const lines = upTo(whole.events()).map((e) => {
      if (e.type === 'TASK_ADDED' || e.type === 'TASK_UPDATED') return `${e.type} ${e.task.id} ${e.task.state}`;
      if (e.type === 'OFFER') return `OFFER ${e.kind}`;
      return e.type;
    });
    const at = (line: string) => lines.indexOf(line);
    expect(at('AGENT_ADDED')).toBe(0);
    expect(at('AGENT_ADDED')).toBeLessThan(at('FRAMEWORK_ADDED'));
    expect(at('FRAMEWORK_ADDED')).toBeLessThan(at('OFFER OFFERED'));
    expect(at('OFFER OFFERED')).toBeLessThan(at('TASK_ADDED watched TASK_STAGING'));
    expect(at('TASK_ADDED watched TASK_STAGING')).toBeLessThan(at('OFFER ACCEPTED'));
    expect(at('TASK_ADDED watched TASK_STAGING')).toBeLessThan(at('TASK_UPDATED watched TASK_RUNNING'));
    expect(at('TASK_UPDATED watched TASK_RUNNING')).toBeLessThan(at('TASK_UPDATED watched TASK_FINISHED'));
    expect(lines.filter((l) => l.startsWith('TASK_')).length).toBe(4);   // added, STARTING, RUNNING, FINISHED
  });

  it('sends only the asked types, and RESYNC for an id this master never gave', async () => {
    const { eventId } = await cluster.state();
    const [epoch, last] = String(eventId).split(':');
    const tasks = follow('/api/v1/events?types=TASK_UPDATED', `${epoch}:0`);
    await tasks.until(taskState('watched', 'TASK_FINISHED'));
    expect(new Set(tasks.frames.map((f) => f.event))).toEqual(new Set(['SUBSCRIBED', 'TASK_UPDATED']));

    const stale = follow('/api/v1/events', `another:${last}`);
    const resync = await stale.until((f) => f.event === 'RESYNC');
    expect(resync.data).toMatchObject({ type: 'RESYNC', epoch, reason: expect.stringMatching(/another master/) });

    expect(await follow('/api/v1/events?types=TASK_LOST').status).toBe(400);
  });
});
