/**
 * The election's decisions on a FakeClock, with no server: the shell's part (writes and their
 * answers) is played by each test. Lease 3000 ms, renewal every 1000 ms, drift margin 0.1, so
 * a leader trusts its lease for 2700 ms after sending the renewal that last got through.
 */
import { FakeClock, type Timer } from '../clock';
import { electionConfig, leadersBucket, leaseTiming } from './config';
import { ElectionConfigError, FencedError } from './errors';
import { LeaseCore, type LeaseCommand, type LeaseEvent } from './lease-core';
import { decodeLease, encodeLease, type LeaseValue } from './lease-value';

const timing = leaseTiming({ leaseMs: 3000 });
const holder = (id: string, epoch?: number, leaseMs = 3000): LeaseValue =>
  ({ id, address: `http://${id}:5050`, pid: 7, session: `session-${id}`, ...(epoch === undefined ? {} : { epoch }), leaseMs });

/** One candidate's core with a timer on a FakeClock, as the shell arms it; `take()` returns and clears what it asked for. */
function candidate(id: string, clock = new FakeClock(0)) {
  const core = new LeaseCore({ group: 'master', self: { id, address: `http://${id}:5050`, pid: 7, session: `session-${id}` }, timing });
  const log: LeaseCommand[] = [];
  let timer: Timer | undefined;
  const feed = (e: LeaseEvent): void => {
    const step = core.handle(e, clock.now());
    log.push(...step.commands);
    timer?.cancel();
    timer = step.wakeAt === undefined ? undefined : clock.setTimeout(() => feed({ kind: 'timer' }), step.wakeAt - clock.now());
  };
  return { core, clock, feed, take: () => log.splice(0), kinds: () => log.splice(0).map((c) => c.kind) };
}

/** A candidate that has won the key at revision `epoch`, its claim sent at the clock's time. */
function leaderAt(epoch: number) {
  const c = candidate('a');
  c.feed({ kind: 'observed', observation: { revision: epoch - 1 } });
  c.take();
  c.feed({ kind: 'claimed', revision: epoch });
  c.take();
  return c;
}

describe('winning', () => {
  it('claims a key that was never written at once, expecting revision 0, and leads with the revision it won at as its epoch', () => {
    const a = candidate('a');
    a.feed({ kind: 'observed', observation: { revision: 0 } });
    expect(a.take()).toEqual([{ kind: 'claim', expectRevision: 0, value: holder('a') }]);
    a.feed({ kind: 'claimed', revision: 1 });
    expect(a.take()).toEqual([{ kind: 'elected', epoch: 1 }, { kind: 'leader', leader: { id: 'a', address: 'http://a:5050', pid: 7, epoch: 1, leaseMs: 3000 } }]);
    expect(a.core.epoch).toBe(1);
    expect(a.core.check(a.clock.now())).toBe(1);
  });

  it('claims a deleted key at once, by compare-and-set on the delete\'s revision', () => {
    const a = candidate('a');
    a.feed({ kind: 'observed', observation: { revision: 9 } });
    expect(a.take()).toEqual([{ kind: 'claim', expectRevision: 9, value: holder('a') }]);
  });

  it('does nothing before the key has been read', () => {
    const a = candidate('a');
    a.clock.advance(60_000);
    expect(a.take()).toEqual([]);
    expect(a.clock.pendingTimers()).toBe(0);
  });

  it('does not lead on a claim whose answer came after the lease it would have started was over', () => {
    const a = candidate('a');
    a.feed({ kind: 'observed', observation: { revision: 0 } });
    a.take();
    a.clock.advance(2700);
    a.feed({ kind: 'claimed', revision: 1 });
    expect(a.kinds()).toEqual(['leader']);   // the key names it, but it does not act
    expect(a.core.role).toBe('follower');
    expect(() => a.core.check(a.clock.now())).toThrow(FencedError);
  });
});

