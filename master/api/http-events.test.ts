/** The HTTP shell of GET /api/v1/events, with a fake journal: routing, errors and the backlog bound. */
import { get, type IncomingMessage } from 'http';
import { logger } from '../../common/log';
import type { MasterStateView } from '../../common/operator-types';
import { OfferLog } from '../offer-log';
import { startHttp, type HttpDeps, type HttpHandle } from './http';
import { getJson } from '../../test/support/test-clients';

const emptyState: MasterStateView = {
  master: { id: 'master-1', hostname: 'h', httpPort: 0, grpcPort: 0, version: 'v', startedAt: 0 }, agents: [], frameworks: [], tasks: [], offers: [],
};

type FollowArgs = Parameters<NonNullable<HttpDeps['operatorEvents']>['follow']>[0];

describe('GET /api/v1/events (HTTP shell)', () => {
  let http: HttpHandle;
  let followed: (args: FollowArgs) => void = () => undefined;
  let stopped: () => void = () => undefined;

  beforeAll(async () => {
    http = await startHttp({
      ready: () => true, state: () => emptyState, offerLog: new OfferLog(10), log: logger('test'),
      operatorEvents: { follow: (args) => { followed(args); return () => stopped(); } },
    }, { host: '127.0.0.1', port: 0, maxEventBacklogBytes: 1024 * 1024 });
  });
  afterAll(() => http.stop());

  const open = (path: string, headers: Record<string, string> = {}): Promise<{ args: FollowArgs; res: IncomingMessage }> =>
    new Promise((resolve) => {
      let args: FollowArgs | undefined;
      followed = (a) => { args = a; };
      get({ host: '127.0.0.1', port: http.port, path, headers }, (res) => resolve({ args: args as FollowArgs, res })).on('error', () => undefined);
    });

  it('hands the journal the Last-Event-ID header (or ?lastEventId=) and the types asked', async () => {
    const byHeader = await open('/api/v1/events?types=TASK_ADDED,OFFER', { 'last-event-id': 'e1:7' });
    expect(byHeader.res.headers['content-type']).toBe('text/event-stream');
    expect(byHeader.args.lastEventId).toBe('e1:7');
    expect(byHeader.args.types).toEqual(new Set(['TASK_ADDED', 'OFFER']));
    byHeader.res.destroy();
    const byQuery = await open('/api/v1/events?lastEventId=e1:9');
    expect(byQuery.args).toMatchObject({ lastEventId: 'e1:9', types: undefined });
    byQuery.res.destroy();
  });

  it('refuses an unknown type with a 400 naming the known ones', async () => {
    expect(await getJson(http.port, '/api/v1/events?types=TASK_LOST')).toEqual({
      status: 400, body: { error: expect.stringMatching(/^unknown event type\(s\) TASK_LOST; known: TASK_ADDED, TASK_UPDATED/) },
    });
  });

  it('cuts a client that leaves more than the bound unread, and stops following for it', async () => {
    const { args, res } = await open('/api/v1/events');
    res.pause();   // a stalled client: reads nothing
    const gone = new Promise<void>((resolve) => { stopped = resolve; });
    const frame = `event: OFFER\ndata: ${'x'.repeat(100 * 1024)}\n\n`;
    for (let i = 0; i < 200; i++) args.write(frame);   // 20 MB offered against a bound of 1 MB
    const clientSaw = new Promise<boolean>((resolve) => res.on('close', () => resolve(res.complete)));
    res.resume();
    await gone;
    expect(await clientSaw).toBe(false);   // cut, not a response that ended normally
  }, 10_000);   // a deadline: without the bound the stream would stay open
});
