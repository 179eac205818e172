/**
 * The services web UI in headless Chromium, against a real cluster (master, Docker agent,
 * Redis, the services framework): what a person does in the browser, checked in the page and
 * through the REST API. Every wait is on the page's DOM, which /v2/events keeps current.
 */
import { clientIdentity } from '../common/security/client-config';
import { doorRequest } from '../common/security/https';
import type { Browser, Locator, Page } from 'playwright-core';
import { expectLinkedUi, openPage, signIn } from './support/browser';
import { startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { startTestServices, type TestServices } from './support/services';
import { base } from './support/http';

jest.setTimeout(90_000);


let cluster: TestCluster;
let t: TestServices;
let browser: Browser;
let page: Page;
let pageErrors: string[] = [];
let dialogs: string[] = [];

beforeAll(async () => {
  cluster = await startCluster({ containerizer: 'docker' });
  t = await startTestServices(cluster);
  ({ browser, page, pageErrors, dialogs } = await openPage());
  await signIn(page, `${base(`127.0.0.1:${t.services.port}`)}`, cluster.security!.identity('admin'));
});

afterAll(async () => {
  await browser?.close();
  await t?.stop();
  await cluster?.stop();
});

afterEach(() => {
  expect(pageErrors).toEqual([]);
  expect(dialogs).toEqual([]);
});

const byTestId = (id: string) => page.getByTestId(id);
const field = (name: string) => byTestId(`field-${name}`);
/** Reads a streaming text URL until it holds `text`: the agent's /files/follow lasts as long as the task. */
function readUntil(url: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const id = clientIdentity();
    const req = doorRequest(url, { identity: id }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`${url} answered ${res.statusCode}`));
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        body += c;
        if (body.includes(text)) { resolve(body); req.destroy(); }
      });
      res.on('end', () => reject(new Error(`${url} ended without '${text}': ${body}`)));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Resolves once an element of `within` with that test id shows `text` (a substring, or a pattern). */
const shows = (testId: string, text: string | RegExp, within: Page | Locator = page) =>
  within.getByTestId(testId).filter({ hasText: text }).first().waitFor();

