import fc from 'fast-check';
import { mkdtempSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { FakeClock } from '../common/clock';
import type { TaskState, TaskStatus } from '../common/types';
import { readJson, writeJsonAtomic } from './checkpoint';
import { StatusUpdateManager, type StatusCheckpoint } from './status-updates';

let seq = 0;
function status(taskId: string, state: TaskState, frameworkId = 'fw-1'): TaskStatus {
  return {
    taskId, state, frameworkId, message: '', source: 'SOURCE_AGENT', reason: 'REASON_UNKNOWN', agentId: 'agent-1',
    uuid: `u-${seq++}`, timestampMs: 0, containerId: 'c-1',
  };
}

function setup(opts: { checkpoint?: (s: StatusCheckpoint) => void } = {}) {
  const clock = new FakeClock();
  const sent: { at: number; status: TaskStatus }[] = [];
  const closed: string[] = [];
  const start = clock.now();
  const m = new StatusUpdateManager({
    clock,
    send: (_fw, s) => sent.push({ at: clock.now() - start, status: s }),
    checkpoint: opts.checkpoint,
    initialBackoffMs: 10_000,
    maxBackoffMs: 600_000,
    onStreamClosed: (fw, t) => closed.push(`${fw}/${t}`),
  });
  return { clock, sent, closed, m, states: () => sent.map((x) => x.status.state) };
}

describe('status update manager', () => {
  it('sends the first update of a task at once', () => {
    const { m, sent } = setup();
    m.update(status('t1', 'TASK_STARTING'));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.at).toBe(0);
  });

  it('resends an unacknowledged update after 10 s, then 20 s, then 40 s', () => {
    const { m, sent, clock } = setup();
    const s = status('t1', 'TASK_RUNNING');
    m.update(s);
    clock.advance(9_999);
    expect(sent).toHaveLength(1);
    clock.advance(1);
    clock.advance(20_000);
    clock.advance(40_000);
    expect(sent.map((x) => x.at)).toEqual([0, 10_000, 30_000, 70_000]);
    expect(sent.every((x) => x.status.uuid === s.uuid)).toBe(true);
  });

  it('caps the resend interval at 10 min', () => {
    const { m, sent, clock } = setup();
    m.update(status('t1', 'TASK_RUNNING'));
    clock.advance(3_600_000);
    const gaps = sent.slice(1).map((x, i) => x.at - sent[i]!.at);
    expect(gaps.slice(0, 7)).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 600_000]);
    expect(Math.max(...gaps)).toBe(600_000);
  });

  it('does not send the second update before the first is acknowledged, then sends it at once', () => {
    const { m, clock, states } = setup();
    const first = status('t1', 'TASK_STARTING');
    m.update(first);
    m.update(status('t1', 'TASK_RUNNING'));
    clock.advance(15_000);
    expect(states()).toEqual(['TASK_STARTING', 'TASK_STARTING']);
    expect(m.acknowledge('fw-1', 't1', first.uuid)).toBe('acknowledged');
    expect(states()).toEqual(['TASK_STARTING', 'TASK_STARTING', 'TASK_RUNNING']);
  });

  it('restarts the backoff at 10 s for the next update after an acknowledgement', () => {
    const { m, clock, sent } = setup();
    const first = status('t1', 'TASK_STARTING');
    m.update(first);
    m.update(status('t1', 'TASK_RUNNING'));
    clock.advance(30_000); // resent at 10 s and 30 s: the next gap would be 40 s
    m.acknowledge('fw-1', 't1', first.uuid);
    clock.advance(10_000);
    expect(sent.map((x) => [x.at, x.status.state])).toEqual([
      [0, 'TASK_STARTING'], [10_000, 'TASK_STARTING'], [30_000, 'TASK_STARTING'],
      [30_000, 'TASK_RUNNING'], [40_000, 'TASK_RUNNING'],
    ]);
  });

  it('an acknowledgement with a wrong uuid changes nothing', () => {
    const { m, clock, states } = setup();
    const first = status('t1', 'TASK_STARTING');
    m.update(first);
    m.update(status('t1', 'TASK_RUNNING'));
    expect(m.acknowledge('fw-1', 't1', 'not-the-uuid')).toBe('unexpected-uuid');
    expect(m.pendingOf('fw-1', 't1').map((s) => s.state)).toEqual(['TASK_STARTING', 'TASK_RUNNING']);
    clock.advance(10_000);
    expect(states()).toEqual(['TASK_STARTING', 'TASK_STARTING']);
  });

  it('an acknowledgement for an unknown task or framework changes nothing', () => {
    const { m } = setup();
    const s = status('t1', 'TASK_STARTING');
    m.update(s);
    expect(m.acknowledge('fw-1', 't2', s.uuid)).toBe('unknown-task');
    expect(m.acknowledge('fw-2', 't1', s.uuid)).toBe('unknown-task');
    expect(m.pendingOf('fw-1', 't1')).toHaveLength(1);
  });

  it('a duplicate acknowledgement of an already acknowledged update changes nothing', () => {
    const { m, states } = setup();
    const first = status('t1', 'TASK_STARTING');
    m.update(first);
    m.update(status('t1', 'TASK_RUNNING'));
    m.update(status('t1', 'TASK_FINISHED'));
    m.acknowledge('fw-1', 't1', first.uuid);
    expect(m.acknowledge('fw-1', 't1', first.uuid)).toBe('unexpected-uuid');
    expect(states()).toEqual(['TASK_STARTING', 'TASK_RUNNING']);
  });

  it('streams of different tasks do not wait on each other', () => {
    const { m, states } = setup();
    m.update(status('t1', 'TASK_STARTING'));
    m.update(status('t2', 'TASK_STARTING'));
    m.update(status('t1', 'TASK_RUNNING'));
    expect(states()).toEqual(['TASK_STARTING', 'TASK_STARTING']);
  });

  it('closes a stream when its terminal update is acknowledged and leaves no timer behind', () => {
    const { m, clock, closed } = setup();
    const running = status('t1', 'TASK_RUNNING');
    const finished = status('t1', 'TASK_FINISHED');
    m.update(running);
    m.update(finished);
    m.acknowledge('fw-1', 't1', running.uuid);
    expect(closed).toEqual([]);
    m.acknowledge('fw-1', 't1', finished.uuid);
    expect(closed).toEqual(['fw-1/t1']);
    expect(clock.pendingTimers()).toBe(0);
    expect(m.snapshot().streams).toEqual([]);
  });

  it('flush resends every update in flight now and starts its backoff again at 10 s', () => {
    const { m, clock, sent } = setup();
    m.update(status('t1', 'TASK_RUNNING'));
    clock.advance(35_000); // sent at 0, 10 s, 30 s
    m.flush();
    clock.advance(10_000);
    expect(sent.map((x) => x.at)).toEqual([0, 10_000, 30_000, 35_000, 45_000]);
  });

  it('keeps resending when a send throws', () => {
    const clock = new FakeClock();
    let attempts = 0;
    const m = new StatusUpdateManager({
      clock, initialBackoffMs: 10_000, maxBackoffMs: 600_000,
      send: () => { attempts++; throw new Error('connection closed'); },
      log: { debug() {}, info() {}, warn() {}, error() {}, child() { return this; } },
    });
    m.update(status('t1', 'TASK_RUNNING'));
    clock.advance(10_000);
    expect(attempts).toBe(2);
  });

  it('stop cancels every resend', () => {
    const { m, clock, sent } = setup();
    m.update(status('t1', 'TASK_RUNNING'));
    m.stop();
    clock.advance(3_600_000);
    expect(sent).toHaveLength(1);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('property: per task, updates go out in order and none before its predecessor is acknowledged', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('update' as const), task: fc.constantFrom('a', 'b', 'c') }),
      fc.record({ kind: fc.constant('ack' as const), task: fc.constantFrom('a', 'b', 'c'), wrong: fc.boolean() }),
      fc.record({ kind: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 100_000 }) }),
    );
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const { m, clock, sent } = setup();
      const queued = new Map<string, string[]>();
      const acked = new Map<string, string[]>();
      for (const o of ops) {
        if (o.kind === 'update') {
          const s = status(o.task, 'TASK_RUNNING');
          queued.set(o.task, [...(queued.get(o.task) ?? []), s.uuid]);
          m.update(s);
        } else if (o.kind === 'ack') {
          const head = m.pendingOf('fw-1', o.task)[0];
          if (!head) continue;
          const r = m.acknowledge('fw-1', o.task, o.wrong ? 'bogus' : head.uuid);
          if (r === 'acknowledged') acked.set(o.task, [...(acked.get(o.task) ?? []), head.uuid]);
        } else {
          clock.advance(o.ms);
        }
      }
      for (const [task, uuids] of queued) {
        // Distinct uuids sent, in first-send order, are a prefix of the queue...
        const firstSends = [...new Set(sent.filter((x) => x.status.taskId === task).map((x) => x.status.uuid))];
        expect(firstSends).toEqual(uuids.slice(0, firstSends.length));
        // ...and exactly one more than was acknowledged while anything is left.
        const nAcked = acked.get(task)?.length ?? 0;
        expect(firstSends.length).toBe(Math.min(uuids.length, nAcked + 1));
      }
    }));
  });
});

