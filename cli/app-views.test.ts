import { appSummary, appTable, deploymentTable, whatRuns } from './app-views';
import { validationLines } from './framework-command';
import type { AppJson } from './services-client';

function appOf(over: Partial<AppJson>): AppJson {
  return {
    id: '/web', instances: 3, cpus: 0.25, mem: 64, disk: 0, healthChecks: [], version: '2024-01-01T00:00:00.000Z',
    tasksStaged: 0, tasksRunning: 3, tasksHealthy: 0, tasksUnhealthy: 0, deployments: [], ...over,
  };
}

describe('how agora app shows apps', () => {
  it('lists running/desired, healthy only where there are health checks, and whether a deployment holds the app', () => {
    const out = appTable([
      appOf({ id: '/web', tasksRunning: 2, tasksHealthy: 2, healthChecks: [{}], deployments: [{ id: 'd1' }], container: { docker: { image: 'nginx:1.25' } } }),
      appOf({ id: '/worker', instances: 1, tasksRunning: 1, cpus: 1, mem: 128, cmd: 'python worker.py' }),
    ]);
    expect(out.split('\n')).toEqual([
      'ID       INSTANCES  HEALTHY  CPUS  MEM  DEPLOYING  IMAGE/CMD',
      '/web     2/3        2        0.25  64   yes        nginx:1.25',
      '/worker  1/1        -        1     128  no         python worker.py',
    ]);
  });

  it('cuts a long command to the column, and shows args where there is no cmd', () => {
    expect(whatRuns(appOf({ cmd: 'x'.repeat(50) }))).toBe(`${'x'.repeat(39)}…`);
    expect(whatRuns(appOf({ args: ['httpd', '-f'] }))).toBe('httpd -f');
  });

  it('shows one app with its tasks, their host:ports and health', () => {
    const out = appSummary(appOf({
      instances: 2, tasksRunning: 1, tasksStaged: 1, tasksHealthy: 1, healthChecks: [{}], cmd: 'httpd -f',
      tasks: [
        { id: 'web.b', appId: '/web', host: 'h2', ports: [], state: 'TASK_STAGING', version: 'v2', startedAt: null },
        { id: 'web.a', appId: '/web', host: 'h1', ports: [31000, 31001], state: 'TASK_RUNNING', version: 'v1', startedAt: 'x', healthCheckResults: [{ alive: true }] },
      ],
    }));
    expect(out).toMatch(/^instances\s+1\/2 running, 1 staged, 1 healthy, 0 unhealthy$/m);
    expect(out).toMatch(/^cmd\s+httpd -f$/m);
    expect(out).toMatch(/^deploying\s+no$/m);
    expect(out.split('\n').slice(-3)).toEqual([
      'TASK   STATE         HOST:PORTS      HEALTH   VERSION',
      'web.a  TASK_RUNNING  h1:31000,31001  healthy  v1',
      'web.b  TASK_STAGING  h2              unknown  v2',
    ]);
  });

  it('says so when an app has no tasks', () => {
    expect(appSummary(appOf({ instances: 0, tasksRunning: 0 }))).toMatch(/\n\nno tasks$/);
  });

  it('lists deployments with their actions', () => {
    expect(deploymentTable([{ id: 'd1', version: 'v', affectedApps: ['/a', '/b'], currentStep: 1, totalSteps: 1,
      currentActions: [{ action: 'ScaleApplication', app: '/a' }, { action: 'StopApplication', app: '/b' }] }]).split('\n')[1])
      .toBe('d1  v        ScaleApplication /a, StopApplication /b  1/1');
  });

  it('prints a 422 one path: error a line', () => {
    expect(validationLines([{ path: '/cpus', errors: ['must be at least 0.001, got -1'] }, { path: '/mem', errors: ['a', 'b'] }]))
      .toEqual(['/cpus: must be at least 0.001, got -1', '/mem: a', '/mem: b']);
  });
});