describe('renewing', () => {
  it('renews every 1000 ms on the revision of its last write, carrying the epoch it won', () => {
    const a = leaderAt(5);
    a.clock.advance(999);
    expect(a.take()).toEqual([]);
    a.clock.advance(1);
    expect(a.take()).toEqual([{ kind: 'renew', expectRevision: 5, value: holder('a', 5) }]);
    a.clock.advance(10);
    a.feed({ kind: 'renewed', revision: 6 });
    expect(a.take()).toEqual([{ kind: 'renewed', epoch: 5, revision: 6, latencyMs: 10 }]);
    a.clock.advance(989);
    expect(a.take()).toEqual([]);
    a.clock.advance(1);   // 1000 ms after the last renewal was sent, not after its answer
    expect(a.take()).toEqual([{ kind: 'renew', expectRevision: 6, value: holder('a', 5) }]);
    expect(a.core.epoch).toBe(5);
  });

  it('trusts its lease until 2700 ms after sending its last successful renewal', () => {
    const a = leaderAt(5);
    a.clock.advance(1000);
    a.clock.advance(50);
    a.feed({ kind: 'renewed', revision: 6 });   // sent at 1000
    expect(a.core.deadline).toBe(3700);
    expect(a.core.check(3699)).toBe(5);
    expect(() => a.core.check(3700)).toThrow(expect.objectContaining({ name: 'FencedError', reason: 'lease-expired', epoch: 5 }) as Error);
  });

  it('is deposed 2700 ms after its last successful renewal was sent when none gets through since', () => {
    const a = leaderAt(5);
    a.clock.advance(1000);
    a.take();
    a.clock.advance(30);
    a.feed({ kind: 'renew-failed', error: 'timeout' });
    a.clock.advance(970);
    expect(a.take()).toEqual([{ kind: 'renew', expectRevision: 5, value: holder('a', 5) }]);   // tries again at 2000
    a.clock.advance(699);
    expect(a.core.role).toBe('leader');
    a.clock.advance(1);
    expect(a.take()).toEqual([
      { kind: 'deposed', epoch: 5, reason: { cause: 'expired', message: 'no renewal got through within the lease (3000 ms)' } },
      { kind: 'leader', leader: undefined },
    ]);
    expect(() => a.core.check(a.clock.now())).toThrow(expect.objectContaining({ reason: 'not-leader', epoch: 5 }) as Error);
  });

  it('fails check() past its deadline even before its timer fires (a process woken from SIGSTOP)', () => {
    const a = leaderAt(5);
    expect(a.core.role).toBe('leader');
    expect(() => a.core.check(10_000)).toThrow(/the lease of 'master' \(epoch 5\) ran out 7300 ms ago without a renewal getting through/);
  });

  it('is deposed, not renewed, by a renewal answered after its deadline', () => {
    const a = leaderAt(5);
    a.clock.advance(1000);
    a.take();
    // The answer is processed at 2800, past the deadline (2700), before any timer ran.
    const step = a.core.handle({ kind: 'renewed', revision: 6 }, 2800);
    expect(step.commands.map((c) => c.kind)).toEqual(['deposed', 'leader']);
    expect(a.core.role).toBe('follower');
  });

  it('adopts a renewal of its own that landed though its answer was lost, and renews on it at once', () => {
    const a = leaderAt(5);
    a.clock.advance(1000);
    a.take();
    a.clock.advance(20);
    a.feed({ kind: 'renew-refused', current: { revision: 6, holder: holder('a', 5) } });
    expect(a.take()).toEqual([{ kind: 'renew', expectRevision: 6, value: holder('a', 5) }]);
    expect(a.core.role).toBe('leader');
  });
});

