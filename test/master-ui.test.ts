/**
 * The master's web UI in headless Chromium against a real cluster (nats-server with
 * JetStream, master, one process agent) and two SDK frameworks: the agent, a running task and
 * its output followed as the task writes it; the live offer log showing a decline with its
 * reason as it happens, filtered, and held still by Pause; the frameworks' offer summary and
 * their own UIs linked. The task writes its second line only once the test creates a file in
 * its sandbox, and every wait is on the page's DOM, which the event streams keep current.
 *
 * The sandbox relay the page reads output through (`/api/v1/files/…` on the master) and the
 * UI's routes are checked over plain HTTP first.
 */
import { authedFetch, base as doorBase } from './support/http';
import { writeFileSync } from 'fs';
import { join } from 'path';
import type { Browser, Page } from 'playwright-core';
import { subscribe, task, type Scheduler, type TaskStatus } from '../frameworks/sdk';
import { openPage, signIn } from './support/browser';
import { startCluster, type TestCluster } from './support/cluster';
import { EventLog } from './support/events';

jest.setTimeout(90_000);

const HOUR_MS = 3_600_000;
const REASON = 'needs a GPU; this agent has none';

let cluster: TestCluster;
let a: Scheduler;
let b: Scheduler | undefined;
let c: Scheduler | undefined;
let running: TaskStatus;
let browser: Browser;
let page: Page;
let pageErrors: string[] = [];
let dialogs: string[] = [];
let base: string;

beforeAll(async () => {
  cluster = await startCluster({ containerizer: 'process', resources: 'cpus:2;mem:1024;disk:2048;ports:[31000-31099]' });
  base = `${doorBase(cluster.masterAddr)}`;
  // A takes a little of the only agent and filters the rest away for an hour, so the offers
  // that follow go to the frameworks the tests subscribe later.
  a = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'launcher', webuiUrl: 'http://127.0.0.1:8080/ui/' } });
  const events = new EventLog(a);
  const offer = await events.offer();
  await a.launch(offer, [task({
    id: 'ui-task', command: 'echo ui-line-one; until [ -e "$AGORA_SANDBOX/go" ]; do sleep 0.05; done; echo ui-line-two; sleep 600',
    cpus: 0.5, mem: 64, process: true,
  }, offer)], { refuseMs: HOUR_MS });
  running = await events.status('ui-task', 'TASK_RUNNING');
  ({ browser, page, pageErrors, dialogs } = await openPage());
  await signIn(page, `${doorBase(cluster.masterAddr)}`, cluster.security!.identity('admin'));
});

afterAll(async () => {
  await browser?.close();
  await a?.kill('ui-task').catch(() => undefined);
  a?.close();
  b?.close();
  c?.close();
  await cluster?.stop();
});

afterEach(() => {
  expect(pageErrors).toEqual([]);
  expect(dialogs).toEqual([]);
});

const byTestId = (id: string) => page.getByTestId(id);
const shows = (testId: string, text: string | RegExp) => page.getByTestId(testId).filter({ hasText: text }).first().waitFor();
const get = async (path: string) => {
  const res = await authedFetch(`${base}${path}`, { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), text: await res.text() };
};

