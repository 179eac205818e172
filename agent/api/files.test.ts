/**
 * Browsing and following a task's sandbox over the agent's HTTP API, on a running agent
 * (process containerizer, real NATS, the test playing the master), requested over
 * 127.0.0.1. Tasks that should write more wait for a file the test creates in their
 * sandbox, so nothing here waits on the clock.
 */
import { lstatSync, writeFileSync } from 'fs';
import { request, type IncomingHttpHeaders } from 'http';
import { join } from 'path';
import type { SandboxEntry } from '../sandbox';
import { startAgentRig, testTask, type AgentRig } from '../../test/support/test-master';
import type { AgentStateView } from './http';

let rig: AgentRig;

beforeAll(async () => {
  rig = await startAgentRig({ containerizer: 'process', resources: 'cpus:2;mem:1024;disk:500' });
});

afterAll(async () => { await rig?.stop(); });

function sandbox(taskId: string, containerId: string): string {
  return join(rig.workDir, 'agents', rig.agentId, 'frameworks', 'fw-1', 'tasks', taskId, 'runs', containerId);
}

function get(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: rig.agent.httpPort, path }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A response read as it arrives: a test waits for text to show up, or for the end. */
class Follower {
  text = '';
  status = 0;
  headers: IncomingHttpHeaders = {};
  ended = false;
  readonly done: Promise<void>;
  private waiters: (() => void)[] = [];

  constructor(path: string) {
    this.done = new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: rig.agent.httpPort, path }, (res) => {
        this.status = res.statusCode ?? 0;
        this.headers = res.headers;
        this.notify();   // the stream is open
        res.setEncoding('utf8');
        res.on('data', (d: string) => { this.text += d; this.notify(); });
        res.on('end', () => { this.ended = true; this.notify(); resolve(); });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** Resolves once the text received so far satisfies `holds` (or fails if the stream ends first). */
  until(holds: (text: string) => boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (holds(this.text)) return resolve();
        if (this.ended) return reject(new Error(`the stream ended with ${JSON.stringify(this.text)}`));
        this.waiters.push(check);
      };
      check();
    });
  }

  private notify(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}

const q = (taskId: string, more: string) => `framework_id=fw-1&task_id=${taskId}&${more}`;

describe('GET /files/browse', () => {
  let containerId: string;

  beforeAll(async () => {
    rig.master.run(rig.agentId, testTask('tree',
      'printf 12345 > five; chmod 640 five; mkdir -p sub/deeper; echo inner > sub/file; ln -s /etc leak; ln -s sub inside'));
    containerId = (await rig.master.waitForState('tree', 'TASK_FINISHED')).containerId;
  });

  const browse = (more = '') => get(`/files/browse?${q('tree', more)}`);

  it('lists the sandbox: name, path, type, size, mode and mtime of each entry, by name', async () => {
    const { status, body } = await browse();
    expect(status).toBe(200);
    expect(body.path).toBe('');
    expect(body.truncated).toBe(false);
    const entries = body.entries as SandboxEntry[];
    expect(entries.map((e) => [e.name, e.path, e.type])).toEqual([
      ['five', 'five', 'file'], ['inside', 'inside', 'link'], ['leak', 'leak', 'link'],
      ['stderr', 'stderr', 'file'], ['stdout', 'stdout', 'file'], ['sub', 'sub', 'directory'],
    ]);
    const five = entries.find((e) => e.name === 'five')!;
    expect(five).toEqual({
      name: 'five', path: 'five', type: 'file', size: 5, mode: '-rw-r-----',
      mtime: Math.floor(lstatSync(join(sandbox('tree', containerId), 'five')).mtimeMs),
    });
    expect(entries.find((e) => e.name === 'sub')!.mode).toMatch(/^drwx/);
    expect(entries.find((e) => e.name === 'leak')!.mode).toBe('lrwxrwxrwx');
  });

  it('lists a nested directory, reached by its path or through a link inside the sandbox', async () => {
    const { status, body } = await browse('path=sub');
    expect(status).toBe(200);
    expect(body.path).toBe('sub');
    expect((body.entries as SandboxEntry[]).map((e) => [e.path, e.type, e.size])).toEqual([
      ['sub/deeper', 'directory', expect.any(Number)], ['sub/file', 'file', 6],
    ]);
    const viaLink = await browse('path=inside');
    expect(viaLink.body.path).toBe('sub');
    expect((viaLink.body.entries as SandboxEntry[]).map((e) => e.path)).toEqual(['sub/deeper', 'sub/file']);
    expect((await browse('path=sub/deeper')).body).toEqual({ path: 'sub/deeper', entries: [], truncated: false });
  });

  it('never lists a directory outside the sandbox, by .., absolute path or a link the task planted', async () => {
    for (const path of ['..', '../../../../../../..', '/etc', 'leak', 'sub/../..', 'inside/../../..']) {
      const r = await browse(`path=${encodeURIComponent(path)}`);
      expect([path, r.status]).toEqual([path, 400]);
      expect(r.body.error).toMatch(/outside the sandbox/);
      expect(JSON.stringify(r.body)).not.toMatch(/passwd/);
    }
  });

  it('400 for a file or missing ids, 404 for an unknown task, run or directory', async () => {
    expect(await browse('path=five')).toEqual({ status: 400, body: { error: "'five' is not a directory" } });
    expect(await get('/files/browse?framework_id=fw-1')).toEqual({ status: 400, body: { error: 'task_id is required' } });
    expect((await get('/files/browse?framework_id=fw-1&task_id=nope')).status).toBe(404);
    expect((await browse('container_id=not-a-run')).status).toBe(404);
    expect(await browse('path=nothing')).toEqual({ status: 404, body: { error: "no directory 'nothing' in the sandbox" } });
  });

  it('shows the newest run of a task unless container_id names an older one', async () => {
    rig.master.run(rig.agentId, testTask('tree', 'echo again > second-run'));
    const newer = (await rig.master.waitForStatus((s) => s.taskId === 'tree' && s.state === 'TASK_FINISHED' && s.containerId !== containerId)).containerId;
    const names = async (more: string) => ((await browse(more)).body.entries as SandboxEntry[]).map((e) => e.name);
    expect(await names('')).toEqual(['second-run', 'stderr', 'stdout']);
    expect(await names(`container_id=${newer}`)).toEqual(['second-run', 'stderr', 'stdout']);
    expect(await names(`container_id=${containerId}`)).toContain('five');
  });
});

