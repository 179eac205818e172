import fc from 'fast-check';
import { FakeClock } from '../common/clock';
import { frameFields } from '../common/sse';
import type { OperatorChange } from '../common/operator-types';
import { OperatorJournal } from './operator-events';
import { followJournal, parseLastEventId, parseTypes } from './operator-stream';

const removed = (n: number): OperatorChange => ({ type: 'AGENT_REMOVED', agentId: `agent-${n}`, reason: 'left' });
const offer = (offerId: string): OperatorChange => ({
  type: 'OFFER', kind: 'OFFERED',
  offer: { type: 'OFFERED', at: 0, offerId, frameworkId: 'fw', agentId: 'agent-1', role: '*', resources: 'cpus:1' },
});

function journalWith(n: number, capacity = 10): OperatorJournal {
  const j = new OperatorJournal('m1', capacity, new FakeClock(1000));
  for (let i = 1; i <= n; i++) j.record(removed(i));
  return j;
}

/** What a client reads: each frame's `id:` line (if any), event name and data. */
function reader() {
  const frames: { id?: string; event?: string; data: Record<string, unknown> }[] = [];
  const write = (text: string): void => {
    expect(text.endsWith('\n\n')).toBe(true);
    const raw = text.slice(0, -2);
    const id = raw.split('\n').find((l) => l.startsWith('id: '))?.slice(4);
    const { event, data } = frameFields(raw);
    frames.push({ id, event, data: JSON.parse(data ?? 'null') as Record<string, unknown> });
  };
  return { frames, write, names: () => frames.map((f) => f.event) };
}

describe('the operator event journal', () => {
  it('numbers events 1, 2, 3 in order and stamps them with the clock', () => {
    const clock = new FakeClock(5000);
    const j = new OperatorJournal('m1', 10, clock);
    expect(j.lastId()).toBe(0);
    expect(j.record(removed(1))).toMatchObject({ id: 1, at: 5000, type: 'AGENT_REMOVED', agentId: 'agent-1' });
    clock.advance(250);
    expect(j.record(removed(2))).toMatchObject({ id: 2, at: 5250 });
    expect(j.lastId()).toBe(2);
  });

  it('keeps only the last `capacity` events: 25 recorded in a ring of 10 keep ids 16 to 25', () => {
    const j = journalWith(25);
    expect(j.firstId()).toBe(16);
    const all = j.after(15);
    expect(all.ok && all.events.map((e) => e.id)).toEqual([16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
  });

  it('resumes after an id with exactly the later events, and nothing after the newest', () => {
    const j = journalWith(25);
    const r = j.after(22);
    expect(r.ok && r.events.map((e) => e.id)).toEqual([23, 24, 25]);
    expect(j.after(25)).toEqual({ ok: true, events: [] });
    expect(journalWith(0).after(0)).toEqual({ ok: true, events: [] });
  });

  it('says when events after an id fell out of the ring, or the id was never given', () => {
    const j = journalWith(25);
    expect(j.after(14)).toEqual({ ok: false, why: 'evicted' });
    expect(j.after(0)).toEqual({ ok: false, why: 'evicted' });
    expect(j.after(26)).toEqual({ ok: false, why: 'ahead' });
  });

  it('tells listeners each event as it is recorded, until they unsubscribe; a throwing one is dropped', () => {
    const j = journalWith(0);
    const seen: number[] = [];
    const stop = j.subscribe((e) => seen.push(e.id));
    j.subscribe(() => { throw new Error('closed socket'); });
    j.record(removed(1));
    j.record(removed(2));
    stop();
    j.record(removed(3));
    expect(seen).toEqual([1, 2]);
  });

  it('for any capacity, count and id: resumes with exactly ids id+1..last, or says evicted or ahead', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: 70 }), (capacity, count, id) => {
      const r = journalWith(count, capacity).after(id);
      if (id > count) return expect(r).toEqual({ ok: false, why: 'ahead' });
      if (count - id > capacity) return expect(r).toEqual({ ok: false, why: 'evicted' });
      expect(r.ok && r.events.map((e) => e.id)).toEqual(Array.from({ length: count - id }, (_, i) => id + 1 + i));
    }));
  });

  it('refuses a capacity below 1 and an epoch with a colon', () => {
    expect(() => new OperatorJournal('m1', 0, new FakeClock())).toThrow(/capacity must be a whole number ≥ 1, got 0/);
    expect(() => new OperatorJournal('a:b', 10, new FakeClock())).toThrow(/epoch/);
  });
});