describe('the master serves its UI and relays sandboxes', () => {
  it('redirects / to /ui/, serves the shared pieces, and refuses paths outside the UI', async () => {
    expect(await get('/')).toMatchObject({ status: 302, location: '/ui/' });
    const index = await get('/ui/');
    expect(index.status).toBe(200);
    expect(index.text).toContain('<title>Agora master</title>');
    expect((await get('/ui/shared/dom.js')).text).toContain('export function h(');
    expect((await get('/ui/../package.json')).status).toBe(404);
    expect((await get('/ui/%2e%2e/package.json')).status).toBe(404);
    expect((await get('/ui/shared/../../package.json')).status).toBe(404);
    expect((await get('/ui/%E0%A4%A')).status).toBe(400);
    expect((await authedFetch(`${base}/ui/`, { method: 'POST' })).status).toBe(405);
  });

  it('relays a task\'s sandbox from its agent: the same bytes, 404 for an unknown task, 400 without ids', async () => {
    const query = `framework_id=${a.frameworkId}&task_id=ui-task`;
    const agent = cluster.agents[0]!;
    const direct = await (await authedFetch(`${doorBase(`127.0.0.1:${agent.httpPort}`)}/files/read?${query}&file=stdout&offset=0`)).json() as { data: string };
    expect(direct.data).toBe('ui-line-one\n');
    expect(JSON.parse((await get(`/api/v1/files/read?${query}&file=stdout&offset=0`)).text)).toEqual(direct);
    const listing = JSON.parse((await get(`/api/v1/files/browse?${query}`)).text) as { entries: { name: string }[] };
    expect(listing.entries.map((e) => e.name)).toEqual(expect.arrayContaining(['stdout', 'stderr']));
    // The agent's own refusals come through as they are.
    expect((await get(`/api/v1/files/read?${query}&file=../../../etc/passwd`)).status).toBe(400);
    const unknown = await get(`/api/v1/files/read?framework_id=${a.frameworkId}&task_id=nope&file=stdout`);
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.text)).toEqual({ error: `no task nope of framework ${a.frameworkId} is known to the master` });
    expect(JSON.parse((await get('/api/v1/files/follow?file=stdout')).text)).toEqual({ error: 'framework_id and task_id are required' });
  });
});