describe('the services web UI', () => {
  it('creates a busybox httpd app from its form (a bad id first: the 422 shows at the id field), sees it 1/1 healthy with a working stdout link, then 2/2 healthy, and destroys it', async () => {
    await page.goto(`${base(`127.0.0.1:${t.services.port}`)}/`);
    expect(new URL(page.url()).pathname).toBe('/ui/');
    await byTestId('no-apps').waitFor();

    await byTestId('new-app').click();
    await field('id').fill('/ui/Web_1');
    await field('cmd').fill('echo "serving $MESOS_TASK_ID"; mkdir -p /tmp/www && echo "hello from $MESOS_TASK_ID" > /tmp/www/index.html && exec httpd -f -p 80 -h /tmp/www');
    await field('image').fill(TEST_IMAGE);
    await field('instances').fill('1');
    await field('cpus').fill('0.1');
    await field('mem').fill('32');
    await field('port').fill('80');
    await field('hcPath').fill('/');
    await field('hcInterval').fill('1');
    await field('hcDelay').fill('0');
    await field('hcGrace').fill('30');
    await byTestId('create').click();

    await shows('error-id', /'\/ui\/Web_1' is not a valid app id/);
    expect(await field('id').getAttribute('aria-invalid')).toBe('true');
    expect(await byTestId('error-cmd').isHidden()).toBe(true);
    expect((await t.api.call<{ apps: unknown[] }>('GET', '/v2/apps')).body.apps).toEqual([]);

    await field('id').fill('/ui/web');
    await byTestId('create').click();
    await shows('app-id', '/ui/web');
    await shows('app-health', /^1\/1 healthy$/);
    const task = byTestId('task-row');
    expect(await task.count()).toBe(1);
    expect(await task.getByTestId('task-state').textContent()).toBe('RUNNING');
    expect(await task.getByTestId('task-health').textContent()).toBe('healthy');
    const created = await t.api.call<{ app: { container: unknown; healthChecks: unknown[]; tasks: { id: string; ports: number[] }[] } }>(
      'GET', '/v2/apps/ui/web?embed=app.tasks');
    expect(created.body.app).toMatchObject({
      container: { type: 'DOCKER', docker: { image: TEST_IMAGE }, portMappings: [{ containerPort: 80 }] },
      healthChecks: [{ protocol: 'MESOS_HTTP', path: '/', portIndex: 0, intervalSeconds: 1, delaySeconds: 0, gracePeriodSeconds: 30 }],
    });
    const [only] = created.body.app.tasks;
    expect(await task.getAttribute('data-task-id')).toBe(only?.id);
    expect(await task.textContent()).toContain(`127.0.0.1:${only?.ports[0]}`);
    // Its logs link opens the task's stdout, served by the framework from the master's relay.
    const stdout = await task.getByRole('link', { name: 'stdout' }).getAttribute('href');
    expect(stdout).toBe(`/v1/tasks/${encodeURIComponent(only!.id)}/stdout`);
    expect(await readUntil(new URL(stdout!, page.url()).href, `serving ${only?.id}`)).toContain(`serving ${only?.id}\n`);

    await byTestId('scale-input').fill('2');
    await byTestId('scale').click();
    await shows('action-result', /^Scaling to 2: deployment /);
    await shows('app-health', /^2\/2 healthy$/);
    expect(await byTestId('task-row').count()).toBe(2);
    expect(await byTestId('task-health').allTextContents()).toEqual(['healthy', 'healthy']);

    await page.getByRole('link', { name: 'Apps', exact: true }).click();
    const row = page.locator('[data-testid="app-row"][data-app-id="/ui/web"]');
    await shows('app-status', /^Running$/, row);
    await shows('app-instances', /^2\/2$/, row);
    await shows('app-health', /^2\/2 healthy$/, row);

    await row.getByRole('link', { name: '/ui/web' }).click();
    await byTestId('destroy').click();
    await byTestId('destroy-no').click();        // asked first, in the page; nothing happens on Cancel
    expect((await t.api.call('GET', '/v2/apps/ui/web')).status).toBe(200);
    await byTestId('destroy').click();
    await byTestId('destroy-yes').click();
    await shows('flash', /^Destroying \/ui\/web: deployment /);
    await byTestId('no-apps').waitFor();
    expect(await row.count()).toBe(0);
    expect((await t.api.call('GET', '/v2/apps/ui/web')).status).toBe(404);

    // The stop deployment ends once both instances are gone.
    await page.getByRole('link', { name: /^Deployments/ }).click();
    await byTestId('no-deployments').waitFor();
    const tasks = await t.api.call<{ tasks: { appId: string }[] }>('GET', '/v2/tasks');
    expect(tasks.body.tasks.filter((x) => x.appId === '/ui/web')).toEqual([]);
  });

  it('shows why an app no offer fits is waiting (each declined offer\'s reason and Marathon\'s name for it), and rolls its deployment back from the deployments page', async () => {
    const created = await t.api.call('POST', '/v2/apps', { id: '/ui/huge', cmd: 'sleep 600', cpus: 64, mem: 32 });
    expect(created.status).toBe(201);
    await page.goto(`${base(`127.0.0.1:${t.services.port}`)}/ui/#/app/ui/huge`);
    await shows('app-status', 'Deploying');
    await shows('declined-reason', /on 127\.0\.0\.1 has cpus:2.*, an instance needs cpus:64/);
    await shows('declined-kind', 'InsufficientCpus');
    expect(await byTestId('why-waiting').textContent()).toContain('1 instance waiting for offers');

    await page.getByRole('link', { name: /^Deployments/ }).click();
    const row = byTestId('deployment-row');
    await row.waitFor();
    expect(await row.textContent()).toContain('StartApplication /ui/huge');
    await row.getByTestId('rollback').click();
    await row.getByTestId('rollback-yes').click();
    await shows('deployment-result', /^Rolling back .*: deployment /);
    // Rolling back a start stops the app: there is nothing left to deploy, or to show.
    await byTestId('no-deployments').waitFor();
    expect((await t.api.call('GET', '/v2/apps/ui/huge')).status).toBe(404);
    await page.getByRole('link', { name: 'Apps', exact: true }).click();
    await byTestId('no-apps').waitFor();
  });

  it('is where the master links to: /api/v1/state lists the framework with webuiUrl https://127.0.0.1:<its port>/ui/, and that page draws with the shared styles', async () => {
    await expectLinkedUi(page, {
      masterAddr: cluster.masterAddr, frameworkId: await t.services.subscribed, name: 'agora-services', port: t.services.port, title: 'Apps · Agora services', home: 'Apps',
    });
  });
});