describe('status update checkpoint', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'agora-su-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('holds exactly the unacknowledged updates, written atomically with no temp file left', () => {
    const file = join(dir, 'meta', 'status-updates.json');
    const { m } = setup({ checkpoint: (s) => writeJsonAtomic(file, s) });
    const starting = status('t1', 'TASK_STARTING');
    const running = status('t1', 'TASK_RUNNING');
    m.update(starting);
    m.update(running);
    expect((readJson(file) as StatusCheckpoint).streams[0]!.pending.map((s) => s.uuid)).toEqual([starting.uuid, running.uuid]);
    m.acknowledge('fw-1', 't1', starting.uuid);
    expect((readJson(file) as StatusCheckpoint).streams[0]!.pending.map((s) => s.uuid)).toEqual([running.uuid]);
    expect(readdirSync(join(dir, 'meta'))).toEqual(['status-updates.json']);
  });

  it('a restored checkpoint resends the oldest update of each task', () => {
    const file = join(dir, 'status-updates.json');
    const first = setup({ checkpoint: (s) => writeJsonAtomic(file, s) });
    const starting = status('t1', 'TASK_STARTING');
    first.m.update(starting);
    first.m.update(status('t1', 'TASK_RUNNING'));
    first.m.stop();

    const second = setup();
    second.m.restore(readJson(file) as StatusCheckpoint);
    expect(second.sent.map((x) => x.status.uuid)).toEqual([starting.uuid]);
    expect(second.m.pendingOf('fw-1', 't1')).toHaveLength(2);
  });
});

