/**
 * The master's event streams and a client that stops reading: once more than the bound waits
 * unread in the master, the stream is cut (not ended), the master says so in a warning, and
 * the client comes back — to /api/v1/events with Last-Event-ID, missing nothing. A real HTTP
 * server, with the offer log and the operator journal wired as startMaster wires them.
 */
import { get } from 'http';
import { systemClock } from '../../common/clock';
import type { MasterStateView, OfferLogEvent } from '../../common/operator-types';
import { frameFields, readEventFrames } from '../../common/sse';
import { OfferLog } from '../offer-log';
import { OperatorJournal } from '../operator-events';
import { followJournal } from '../operator-stream';
import { startHttp, type HttpHandle } from './http';
import { recordingLogger, stalledEventStream, stepUntil, type LogLine } from '../../test/support/test-clients';

const emptyState: MasterStateView = {
  master: { id: 'master-1', hostname: 'h', httpPort: 0, grpcPort: 0, version: 'v', startedAt: 0 }, agents: [], frameworks: [], tasks: [], offers: [],
};

const BOUND_BYTES = 64 * 1024;
/** About 4 kB a line, so the kernel's socket buffers (a few MB on loopback) fill in some thousands. */
const offered = (i: number): OfferLogEvent => ({
  type: 'OFFERED', at: i, offerId: `offer-${i}`, frameworkId: 'fw-1', agentId: 'agent-1', role: '*', resources: `cpus:1;mem:${'1'.repeat(4000)}`,
});

let http: HttpHandle;
let offerLog: OfferLog;
let journal: OperatorJournal;
const log = recordingLogger();
let n = 0;
/**
 * One step of a busy master: 10 offer-log lines, each an OFFER operator event too. Under the
 * bound: what one turn of the event loop writes waits in the response until the next turn,
 * whether the client reads or not.
 */
const busy = (): void => { for (let i = 0; i < 10; i++) offerLog.record(offered(++n)); };
const cutOf = (stream: string) => (l: LogLine) => l.level === 'warn' && l.fields?.stream === stream;

beforeAll(async () => {
  offerLog = new OfferLog(1000);
  journal = new OperatorJournal('e1', 100_000, systemClock);
  offerLog.subscribe((offer) => journal.record({ type: 'OFFER', kind: offer.type, offer }));
  http = await startHttp({
    ready: () => true, state: () => emptyState, offerLog, log,
    operatorEvents: { follow: (o) => followJournal(journal, { ...o, heartbeatIntervalMs: 3_600_000, clock: systemClock }) },
  }, { host: '127.0.0.1', port: 0, maxEventBacklogBytes: BOUND_BYTES, maxOfferEventBacklogBytes: BOUND_BYTES });
});
afterAll(() => http.stop());

/** Frames from a stream that reads normally, until `enough` says so. */
function follow(path: string, headers: Record<string, string>, enough: (frames: string[]) => boolean): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const frames: string[] = [];
    const req = get({ host: '127.0.0.1', port: http.port, path, headers }, (res) => {
      readEventFrames(res, (frame) => {
        frames.push(frame);
        if (enough(frames)) { req.destroy(); resolve(frames); }
      });
    });
    req.on('error', (err) => { if (!req.destroyed) reject(err); });
  });
}

const idOf = (frame: string): number => Number(/^id: e1:(\d+)$/m.exec(frame)?.[1] ?? NaN);

describe('a client that stops reading is cut once more than maxEventBacklogBytes wait unread', () => {
  it('GET /api/v1/events: cut with a warning naming the unread bytes; the client resumes with Last-Event-ID and misses nothing, even more than the bound', async () => {
    const stalled = await stalledEventStream(http.port, '/api/v1/events');
    const cut = log.next(cutOf('GET /api/v1/events'));
    await stepUntil(cut, busy, 10_000);   // at most 400 MB: without the bound, this fails instead of hanging
    const warning = await cut;
    expect(warning.msg).toMatch(/left more than maxEventBacklogBytes unread; it may resume with Last-Event-ID/);
    expect(warning.fields).toMatchObject({ maxEventBacklogBytes: BOUND_BYTES, unreadBytes: expect.any(Number) });
    expect(warning.fields?.unreadBytes as number).toBeGreaterThan(BOUND_BYTES);

    const { frames, complete } = await stalled.readToEnd();
    expect(complete).toBe(false);   // cut, not a response that ended normally
    const lastHad = Math.max(...frames.map(idOf).filter((id) => !Number.isNaN(id)));
    expect(lastHad).toBeGreaterThan(0);
    expect(lastHad).toBeLessThan(journal.lastId());   // some were made and never read whole

    // Missed while away: more than the bound, which the resuming client is served whole (a
    // replay is not a backlog the client left unread).
    for (let i = 0; i < 4; i++) busy();
    expect((journal.lastId() - lastHad) * 4000).toBeGreaterThan(BOUND_BYTES * 2);
    const resumed = await follow('/api/v1/events', { 'last-event-id': `e1:${lastHad}` }, (f) => f.length === 1 + journal.lastId() - lastHad);
    expect(frameFields(resumed[0]!).event).toBe('SUBSCRIBED');
    const ids = resumed.slice(1).map(idOf);
    expect(ids[0]).toBe(lastHad + 1);
    expect(ids.at(-1)).toBe(journal.lastId());
    expect(ids.every((id, i) => i === 0 || id === ids[i - 1]! + 1)).toBe(true);
  }, 60_000);

  it('GET /api/v1/offers/events: cut with a warning; a new client follows the live log again', async () => {
    const stalled = await stalledEventStream(http.port, '/api/v1/offers/events');
    const cut = log.next(cutOf('GET /api/v1/offers/events'));
    await stepUntil(cut, busy, 10_000);
    expect((await cut).msg).toMatch(/left more than maxEventBacklogBytes unread; it may follow again with \?replay=N/);
    expect((await stalled.readToEnd()).complete).toBe(false);

    const next = follow('/api/v1/offers/events?replay=1', {}, (f) => f.length === 2);
    const [replayed, live] = await stepUntil(next, () => offerLog.record(offered(++n)), 100).then(() => next);
    expect(JSON.parse(frameFields(replayed!).data!)).toMatchObject({ type: 'OFFERED' });
    expect(JSON.parse(frameFields(live!).data!)).toMatchObject({ type: 'OFFERED', offerId: expect.stringMatching(/^offer-\d+$/) });
  }, 60_000);
});