describe('GET /files/follow', () => {
  const follow = (taskId: string, more: string) => new Follower(`/files/follow?${q(taskId, more)}`);

  it('streams a running task\'s file as it is written, and ends once the task is over', async () => {
    rig.master.run(rig.agentId, testTask('talker', 'echo first; until [ -e go ]; do sleep 0.02; done; echo second'));
    const { containerId } = await rig.master.waitForState('talker', 'TASK_RUNNING');
    const f = follow('talker', 'file=stdout');
    await f.until((t) => t === 'first\n');
    expect(f.status).toBe(200);
    expect(f.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(f.headers['x-agora-container-id']).toBe(containerId);
    expect(f.ended).toBe(false);   // the task still runs: the stream stays open

    writeFileSync(join(sandbox('talker', containerId), 'go'), '');
    await f.done;
    expect(f.text).toBe('first\nsecond\n');
    // It ended because the run is over, and not before.
    const state = (await get('/state')).body as unknown as AgentStateView;
    expect(state.tasks.find((t) => t.containerId === containerId)!.state).toBe('TASK_FINISHED');
  });

  it('offset=-1 starts at the end: only what is written after', async () => {
    rig.master.run(rig.agentId, testTask('later', 'echo before; until [ -e go ]; do sleep 0.02; done; echo after >&2; echo after'));
    const { containerId } = await rig.master.waitForState('later', 'TASK_RUNNING');
    const fromStart = follow('later', 'file=stdout');
    await fromStart.until((t) => t === 'before\n');
    const fromEnd = follow('later', 'file=stdout&offset=-1');
    const stderr = follow('later', 'file=stderr');
    await fromEnd.until(() => fromEnd.status === 200);   // open, and at the end of what is there
    expect(fromEnd.headers['x-agora-offset']).toBe('7');

    writeFileSync(join(sandbox('later', containerId), 'go'), '');
    await Promise.all([fromStart.done, fromEnd.done, stderr.done]);
    expect([fromStart.text, fromEnd.text, stderr.text]).toEqual(['before\nafter\n', 'after\n', 'after\n']);
  });

  it('a finished task\'s file is sent from the offset, and the stream ends at once', async () => {
    rig.master.run(rig.agentId, testTask('done', 'printf 0123456789abcdef'));
    await rig.master.waitForState('done', 'TASK_FINISHED');
    const whole = follow('done', 'file=stdout');
    const tail = follow('done', 'file=stdout&offset=10');
    const nothing = follow('done', 'file=stdout&offset=-1');
    await Promise.all([whole.done, tail.done, nothing.done]);
    expect([whole.text, tail.text, nothing.text]).toEqual(['0123456789abcdef', 'abcdef', '']);
    expect(nothing.headers['x-agora-offset']).toBe('16');
  });

  it('refuses what /files/read refuses: paths outside the sandbox, unknown files, bad offsets', async () => {
    rig.master.run(rig.agentId, testTask('linker', 'ln -s /etc/passwd leak'));
    await rig.master.waitForState('linker', 'TASK_FINISHED');
    for (const file of ['../../../../../../../../etc/passwd', '/etc/passwd', 'leak', '.']) {
      const r = await get(`/files/follow?${q('linker', `file=${encodeURIComponent(file)}`)}`);
      expect([file, r.status]).toEqual([file, 400]);
      expect(JSON.stringify(r.body)).not.toMatch(/root:/);
    }
    expect((await get(`/files/follow?${q('linker', 'file=nothing')}`)).status).toBe(404);
    expect((await get(`/files/follow?${q('nobody', 'file=stdout')}`)).status).toBe(404);
    expect(await get(`/files/follow?${q('linker', 'file=stdout&offset=-2')}`))
      .toEqual({ status: 400, body: { error: 'offset must be an integer ≥ 0, or -1 for the end' } });
    expect(await get('/files/follow?framework_id=fw-1&task_id=linker')).toEqual({ status: 400, body: { error: 'file is required' } });
  });
});