describe('being deposed by the key', () => {
  it('steps down at once when it sees another candidate\'s write', () => {
    const a = leaderAt(5);
    a.feed({ kind: 'observed', observation: { revision: 8, holder: holder('b') } });
    expect(a.take()).toEqual([
      { kind: 'deposed', epoch: 5, reason: { cause: 'taken', message: '\'b\' wrote the lease at revision 8' } },
      { kind: 'leader', leader: { id: 'b', address: 'http://b:5050', pid: 7, epoch: 8, leaseMs: 3000 } },
    ]);
    expect(() => a.core.check(a.clock.now())).toThrow(/this candidate does not lead 'master' \('b' leads it \(epoch 8\)\): only the leader may act/);
  });

  it('steps down when its key is deleted by someone else, and claims it again at once with a new epoch', () => {
    const a = leaderAt(5);
    a.feed({ kind: 'observed', observation: { revision: 6 } });
    expect(a.take()).toEqual([
      { kind: 'deposed', epoch: 5, reason: { cause: 'deleted', message: 'the lease was deleted at revision 6' } },
      { kind: 'leader', leader: undefined },
      { kind: 'claim', expectRevision: 6, value: holder('a') },
    ]);
  });

  it('steps down when a renewal is refused by another\'s write, or refused with the key unreadable', () => {
    const a = leaderAt(5);
    a.clock.advance(1000);
    a.feed({ kind: 'renew-refused', current: { revision: 7, holder: holder('b', 7) } });
    expect(a.take().find((c) => c.kind === 'deposed')).toMatchObject({ reason: { cause: 'taken' } });
    const b = leaderAt(5);
    b.clock.advance(1000);
    b.feed({ kind: 'renew-refused' });
    expect(b.take().find((c) => c.kind === 'deposed')).toMatchObject({ reason: { cause: 'refused', message: 'a renewal on revision 5 was refused and the key could not be read' } });
  });

  it('ignores revisions at or below its own', () => {
    const a = leaderAt(5);
    a.feed({ kind: 'observed', observation: { revision: 5, holder: holder('b') } });
    a.feed({ kind: 'observed', observation: { revision: 3, holder: holder('b') } });
    expect(a.take()).toEqual([]);
    expect(a.core.role).toBe('leader');
  });

  it('after being deposed, waits a full lease before claiming its own stale key again', () => {
    const a = leaderAt(5);
    a.clock.advance(2700);   // deposed: expired, no renewal answered
    a.take();
    a.clock.advance(2999);
    expect(a.take()).toEqual([]);
    a.clock.advance(1);
    expect(a.take()).toEqual([{ kind: 'claim', expectRevision: 5, value: holder('a') }]);
  });
});

