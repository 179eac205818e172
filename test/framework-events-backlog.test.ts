/**
 * The frameworks' event streams and a client that stops reading: services' `/v2/events` and
 * jobs' `/v1/events` are cut once more than maxEventBacklogBytes wait unread (a warning says
 * so), and a client that opens the stream again is served. The frameworks run on their own
 * (no master: they answer their APIs meanwhile), and the events come from their real APIs.
 */
import { get } from './support/http';
import { frameFields, readEventFrames } from '../common/sse';
import { startJobs, type JobsHandle } from '../frameworks/jobs/server';
import { startServices, type ServicesHandle } from '../frameworks/services/server';
import { recordingLogger, stalledEventStream, stepUntil, type LogLine } from './support/test-clients';
import { ServicesClient } from './support/services';

jest.setTimeout(60_000);

/**
 * Each API call makes events of some 64 kB (a 64 kB env value, a 64 kB description), under
 * the bound: what one call writes waits in the response for a turn, read or not.
 */
const BOUND_BYTES = 256 * 1024;
const big = 'x'.repeat(64 * 1024);
const nowhere = { master: '127.0.0.1:1', grpcAddress: '127.0.0.1:1', host: '127.0.0.1', port: 0 };
const cutOf = (stream: string) => (l: LogLine) => l.level === 'warn' && l.fields?.stream === stream;

/** A stream that reads: once open, `frame` is the first whose data matches (then it closes). */
function firstMatching(port: number, path: string, match: (data: Record<string, unknown>) => boolean): Promise<{ frame: Promise<string> }> {
  return new Promise((resolveOpen, reject) => {
    let resolveFrame: (f: string) => void = () => undefined;
    const frame = new Promise<string>((r) => { resolveFrame = r; });
    const req = get({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream' } }, (res) => {
      readEventFrames(res, (f) => {
        const { data } = frameFields(f);
        if (data !== undefined && match(JSON.parse(data) as Record<string, unknown>)) { resolveFrame(f); req.destroy(); }
      });
      resolveOpen({ frame });
    });
    req.on('error', (err) => { if (!req.destroyed) reject(err); });
  });
}

describe('services: GET /v2/events', () => {
  const log = recordingLogger();
  let services: ServicesHandle;
  let api: ServicesClient;
  beforeAll(async () => {
    services = await startServices({ ...nowhere, log, maxEventBacklogBytes: BOUND_BYTES });
    api = new ServicesClient(services.port);
  });
  afterAll(() => services?.stop());

  const app = (id: string, env: Record<string, string> = {}) => ({ id, instances: 0, cpus: 0.1, mem: 16, cmd: 'sleep 1', env });

  it('cuts a client that leaves more than maxEventBacklogBytes unread, with a warning; a new stream is served', async () => {
    const stalled = await stalledEventStream(services.port, '/v2/events');
    const cut = log.next(cutOf('GET /v2/events'));
    const steps = await stepUntil(cut, async (i) => {
      expect((await api.call('POST', '/v2/apps', app(`/backlog/app-${i}`, { BIG: big }))).status).toBe(201);
    }, 1000);   // at most some 100 MB: without the bound, this fails instead of hanging
    const warning = await cut;
    expect(steps * big.length).toBeGreaterThan(4 * BOUND_BYTES);   // cut for what it left unread, not for one call's events
    expect(warning.msg).toMatch(/left more than maxEventBacklogBytes unread; it may open the stream again/);
    expect(warning.fields?.unreadBytes as number).toBeGreaterThan(BOUND_BYTES);
    expect((await stalled.readToEnd()).complete).toBe(false);   // cut, not ended

    const fresh = await firstMatching(services.port, '/v2/events?event_type=api_post_event',
      (e) => (e.appDefinition as { id?: string } | undefined)?.id === '/backlog/after');
    expect((await api.call('POST', '/v2/apps', app('/backlog/after'))).status).toBe(201);
    expect(frameFields(await fresh.frame).event).toBe('api_post_event');
  });
});

describe('jobs: GET /v1/events', () => {
  const log = recordingLogger();
  let jobs: JobsHandle;
  let api: ServicesClient;   // a JSON client of any framework's API
  beforeAll(async () => {
    jobs = await startJobs({ ...nowhere, log, maxEventBacklogBytes: BOUND_BYTES });
    api = new ServicesClient(jobs.port);
  });
  afterAll(() => jobs?.stop());

  const job = (id: string, description = '') => ({ id, description, run: { cmd: 'echo hi', cpus: 0.1, mem: 32 } });

  it('cuts a client that leaves more than maxEventBacklogBytes unread, with a warning; a new stream is served', async () => {
    const stalled = await stalledEventStream(jobs.port, '/v1/events');
    const cut = log.next(cutOf('GET /v1/events'));
    const steps = await stepUntil(cut, async (i) => {
      expect((await api.call('POST', '/v1/jobs', job(`backlog-${i}`, big))).status).toBe(201);
    }, 1000);
    const warning = await cut;
    expect(steps * big.length).toBeGreaterThan(4 * BOUND_BYTES);   // cut for what it left unread, not for one call's events
    expect(warning.msg).toMatch(/left more than maxEventBacklogBytes unread; it may open the stream again/);
    expect(warning.fields?.unreadBytes as number).toBeGreaterThan(BOUND_BYTES);
    expect((await stalled.readToEnd()).complete).toBe(false);

    const fresh = await firstMatching(jobs.port, '/v1/events', (e) => (e.job as { id?: string } | undefined)?.id === 'backlog-after');
    expect((await api.call('POST', '/v1/jobs', job('backlog-after'))).status).toBe(201);
    expect(frameFields(await fresh.frame).event).toBe('job_updated');
  });
});
