/**
 * `agora app` and `agora deployments` against the services framework on a real cluster
 * (master, Docker agent, Redis): an app of busybox `sleep` tasks added from a file, scaled,
 * restarted and removed, each change waited for on the event stream; refusals (422, 409, 404)
 * in the CLI's words; and, through the built binary, the exit codes: 1 for a refusal or an
 * unreachable framework, 2 for a wrong command line.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { app, deployments, type AppIo } from '../cli/app';
import type { AppJson, DeploymentJson } from '../cli/services-client';
import { startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { runAgora } from './support/binary';
import { startTestServices, type TestServices } from './support/services';
import { base } from './support/http';

jest.setTimeout(120_000);

const BIN = join(__dirname, '..', 'dist', 'cli', 'agora.js');

let cluster: TestCluster;
let t: TestServices;
let dir: string;
let services: string;

beforeAll(async () => {
  cluster = await startCluster({ containerizer: 'docker' });
  t = await startTestServices(cluster);
  services = `127.0.0.1:${t.services.port}`;
  dir = mkdtempSync(join(tmpdir(), 'agora-cli-app-'));
});

afterAll(async () => {
  await t?.stop();
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function file(name: string, json: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof json === 'string' ? json : JSON.stringify(json));
  return path;
}

/** One command through its exported function: what it printed, its progress notes, its exit code. */
async function agora(command: typeof app, ...argv: string[]): Promise<{ code: number; out: string; notes: string[] }> {
  const seen = { out: '', notes: [] as string[] };
  const io: AppIo = { out: (l) => { seen.out += `${l}\n`; }, note: (l) => { seen.notes.push(l); } };
  const code = await command([...argv, '--services', services], io);
  return { code, ...seen };
}

/** The built binary: its exit code and output, stdin optional. */
const agoraBinary = (argv: string[], stdin = '') => runAgora(argv, { stdin });

async function showJson(id: string): Promise<AppJson> {
  return JSON.parse((await agora(app, 'show', id, '--json')).out) as AppJson;
}

const sleeper = { id: '/cli/sleeper', cmd: 'sleep 600', cpus: 0.1, mem: 16, container: { type: 'DOCKER', docker: { image: TEST_IMAGE } } };

describe('agora app, through an app\'s life', () => {
  it('add --wait deploys the app from a JSON file, and list shows it 1/1 and not deploying', async () => {
    const added = await agora(app, 'add', file('sleeper.json', sleeper), '--wait');
    expect(added.code).toBe(0);
    const deploymentId = /^app \/cli\/sleeper created; deployment (\S+)$/m.exec(added.out)?.[1];
    expect(deploymentId).toBeDefined();
    expect(added.notes).toEqual([expect.stringContaining(`waiting for deployment ${deploymentId}`)]);
    expect(added.out).toContain(`deployment ${deploymentId} succeeded\napp /cli/sleeper: 1/1 running\n`);

    const listed = await agora(app, 'list');
    expect(listed.out).toMatch(/^ID\s+INSTANCES\s+HEALTHY\s+CPUS\s+MEM\s+DEPLOYING\s+IMAGE\/CMD$/m);
    expect(listed.out).toMatch(/^\/cli\/sleeper\s+1\/1\s+-\s+0\.1\s+16\s+no\s+agora\/busybox:latest$/m);
  });

  it('scale --wait to 2: list shows 2/2, and show lists 2 running tasks with their host', async () => {
    const scaled = await agora(app, 'scale', '/cli/sleeper', '2', '--wait');
    expect(scaled.out).toMatch(/^app \/cli\/sleeper scaling from 1 to 2; deployment \S+$/m);
    expect(scaled.out).toContain('app /cli/sleeper: 2/2 running');
    expect((await agora(app, 'list')).out).toMatch(/^\/cli\/sleeper\s+2\/2\s/m);

    const shown = await agora(app, 'show', 'cli/sleeper');
    expect(shown.out).toMatch(/^instances\s+2\/2 running, 0 staged \(no health checks\)$/m);
    expect(shown.out).toMatch(/^deploying\s+no$/m);
    expect(shown.out.match(/^cli_sleeper\.\S+\s+TASK_RUNNING\s+127\.0\.0\.1:\d+\s+-\s+\S+$/gm)).toHaveLength(2);
  });

  it('restart --wait replaces both tasks with 2 of the new version, and leaves no deployment behind', async () => {
    const before = await showJson('/cli/sleeper');
    const restarted = await agora(app, 'restart', '/cli/sleeper', '--wait');
    expect(restarted.out).toContain('app /cli/sleeper: 2/2 running');

    const after = await showJson('/cli/sleeper');
    expect(after.version > before.version).toBe(true);
    expect(after.tasks!.map((x) => [x.state, x.version])).toEqual([['TASK_RUNNING', after.version], ['TASK_RUNNING', after.version]]);
    const oldIds = new Set(before.tasks!.map((x) => x.id));
    expect(after.tasks!.filter((x) => oldIds.has(x.id))).toEqual([]);

    expect((await agora(deployments)).out).toBe('ID  VERSION  ACTIONS  STEP\n');
    expect(JSON.parse((await agora(deployments, '--json')).out)).toEqual([]);
  });

  it('remove --wait takes the app away: list no longer shows it, and show says it does not exist', async () => {
    const removed = await agora(app, 'remove', '/cli/sleeper', '--wait');
    expect(removed.out).toMatch(/deployment \S+ succeeded\napp \/cli\/sleeper removed\n$/);
    expect((await agora(app, 'list')).out).not.toContain('/cli/sleeper');
    await expect(agora(app, 'show', '/cli/sleeper')).rejects.toThrow(`App '/cli/sleeper' does not exist at the services framework ${base(services)}`);
    const left = (await cluster.state()).tasks.filter((x) => x.id.startsWith('cli_sleeper.') && x.state === 'TASK_RUNNING');
    expect(left).toEqual([]);
  });
});