describe('status update group commit', () => {
  it('checkpoints a burst of updates once, and sends them only after that write', () => {
    const clock = new FakeClock();
    const log: string[] = [];
    let commit: (() => void) | undefined;
    const m = new StatusUpdateManager({
      clock, initialBackoffMs: 10_000, maxBackoffMs: 600_000,
      send: (_fw, s) => log.push(`send ${s.taskId}`),
      checkpoint: (snap) => log.push(`checkpoint ${snap.streams.map((x) => x.taskId).join(',')}`),
      batch: (c) => { commit = c; },
    });
    m.update(status('a', 'TASK_STARTING'));
    m.update(status('b', 'TASK_STARTING'));
    m.update(status('c', 'TASK_STARTING'));
    expect(log).toEqual([]);   // nothing leaves before it is on disk
    commit!();
    expect(log).toEqual(['checkpoint a,b,c', 'send a', 'send b', 'send c']);
  });

  it('sends the next update after an ack only once a commit has covered it', () => {
    const clock = new FakeClock();
    const sent: string[] = [];
    const commits: (() => void)[] = [];
    const m = new StatusUpdateManager({
      clock, initialBackoffMs: 10_000, maxBackoffMs: 600_000,
      send: (_fw, s) => sent.push(s.state),
      checkpoint: () => undefined,
      batch: (c) => { commits.push(c); },
    });
    const starting = status('t', 'TASK_STARTING');
    m.update(starting);
    m.update(status('t', 'TASK_RUNNING'));
    commits.shift()!();
    expect(sent).toEqual(['TASK_STARTING']);
    m.acknowledge('fw-1', 't', starting.uuid);
    expect(sent).toEqual(['TASK_STARTING']);
    commits.shift()!();
    expect(sent).toEqual(['TASK_STARTING', 'TASK_RUNNING']);
  });
});
