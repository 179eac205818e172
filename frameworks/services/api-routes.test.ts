import type { SandboxReader } from '../shared/task-output';
import { flag, route, type RouteDeps } from './api-routes';

const url = (query: string) => new URL(`http://services/v2/apps/x/tasks/t?${query}`);

describe('Marathon query booleans (Java Boolean.valueOf)', () => {
  it.each(['true', 'True', 'TRUE', 'tRuE'])('%s is true', (v) => {
    expect(flag(url(`scale=${v}`), 'scale')).toBe(true);
  });

  it.each(['false', 'False', '', '1', 'yes', 'on', 'truthy'])("'%s' is false, whatever the default", (v) => {
    expect(flag(url(`scale=${v}`), 'scale', true)).toBe(false);
  });

  it("an absent parameter takes Marathon's default for it (partialUpdate: true, force: false)", () => {
    expect(flag(url(''), 'partialUpdate', true)).toBe(true);
    expect(flag(url(''), 'force')).toBe(false);
  });
});

describe('GET /v1/tasks/{id}/stdout: a task\'s output through the master\'s relay', () => {
  const instance = { taskId: 'web.instance-1', agentId: 'agent-7' };
  const framework = { state: { instances: new Map([[instance.taskId, instance]]) } } as unknown as RouteDeps['framework'];
  const reader = (reads: unknown[]): SandboxReader => ({
    sandboxFileSize: (taskId, file, where) => { reads.push(['size', taskId, file, where]); return Promise.resolve(6); },
    readSandboxFile: (taskId, file, range) => { reads.push(['read', taskId, file, range]); return Promise.resolve({ data: 'hello\n', offset: range?.offset ?? 0 }); },
  });
  const deps = (sandbox: RouteDeps['sandbox']): RouteDeps => ({
    framework, sandbox, commands: {} as RouteDeps['commands'], self: () => 'x', info: () => ({}), connected: () => true,
  });
  const get = (d: RouteDeps, path: string) => route(d)({ method: 'GET', url: new URL(`http://services${path}`) } as Parameters<ReturnType<typeof route>>[0]);

  it('reads one of our tasks from the agent it ran on, through the SDK, as text', async () => {
    const reads: unknown[] = [];
    const reply = await get(deps(() => reader(reads)), '/v1/tasks/web.instance-1/stdout');
    expect(reply).toMatchObject({ status: 200, text: { contentType: 'text/plain; charset=utf-8', data: 'hello\n' }, headers: { 'X-Skipped-Bytes': '0' } });
    expect(reads).toEqual([['size', 'web.instance-1', 'stdout', { agentId: 'agent-7' }], ['read', 'web.instance-1', 'stdout', { agentId: 'agent-7', offset: 0, length: 6 }]]);
  });

  it('refuses a task that is not ours (404) and answers 503 while not subscribed, reading nothing', async () => {
    const reads: unknown[] = [];
    await expect(get(deps(() => reader(reads)), '/v1/tasks/other.instance-2/stderr')).rejects.toMatchObject({ status: 404 });
    await expect(get(deps(() => undefined), '/v1/tasks/web.instance-1/stdout')).rejects.toMatchObject({ status: 503 });
    expect(reads).toEqual([]);
  });
});
