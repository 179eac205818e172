/**
 * The agent's HTTP endpoints on a running agent (process containerizer, real NATS, the
 * test playing the master), requested over 127.0.0.1.
 */
import { request } from 'http';
import { join } from 'path';
import type { AgentHandle } from '../agent';
import { startAgentRig, testTask, type AgentRig } from '../../test/support/test-master';
import type { AgentStateView } from './http';

let rig: AgentRig;
let agent: AgentHandle;

beforeAll(async () => {
  rig = await startAgentRig({ containerizer: 'process', resources: 'cpus:2;mem:1024;disk:500' });
  agent = rig.agent;
  rig.master.run(rig.agentId, testTask('web', 'printf "0123456789abcdef"; echo err >&2; ln -s /etc/passwd leak; mkdir sub; echo inner > sub/file'));
  await rig.master.waitForState('web', 'TASK_FINISHED');
});

afterAll(async () => { await rig?.stop(); });

function http(path: string, method = 'GET'): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: agent.httpPort, path, method }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

const read = (q: string) => http(`/files/read?framework_id=fw-1&task_id=web&${q}`);

describe('agent HTTP', () => {
  it('GET /health is 200', async () => {
    expect(await http('/health')).toEqual({ status: 200, body: { healthy: true } });
  });

  it('GET /state shows the agent id, its resources and its tasks with their sandboxes', async () => {
    const { status, body } = await http('/state');
    const state = body as unknown as AgentStateView;
    expect(status).toBe(200);
    expect(state.agentId).toBe(agent.agentId);
    expect(state.resources).toEqual({ text: 'cpus:2;disk:500;mem:1024;ports:[31000-32000]', cpus: 2, mem: 1024, disk: 500, gpus: 0 });
    const web = state.tasks.find((t) => t.id === 'web')!;
    expect(web).toMatchObject({ frameworkId: 'fw-1', state: 'TASK_FINISHED', containerizer: 'process', exitCode: 0 });
    expect(web.sandbox).toBe(join(rig.workDir, 'agents', agent.agentId, 'frameworks', 'fw-1', 'tasks', 'web', 'runs', web.containerId));
  });

  it('reads a sandbox file whole, from an offset, and a slice of a given length', async () => {
    expect(await read('file=stdout')).toEqual({ status: 200, body: { data: '0123456789abcdef', offset: 0 } });
    expect(await read('file=stdout&offset=10')).toEqual({ status: 200, body: { data: 'abcdef', offset: 10 } });
    expect(await read('file=stdout&offset=4&length=3')).toEqual({ status: 200, body: { data: '456', offset: 4 } });
    expect(await read('file=stdout&offset=100')).toEqual({ status: 200, body: { data: '', offset: 100 } });
    expect(await read('file=stderr')).toEqual({ status: 200, body: { data: 'err\n', offset: 0 } });
    expect(await read('file=sub/file')).toEqual({ status: 200, body: { data: 'inner\n', offset: 0 } });
  });

  it('offset=-1 answers the size as the offset, for a tail to start at the end', async () => {
    expect(await read('file=stdout&offset=-1')).toEqual({ status: 200, body: { data: '', offset: 16 } });
  });

  it('404 for an unknown task or file', async () => {
    expect((await http('/files/read?framework_id=fw-1&task_id=nope&file=stdout')).status).toBe(404);
    expect((await http('/files/read?framework_id=fw-2&task_id=web&file=stdout')).status).toBe(404);
    const missing = await read('file=nothing-here');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatch(/nothing-here/);
  });

  it('400 for missing or malformed parameters', async () => {
    expect((await http('/files/read?framework_id=fw-1&task_id=web')).status).toBe(400);
    expect((await read('file=stdout&offset=abc')).status).toBe(400);
    expect((await read('file=stdout&offset=-2')).status).toBe(400);
    expect((await read('file=stdout&length=-1')).status).toBe(400);
  });

  it('never serves a path outside the sandbox, by .. or by a link the task planted', async () => {
    for (const file of ['../../../../../../../../etc/passwd', '/etc/passwd', '..', 'leak', 'sub/../../stdout']) {
      const r = await read(`file=${encodeURIComponent(file)}`);
      expect([file, r.status]).toEqual([file, 400]);
      expect(JSON.stringify(r.body)).not.toMatch(/root:/);
    }
    expect((await read('file=sub')).status).toBe(400); // a directory is not a file
  });

  it('405 for other methods, 404 for other paths', async () => {
    expect((await http('/state', 'POST')).status).toBe(405);
    expect((await http('/nope')).status).toBe(404);
  });
});
