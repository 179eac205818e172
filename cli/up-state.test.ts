/**
 * `agora up`'s state folder, with real processes standing in for the servers a killed run
 * left: a live `agora up` on the folder is refused and nothing changes; the servers a dead one
 * left are stopped; a pid now used by another process is left alone; `--fresh` removes only
 * what `agora up` makes there.
 */
import { spawn, type ChildProcess } from 'child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { startTicks } from '../agent/containerizer/procfs';
import { claimStateDir, closedToTasks, upStatePaths, UpStateError, wipeState } from './up-state';

/** A process that runs until it is told to stop, with its start time. */
function sleeper(): { child: ChildProcess; pid: number; ticks: number; exited: Promise<void> } {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, pid: child.pid!, ticks: startTicks(child.pid!)!, exited };
}

describe('the state folder of agora up', () => {
  let dir: string;
  const children: ChildProcess[] = [];
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'agora-up-state-')); });
  afterEach(() => {
    for (const c of children.splice(0)) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const record = (up: { pid: number; startTicks?: number }, servers: Record<string, { pid: number; startTicks?: number }> = {}) =>
    writeFileSync(join(dir, 'up.json'), JSON.stringify({ version: 1, up, servers }));

  it('is refused while another agora up on it is alive, and nothing is changed', async () => {
    const other = sleeper();
    children.push(other.child);
    record({ pid: other.pid, startTicks: other.ticks });
    const before = readFileSync(join(dir, 'up.json'), 'utf8');
    await expect(claimStateDir(upStatePaths(dir))).rejects.toThrow(UpStateError);
    await expect(claimStateDir(upStatePaths(dir))).rejects.toThrow(`another agora up (pid ${other.pid}) is running on ${dir}`);
    expect(readFileSync(join(dir, 'up.json'), 'utf8')).toBe(before);
  });

  it('stops the servers a dead agora up left, names them, and records itself', async () => {
    const redis = sleeper();
    const nats = sleeper();
    children.push(redis.child, nats.child);
    record({ pid: 999_999_999, startTicks: 1 }, { redis: { pid: redis.pid, startTicks: redis.ticks }, nats: { pid: nats.pid, startTicks: nats.ticks } });
    const claim = await claimStateDir(upStatePaths(dir));
    expect(claim.stopped).toEqual([`nats (pid ${nats.pid})`, `redis (pid ${redis.pid})`]);
    await Promise.all([redis.exited, nats.exited]);
    expect(redis.child.signalCode).toBe('SIGTERM');
    const now = JSON.parse(readFileSync(join(dir, 'up.json'), 'utf8')) as { up: { pid: number }; servers: object };
    expect(now).toMatchObject({ up: { pid: process.pid }, servers: {} });
    claim.recordServer('redis', redis.pid);
    expect(JSON.parse(readFileSync(join(dir, 'up.json'), 'utf8'))).toMatchObject({ servers: { redis: { pid: redis.pid } } });
    claim.release();
    expect(existsSync(join(dir, 'up.json'))).toBe(false);
  });

  it('leaves alone a process that has the recorded pid but another start time (the pid was reused)', async () => {
    const stranger = sleeper();
    children.push(stranger.child);
    record({ pid: 999_999_999 }, { redis: { pid: stranger.pid, startTicks: stranger.ticks - 1 } });
    const claim = await claimStateDir(upStatePaths(dir));
    expect(claim.stopped).toEqual([]);
    expect(stranger.child.exitCode === null && stranger.child.signalCode === null).toBe(true);
  });

  it('refuses a record it cannot read, saying what to do', async () => {
    writeFileSync(join(dir, 'up.json'), '{"version": 2}');
    await expect(claimStateDir(upStatePaths(dir))).rejects.toThrow(/is not a record of agora up \(version 1, up, servers\); if no agora up is running there, remove it/);
    expect(readFileSync(join(dir, 'up.json'), 'utf8')).toBe('{"version": 2}');
  });

  it('--fresh wipes redis/, nats/ and agent/ and nothing else of the folder', () => {
    const paths = upStatePaths(dir);
    for (const d of [paths.redis, paths.nats, paths.agent]) mkdirSync(join(d, 'inside'), { recursive: true });
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    wipeState(paths);
    expect([paths.redis, paths.nats, paths.agent].map(existsSync)).toEqual([false, false, false]);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('names the folders that shut process tasks out of a root cluster\'s sandboxes, and none for another user', () => {
    const closed = join(dir, 'closed');
    mkdirSync(join(closed, 'open', 'agent'), { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o711);
    chmodSync(join(closed, 'open'), 0o711);
    expect(closedToTasks(join(closed, 'open', 'agent'), 0)).toBe(closed);
    expect(closedToTasks(join(closed, 'open', 'agent'), 1000)).toBeUndefined();
    chmodSync(closed, 0o711);
    expect(closedToTasks(join(closed, 'open', 'agent'), 0)).toBeUndefined();
  });
});