describe('following the journal as server-sent events', () => {
  it('starts with SUBSCRIBED naming the newest id, then sends new events with `epoch:id` ids', () => {
    const clock = new FakeClock();
    const j = journalWith(3);
    const r = reader();
    followJournal(j, { heartbeatIntervalMs: 15_000, clock, write: r.write });
    j.record(removed(4));
    expect(r.frames).toEqual([
      { id: undefined, event: 'SUBSCRIBED', data: { type: 'SUBSCRIBED', epoch: 'm1', lastId: 3, heartbeatIntervalMs: 15_000 } },
      { id: 'm1:4', event: 'AGENT_REMOVED', data: { type: 'AGENT_REMOVED', agentId: 'agent-4', reason: 'left', id: 4, at: 1000 } },
    ]);
  });

  it('resumes after Last-Event-ID: the missed events, then the live ones, each once', () => {
    const j = journalWith(8);
    const r = reader();
    followJournal(j, { lastEventId: 'm1:5', heartbeatIntervalMs: 15_000, clock: new FakeClock(), write: r.write });
    j.record(removed(9));
    expect(r.frames.map((f) => f.id)).toEqual([undefined, 'm1:6', 'm1:7', 'm1:8', 'm1:9']);
  });

  it('sends RESYNC (with the newest id, to move past the gap) when the events after Last-Event-ID are gone', () => {
    const j = journalWith(25);
    const r = reader();
    followJournal(j, { lastEventId: 'm1:3', heartbeatIntervalMs: 15_000, clock: new FakeClock(), write: r.write });
    expect(r.names()).toEqual(['SUBSCRIBED', 'RESYNC']);
    expect(r.frames[1]).toMatchObject({ id: 'm1:25', data: { lastId: 25, reason: expect.stringMatching(/after 3 are no longer kept \(the oldest is 16\)/) } });
  });

  it('sends RESYNC for an id of another master, one newer than the journal, or one it cannot read', () => {
    const j = journalWith(5);
    for (const [lastEventId, why] of [['m0:3', /from another master/], ['m1:9', /newer than this master's last \(5\)/], ['7', /not of the form/]] as const) {
      const r = reader();
      followJournal(j, { lastEventId, heartbeatIntervalMs: 15_000, clock: new FakeClock(), write: r.write });
      expect(r.names()).toEqual(['SUBSCRIBED', 'RESYNC']);
      expect(r.frames[1]?.data.reason).toMatch(why);
    }
  });

  it('sends only the asked types, resumed ones included, but always the control events', () => {
    const clock = new FakeClock();
    const j = journalWith(2);
    j.record(offer('o-3'));
    const r = reader();
    followJournal(j, { lastEventId: 'm1:0', types: new Set(['OFFER']), heartbeatIntervalMs: 1000, clock, write: r.write });
    j.record(removed(4));
    j.record(offer('o-5'));
    clock.advance(1000);
    expect(r.frames.map((f) => [f.event, f.id])).toEqual([
      ['SUBSCRIBED', undefined], ['OFFER', 'm1:3'], ['OFFER', 'm1:5'], ['HEARTBEAT', undefined],
    ]);
  });

  it('sends HEARTBEAT every interval of the clock, and nothing once stopped', () => {
    const clock = new FakeClock(0);
    const j = journalWith(0);
    const r = reader();
    const stop = followJournal(j, { heartbeatIntervalMs: 2000, clock, write: r.write });
    clock.advance(5000);
    expect(r.frames.slice(1)).toEqual([
      { id: undefined, event: 'HEARTBEAT', data: { type: 'HEARTBEAT', at: 2000 } },
      { id: undefined, event: 'HEARTBEAT', data: { type: 'HEARTBEAT', at: 4000 } },
    ]);
    stop();
    j.record(removed(1));
    clock.advance(10_000);
    expect(r.frames).toHaveLength(3);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('reads ?types and names the unknown ones', () => {
    expect(parseTypes(null)).toEqual({});
    expect(parseTypes('TASK_ADDED, TASK_UPDATED')).toEqual({ types: new Set(['TASK_ADDED', 'TASK_UPDATED']) });
    expect(parseTypes('TASK_ADDED,TASK_LOST')).toEqual({ error: expect.stringMatching(/^unknown event type\(s\) TASK_LOST; known: TASK_ADDED/) });
    expect(parseLastEventId('m1:12', 'm1')).toEqual({ id: 12 });
  });
});