describe('following', () => {
  it('waits a full lease after the last revision it observed, restarting at each new one', () => {
    const b = candidate('b');
    b.feed({ kind: 'observed', observation: { revision: 3, holder: holder('a', 3) } });
    expect(b.take()).toEqual([{ kind: 'leader', leader: { id: 'a', address: 'http://a:5050', pid: 7, epoch: 3, leaseMs: 3000 } }]);
    b.clock.advance(2000);
    b.feed({ kind: 'observed', observation: { revision: 4, holder: holder('a', 3) } });
    b.clock.advance(2999);
    expect(b.take()).toEqual([]);   // same leader, same epoch: no news for the listeners
    b.clock.advance(1);
    expect(b.take()).toEqual([{ kind: 'claim', expectRevision: 4, value: holder('b') }]);
    expect(b.clock.now()).toBe(5000);
  });

  it('does not restart the wait for a repeated or older revision', () => {
    const b = candidate('b');
    b.feed({ kind: 'observed', observation: { revision: 4, holder: holder('a', 3) } });
    b.clock.advance(1000);
    b.feed({ kind: 'observed', observation: { revision: 4, holder: holder('a', 3) } });
    b.feed({ kind: 'observed', observation: { revision: 2, holder: holder('a', 1) } });
    b.clock.advance(2000);
    expect(b.kinds()).toEqual(['leader', 'claim']);
  });

  it('waits the holder\'s lease when it is longer than its own', () => {
    const b = candidate('b');
    b.feed({ kind: 'observed', observation: { revision: 4, holder: holder('a', 3, 10_000) } });
    b.take();
    b.clock.advance(9999);
    expect(b.take()).toEqual([]);
    b.clock.advance(1);
    expect(b.kinds()).toEqual(['claim']);
  });

  it('loses a claim race to the candidate whose compare-and-set landed first, and follows it', () => {
    const clock = new FakeClock(0);
    const [b, c] = [candidate('b', clock), candidate('c', clock)];
    for (const x of [b, c]) x.feed({ kind: 'observed', observation: { revision: 4, holder: holder('a', 3) } });
    clock.advance(3000);
    expect([b.take().at(-1), c.take().at(-1)]).toEqual([
      { kind: 'claim', expectRevision: 4, value: holder('b') }, { kind: 'claim', expectRevision: 4, value: holder('c') },
    ]);
    b.feed({ kind: 'claimed', revision: 5 });
    c.feed({ kind: 'claim-refused', current: { revision: 5, holder: holder('b') } });
    expect(b.kinds()).toEqual(['elected', 'leader']);
    expect(c.take()).toEqual([{ kind: 'leader', leader: { id: 'b', address: 'http://b:5050', pid: 7, epoch: 5, leaseMs: 3000 } }]);
    expect(c.core.role).toBe('follower');
    clock.advance(1000);   // b renews; c sees it and waits again
    b.feed({ kind: 'renewed', revision: 6 });
    c.feed({ kind: 'observed', observation: { revision: 6, holder: holder('b', 5) } });
    clock.advance(2999);
    expect(c.take()).toEqual([]);
  });

  it('after losing a race it already saw the winner of, claims a key the winner then deletes at once', () => {
    const b = candidate('b');
    b.feed({ kind: 'observed', observation: { revision: 0 } });
    b.take();
    b.feed({ kind: 'observed', observation: { revision: 1, holder: holder('a') } });   // the watch is faster than the refusal
    b.feed({ kind: 'claim-refused', current: { revision: 1, holder: holder('a') } });
    b.take();
    b.feed({ kind: 'observed', observation: { revision: 2 } });   // a abdicates
    expect(b.take()).toEqual([{ kind: 'leader', leader: undefined }, { kind: 'claim', expectRevision: 2, value: holder('b') }]);
  });

  it('trusts the store over a revision it does not have: claims again on the store\'s after a lease', () => {
    const b = candidate('b');
    b.feed({ kind: 'observed', observation: { revision: 80, holder: holder('a') } });   // from a replica that numbers differently
    b.clock.advance(3000);
    b.take();
    b.feed({ kind: 'claim-refused', current: { revision: 79, holder: holder('a') } });
    expect(b.kinds()).toEqual(['leader']);   // a at epoch 79, as the store has it
    b.clock.advance(2999);
    expect(b.take()).toEqual([]);
    b.clock.advance(1);
    expect(b.take()).toEqual([{ kind: 'claim', expectRevision: 79, value: holder('b') }]);
  });

  it('tries a failed claim (answer lost) again after a renewal interval, on the same revision', () => {
    const b = candidate('b');
    b.feed({ kind: 'observed', observation: { revision: 4 } });
    b.take();
    b.feed({ kind: 'claim-failed', error: 'TIMEOUT' });
    b.clock.advance(999);
    expect(b.take()).toEqual([]);
    b.clock.advance(1);
    expect(b.take()).toEqual([{ kind: 'claim', expectRevision: 4, value: holder('b') }]);
  });
});

describe('abdicating', () => {
  it('deletes the key on its last revision and steps down; a follower claims at once, the abdicator only after a lease', () => {
    const clock = new FakeClock(0);
    const a = candidate('a', clock);
    a.feed({ kind: 'observed', observation: { revision: 0 } });
    a.feed({ kind: 'claimed', revision: 1 });
    a.take();
    a.feed({ kind: 'abdicate' });
    expect(a.take()).toEqual([
      { kind: 'release', expectRevision: 1, session: 'session-a', epoch: 1 },
      { kind: 'deposed', epoch: 1, reason: { cause: 'abdicated', message: 'the leader stepped down' } },
      { kind: 'leader', leader: undefined },
    ]);
    expect(() => a.core.check(clock.now())).toThrow(FencedError);
    const b = candidate('b', clock);
    b.feed({ kind: 'observed', observation: { revision: 2 } });
    a.feed({ kind: 'observed', observation: { revision: 2 } });
    expect(b.take().at(-1)).toEqual({ kind: 'claim', expectRevision: 2, value: holder('b') });
    expect(a.take()).toEqual([]);
    clock.advance(3000);   // nobody took it: the abdicator may
    expect(a.take()).toEqual([{ kind: 'claim', expectRevision: 2, value: holder('a') }]);
  });

  it('is a no-op for a follower', () => {
    const b = candidate('b');
    b.feed({ kind: 'observed', observation: { revision: 4, holder: holder('a', 3) } });
    b.take();
    b.feed({ kind: 'abdicate' });
    expect(b.take()).toEqual([]);
  });
});