describe('the master\'s web UI', () => {
  it('shows the agent, the running task, and the task\'s output as it is written', async () => {
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/ui/');
    await shows('stream', 'live');
    await shows('stat-active-agents', '1');
    await shows('stat-tasks', '1');

    await page.locator('nav a', { hasText: 'Agents' }).click();
    const agentId = cluster.agents[0]!.agentId;
    const row = page.locator(`[data-testid="agent-row"][data-agent-id="${agentId}"]`);
    await row.waitFor();
    expect(await row.getByTestId('agent-link').textContent()).toBe('127.0.0.1');
    expect(await row.textContent()).toContain('0.5 / 2');   // cpus used by the task, of the agent's 2

    await page.locator('nav a', { hasText: 'Tasks' }).click();
    const taskRow = page.locator('[data-testid="task-row"][data-task-id="ui-task"]');
    await taskRow.waitFor();
    expect(await taskRow.getByTestId('task-state').textContent()).toBe('running');
    expect(await taskRow.textContent()).toContain('launcher');
    await byTestId('task-search').fill('no-such-task');
    await byTestId('no-tasks').waitFor();
    await byTestId('task-search').fill('launcher ui-');
    await taskRow.waitFor();

    await taskRow.getByTestId('task-link').click();
    await shows('task-title', 'ui-task');
    await shows('task-agent', '127.0.0.1');
    await shows('task-log', 'ui-line-one');
    expect(await byTestId('task-log').textContent()).toBe('ui-line-one\n');
    // The task writes on when told to; the page, still following, shows it without a reload.
    const sandbox = join(cluster.agents[0]!.config.workDir, 'agents', running.agentId, 'frameworks', running.frameworkId, 'tasks', 'ui-task', 'runs', running.containerId);
    writeFileSync(join(sandbox, 'go'), '');
    await shows('task-log', 'ui-line-two');
    expect(await byTestId('task-log').textContent()).toBe('ui-line-one\nui-line-two\n');
  });

  it('shows a decline with its reason in the live offer log as it happens, filters it, and holds new lines while paused', async () => {
    await page.goto(`${base}/ui/#/offers`);
    await shows('offer-stream', 'live');
    // The replayed lines: A's offer and its acceptance.
    await page.locator('[data-testid="offer-row"][data-kind="ACCEPTED"]').waitFor();
    expect(await page.locator('[data-testid="offer-row"][data-kind="DECLINED"]').count()).toBe(0);

    b = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'picky' } });
    const offerB = await new EventLog(b).offer();
    await b.decline([offerB.id], { refuseMs: HOUR_MS, reason: REASON });
    const declined = page.locator(`[data-testid="offer-row"][data-kind="DECLINED"][data-offer-id="${offerB.id}"]`);
    await declined.waitFor();
    expect(await declined.getByTestId('offer-detail').textContent()).toBe(`“${REASON}”; refused for 1 h`);
    expect(await declined.textContent()).toContain('picky');
    // Newest first: the decline heads the table.
    expect(await page.getByTestId('offer-row').first().getAttribute('data-offer-id')).toBe(offerB.id);

    await byTestId('offer-framework').selectOption(b.frameworkId);
    await page.waitForFunction('document.querySelectorAll(\'[data-testid="offer-row"]\').length === 2');
    expect(await page.getByTestId('offer-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-kind')))).toEqual(['DECLINED', 'OFFERED']);
    await byTestId('offer-kind').selectOption('ACCEPTED');
    await byTestId('no-offers').waitFor();
    await byTestId('offer-framework').selectOption('');
    await byTestId('offer-kind').selectOption('');

    // Paused, a new offer (to a third framework) is held and counted, not shown; Resume shows it.
    await byTestId('offer-pause').click();
    c = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'third' } });
    const offerC = await new EventLog(c).offer();
    await shows('offer-held', 'paused; 1 new line held');
    expect(await page.locator(`[data-testid="offer-row"][data-offer-id="${offerC.id}"]`).count()).toBe(0);
    await byTestId('offer-pause').click();
    await page.locator(`[data-testid="offer-row"][data-offer-id="${offerC.id}"][data-kind="OFFERED"]`).waitFor();
    expect(await byTestId('offer-held').count()).toBe(0);
  });

  it('lists the frameworks with their offer summary and a link to a framework\'s own UI', async () => {
    await page.goto(`${base}/ui/#/frameworks`);
    const picky = page.locator(`[data-testid="framework-row"][data-framework-id="${b!.frameworkId}"]`);
    await picky.getByTestId('framework-reasons').filter({ hasText: REASON }).waitFor();
    expect(await picky.getByTestId('framework-offers').textContent()).toBe('1 offered · 0 accepted · 1 declined');
    const launcher = page.locator(`[data-testid="framework-row"][data-framework-id="${a.frameworkId}"]`);
    expect(await launcher.getByTestId('framework-ui').getAttribute('href')).toBe('http://127.0.0.1:8080/ui/');
    expect(await picky.getByTestId('framework-ui').count()).toBe(0);
  });

  it('wraps a long decline reason and long resources in the offer log instead of running off the page', async () => {
    // The third framework's offer goes back when it leaves, for a verbose one to decline.
    c?.close();
    c = undefined;
    const verbose = await subscribe({ grpcAddress: cluster.grpcAddr, framework: { name: 'verbose' } });
    try {
      await page.goto(`${base}/ui/#/offers`);
      await shows('offer-stream', 'live');
      const offer = await new EventLog(verbose).offer();
      const reason = `${'x'.repeat(400)}; then ${'a long sentence with spaces '.repeat(12)}`;
      await verbose.decline([offer.id], { reason });
      const row = page.locator(`[data-testid="offer-row"][data-kind="DECLINED"][data-offer-id="${offer.id}"]`);
      await row.waitFor();
      expect(await row.getByTestId('offer-detail').textContent()).toContain('x'.repeat(400));
      // The table fits the page's width: the detail wraps, even where it has no space to break at.
      const widths = await page.evaluate(`(() => {
        const table = document.querySelector('[data-testid="offer-log"]');
        return { table: table.getBoundingClientRect().right, page: document.documentElement.clientWidth, scroll: document.documentElement.scrollWidth };
      })()`) as { table: number; page: number; scroll: number };
      expect(widths.table).toBeLessThanOrEqual(widths.page);
      expect(widths.scroll).toBeLessThanOrEqual(widths.page);
    } finally {
      verbose.close();
    }
  });
});