describe('agora app and deployments, when the framework says no', () => {
  const huge = { id: '/cli/huge', cmd: 'sleep 600', cpus: 100, mem: 16 };   // more cpus than the agent has: it never deploys

  it('a change to an app held by a deployment is refused with the deployment and --force; rollback undoes the deployment', async () => {
    expect((await agora(app, 'add', file('huge.json', huge))).code).toBe(0);
    const list = JSON.parse((await agora(deployments, '--json')).out) as DeploymentJson[];
    const start = list.find((d) => d.affectedApps.includes('/cli/huge'))!;
    expect(start.currentActions.map((a) => `${a.action} ${a.app}`)).toEqual(['StartApplication /cli/huge']);
    expect((await agora(deployments)).out).toMatch(new RegExp(`^${start.id}\\s+\\S+\\s+StartApplication /cli/huge\\s+1/1$`, 'm'));
    expect((await agora(app, 'list')).out).toMatch(/^\/cli\/huge\s+0\/1\s+-\s+100\s+16\s+yes\s+sleep 600$/m);

    await expect(agora(app, 'scale', '/cli/huge', '2')).rejects.toThrow(
      `app /cli/huge is locked by deployment ${start.id} (see agora deployments): wait for it to finish, or add --force`);
    await expect(agora(app, 'remove', '/cli/huge')).rejects.toThrow(`app /cli/huge is locked by deployment ${start.id}`);

    const rolledBack = await agora(deployments, 'rollback', start.id, '--wait');
    expect(rolledBack.out).toMatch(new RegExp(`^deployment ${start.id} rolling back; deployment (\\S+) restores its apps\\ndeployment \\1 succeeded\\n$`));
    expect((await agora(app, 'list')).out).not.toContain('/cli/huge');   // rolling back a start removes the app
  });

  it('add --wait fails, naming why, when its deployment is cancelled; an app that exists cannot be added again', async () => {
    const waiting = agora(app, 'add', file('huge.json', huge), '--wait');
    type Plan = { id: string; steps: { actions: { action: string; app: string }[] }[] };
    const info = await t.events.waitFor((e) => e.eventType === 'deployment_info' &&
      (e.plan as Plan).steps[0]?.actions.some((a) => a.app === '/cli/huge' && a.action === 'StartApplication') === true &&
      !t.events.events.some((x) => x.eventType === 'deployment_failed' && x.id === (e.plan as Plan).id));
    const id = (info.plan as Plan).id;
    const cancelled = await agora(deployments, 'rollback', id, '--force');
    expect(cancelled.out).toBe(`deployment ${id} cancelled; its apps stay as it left them\n`);
    await expect(waiting).rejects.toThrow(`deployment ${id} did not succeed: cancelled`);

    await expect(agora(app, 'add', file('huge.json', huge))).rejects.toThrow(
      'app /cli/huge already exists: change it with agora app scale or restart, or remove it first (agora app remove)');
    expect((await agora(app, 'remove', '/cli/huge', '--wait')).out).toContain('app /cli/huge removed');
    await expect(agora(deployments, 'rollback', id)).rejects.toThrow(`DeploymentPlan ${id} does not exist`);
  });
});

describe('the agora binary\'s exit codes for app and deployments', () => {
  beforeAll(() => { expect(existsSync(BIN)).toBe(true); });   // built by `npm test` before jest runs

  it('an invalid app definition: exit 1, each problem as path: error on its own line', async () => {
    const bad = file('bad.json', { id: '/cli/bad', cpus: -1, mem: 'lots' });
    const r = await agoraBinary(['app', 'add', bad, '--services', services]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^agora: app \/cli\/bad was refused: Object is not valid$/m);
    expect(r.stderr).toMatch(/^ {2}\/cpus: must be at least 0\.001, got -1$/m);
    expect(r.stderr).toMatch(/^ {2}\/mem: expected a number, got "lots"$/m);
    expect((await agora(app, 'list')).out).not.toContain('/cli/bad');   // nothing was created

    const notJson = await agoraBinary(['app', 'add', '-', '--services', services], '{"id": "/cli/half"');
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/^agora: the app definition on stdin is not JSON: /);
  });

  it('an unreachable framework: exit 1, naming the address', async () => {
    const port = await closedPort();
    for (const argv of [['app', 'list'], ['app', 'add', file('sleeper.json', sleeper), '--wait'], ['deployments']]) {
      const r = await agoraBinary([...argv, '--services', `127.0.0.1:${port}`]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^agora: cannot reach the services framework at https://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`));
    }
  });

  it('a wrong command line: exit 2 with what was wrong and the usage text', async () => {
    const cases: [string[], string][] = [
      [['app'], 'agora app needs a subcommand: add, list, show, scale, restart or remove'],
      [['app', 'launch'], "unknown subcommand 'agora app launch'"],
      [['app', 'add'], 'agora app add needs one app definition'],
      [['app', 'scale', '/web'], 'agora app scale needs an app id and a count'],
      [['app', 'scale', '/web', 'two'], "the instance count must be a whole number ≥ 0, got 'two'"],
      [['app', 'list', '--watch'], 'unknown flag --watch'],
      [['deployments', 'rollback'], 'agora deployments rollback needs one deployment id'],
    ];
    for (const [argv, message] of cases) {
      const r = await agoraBinary(argv);
      expect([argv, r.code]).toEqual([argv, 2]);
      expect(r.stderr).toContain(`agora: ${message}`);
      expect(r.stderr).toContain('app scale <id> <n> [--wait] [--force]');
    }
  });
});

/** A port nothing listens on: one the system just handed out and took back. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