it('a stopped core asks for nothing and wakes for nothing', () => {
  const a = leaderAt(5);
  a.core.stop();
  expect(a.core.handle({ kind: 'timer' }, 100_000)).toEqual({ commands: [], wakeAt: undefined });
  expect(() => a.core.check(0)).toThrow(/does not lead 'master'/);
});

describe('config', () => {
  const target = { bucket: 'AGORA_LEADERS', group: 'master', candidate: { id: 'm1', address: 'http://m1:5050', pid: 1 } };

  it('defaults to a 3000 ms lease renewed every 1000 ms, a 0.1 drift margin, requests of 1000 ms, and 1 replica', () => {
    expect(electionConfig(target)).toEqual({ ...target, replicas: 1, timing: { leaseMs: 3000, renewEveryMs: 1000, driftMargin: 0.1, requestTimeoutMs: 1000 } });
    expect(leaseTiming({ leaseMs: 600 })).toEqual({ leaseMs: 600, renewEveryMs: 200, driftMargin: 0.1, requestTimeoutMs: 200 });
  });

  it.each([
    [{ leaseMs: 0 }, /invalid election option leaseMs=0: expected a whole number of milliseconds in 1\.\.600000/],
    [{ leaseMs: 2.5 }, /leaseMs=2\.5/],
    [{ leaseMs: 1 }, /leaseMs=1: expected a lease long enough for two renewals/],
    [{ renewEveryMs: 2000 }, /renewEveryMs=2000: expected a whole number of milliseconds in 1\.\.1350/],
    [{ driftMargin: 0.5 }, /driftMargin=0\.5: expected a fraction in \[0, 0\.5\)/],
    [{ driftMargin: Number.NaN }, /driftMargin=null/],
    [{ requestTimeoutMs: 4000 }, /requestTimeoutMs=4000/],
    [{ replicas: 2.5 }, /replicas=2\.5: expected 1 to 5/],
    [{ group: 'a.b' }, /group="a\.b": expected 1–64 letters/],
    [{ bucket: '' }, /bucket="": expected 1–64 letters/],
    [{ candidate: { id: '', address: '', pid: 1 } }, /candidate\.id="": expected a non-empty string/],
    [{ candidate: { id: 'm1', address: 'x', pid: -1 } }, /candidate\.pid=-1/],
  ])('refuses %j with an ElectionConfigError naming it', (bad, message) => {
    expect(() => electionConfig({ ...target, ...bad })).toThrow(ElectionConfigError);
    expect(() => electionConfig({ ...target, ...bad })).toThrow(message);
  });

  it('names the bucket after the subject prefix', () => {
    expect(leadersBucket()).toBe('AGORA_LEADERS');
    expect(leadersBucket('team.one')).toBe('TEAM_ONE_LEADERS');
  });
});

describe('the lease value', () => {
  it('round-trips, with the epoch only once a renewal carries it', () => {
    expect(decodeLease(encodeLease(holder('a')))).toEqual(holder('a'));
    expect(decodeLease(encodeLease(holder('a', 5)))).toEqual(holder('a', 5));
    expect(JSON.parse(new TextDecoder().decode(encodeLease(holder('a'))))).not.toHaveProperty('epoch');
  });

  it('reads bytes that are not a lease as nothing', () => {
    for (const text of ['', 'nope', '[]', '{"id":"a"}', JSON.stringify({ ...holder('a'), leaseMs: 0 }), JSON.stringify({ ...holder('a'), epoch: -1 })]) {
      expect(decodeLease(new TextEncoder().encode(text))).toBeUndefined();
    }
  });
});
