/**
 * The follow stream's bookkeeping, on the agent's real HTTP server over 127.0.0.1 with a
 * sandbox directory on disk; the agent is reduced to the two things the server asks of it
 * (which run, and when a run ends), so the test can end a run when it chooses.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { request, type ClientRequest } from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import { logger } from '../../common/log';
import { eventually } from '../../test/support/cluster';
import { startHttp, type AgentHttpServer } from './http';

let dir: string;
let server: AgentHttpServer;
let over = false;
let runEnded: (containerId: string) => void = () => undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agora-follow-'));
  writeFileSync(join(dir, 'stdout'), 'hello\n');
  over = false;
  server = await startHttp('127.0.0.1', 0, {
    state: () => { throw new Error('not asked in these tests'); },
    runOf: (_f, _t, cid) => (cid === undefined || cid === 'c-1' ? { containerId: 'c-1', sandbox: dir, over } : undefined),
    onRunEnded: (listener) => { runEnded = listener; },
    // Never in these tests: what wakes a follower is the file changing or the run ending.
    followPollMs: 3_600_000,
    log: logger('test'),
  });
});

afterEach(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Opens a follow and resolves with the request once the first bytes arrived. */
function follow(onData: (text: string) => void, onEnd: () => void = () => undefined): Promise<ClientRequest> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path: '/files/follow?framework_id=f&task_id=t&file=stdout' }, (res) => {
      res.setEncoding('utf8');
      res.once('data', () => resolve(req));
      res.on('data', onData);
      res.on('end', onEnd);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('/files/follow', () => {
  it('forgets a follower that hangs up: nothing is left listening for its run', async () => {
    const req = await follow(() => undefined);
    expect(server.following).toBe(1);
    req.destroy();
    await eventually('the server dropped the follower', async () => server.following === 0);
  });

  it('sends what is appended, and ends only when told the run is over', async () => {
    let text = '';
    let seen: () => void = () => undefined;
    const ended = new Promise<void>((resolve) => {
      void follow((d) => { text += d; seen(); }, resolve);
    });
    const until = (want: string) => new Promise<void>((resolve) => { seen = () => { if (text === want) resolve(); }; seen(); });
    await until('hello\n');
    appendFileSync(join(dir, 'stdout'), 'more\n');
    await until('hello\nmore\n');
    appendFileSync(join(dir, 'stdout'), 'last\n');   // written just before the run ends
    over = true;
    runEnded('c-1');
    await ended;
    expect(text).toBe('hello\nmore\nlast\n');
    expect(server.following).toBe(0);
  });
});
