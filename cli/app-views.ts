/**
 * How `agora app` and `agora deployments` show the services framework's JSON to people: the
 * app table, one app's summary with its tasks, and the deployment table. Pure functions of
 * the answers.
 */
import type { AppJson, DeploymentJson, TaskJson } from './services-client';
import { table } from './table';

const fmt = (n: number) => String(Math.round(n * 1000) / 1000);

/** What runs: the Docker image, else the command (cut to fit a table). */
export function whatRuns(app: AppJson, width = 40): string {
  const image = app.container?.docker?.image;
  if (image) return image;
  const cmd = app.cmd ?? app.args?.join(' ') ?? '';
  return cmd.length > width ? `${cmd.slice(0, width - 1)}…` : cmd;
}

const healthyCount = (app: AppJson) => (app.healthChecks.length > 0 ? String(app.tasksHealthy) : '-');

export function appTable(apps: readonly AppJson[]): string {
  return table(['ID', 'INSTANCES', 'HEALTHY', 'CPUS', 'MEM', 'DEPLOYING', 'IMAGE/CMD'],
    apps.map((a) => [a.id, `${a.tasksRunning}/${a.instances}`, healthyCount(a), fmt(a.cpus), fmt(a.mem),
      a.deployments.length > 0 ? 'yes' : 'no', whatRuns(a)]));
}

function taskHealth(app: AppJson, t: TaskJson): string {
  if (app.healthChecks.length === 0) return '-';
  const alive = t.healthCheckResults?.[0]?.alive;
  return alive === undefined ? 'unknown' : alive ? 'healthy' : 'unhealthy';
}

const hostPorts = (t: TaskJson) => (t.ports.length > 0 ? `${t.host}:${t.ports.join(',')}` : t.host);

/** One app: its definition in a few lines, then its tasks. */
export function appSummary(app: AppJson): string {
  const health = app.healthChecks.length > 0
    ? `, ${app.tasksHealthy} healthy, ${app.tasksUnhealthy} unhealthy` : ' (no health checks)';
  const lines: [string, string][] = [
    ['app', app.id],
    ['version', app.version],
    ['instances', `${app.tasksRunning}/${app.instances} running, ${app.tasksStaged} staged${health}`],
    ['resources', `cpus ${fmt(app.cpus)}, mem ${fmt(app.mem)} MB, disk ${fmt(app.disk)} MB`],
  ];
  const image = app.container?.docker?.image;
  if (image) lines.push(['image', image]);
  if (app.cmd !== undefined) lines.push(['cmd', app.cmd]);
  else if (app.args) lines.push(['args', app.args.join(' ')]);
  lines.push(['deploying', app.deployments.length > 0 ? app.deployments.map((d) => d.id).join(', ') : 'no']);
  const f = app.lastTaskFailure;
  if (f) lines.push(['last failure', `${f.taskId} ${f.state} at ${f.timestamp}: ${f.message}`]);
  const head = lines.map(([k, v]) => `${k.padEnd(13)}${v}`).join('\n');
  const tasks = app.tasks ?? [];
  if (tasks.length === 0) return `${head}\n\nno tasks`;
  return `${head}\n\n${table(['TASK', 'STATE', 'HOST:PORTS', 'HEALTH', 'VERSION'],
    [...tasks].sort((a, b) => a.id.localeCompare(b.id)).map((t) => [t.id, t.state, hostPorts(t), taskHealth(app, t), t.version]))}`;
}

export function deploymentTable(list: readonly DeploymentJson[]): string {
  return table(['ID', 'VERSION', 'ACTIONS', 'STEP'],
    list.map((d) => [d.id, d.version, d.currentActions.map((a) => `${a.action} ${a.app}`).join(', '), `${d.currentStep}/${d.totalSteps}`]));
}
