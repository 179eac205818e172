/**
 * The jobs web UI in headless Chromium, against a real cluster (master, Docker agent, Redis,
 * the jobs framework): a job created through the form, run now, its run seen to succeed with
 * its output in the page; a bad cron refused at its field with nothing stored; a Chronos job
 * from the JSON tab; a run stopped; the dependency graph's edge and its colours following the
 * runs. Every wait is on the page's DOM, which /v1/events keeps current, or on those events.
 */
import type { Browser, Locator, Page } from 'playwright-core';
import { expectLinkedUi, openPage, signIn } from './support/browser';
import { startCluster, TEST_IMAGE, type TestCluster } from './support/cluster';
import { startTestJobs, type TestJobs } from './support/jobs';
import { base as doorBase } from './support/http';

jest.setTimeout(90_000);


let cluster: TestCluster;
let t: TestJobs;
let browser: Browser;
let page: Page;
let base: string;
let pageErrors: string[] = [];
let dialogs: string[] = [];

beforeAll(async () => {
  cluster = await startCluster({ containerizer: 'docker', agents: 1 });
  t = await startTestJobs(cluster);
  base = `${doorBase(`127.0.0.1:${t.jobs.port}`)}`;
  ({ browser, page, pageErrors, dialogs } = await openPage());
  await signIn(page, base, cluster.security!.identity('admin'));
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

const byTestId = (id: string, within: Page | Locator = page) => within.getByTestId(id);
const field = (name: string) => byTestId(`field-${name}`);
/** Resolves once an element with that test id shows `text` (a substring, or a pattern). */
const shows = (testId: string, text: string | RegExp, within: Page | Locator = page) =>
  within.getByTestId(testId).filter({ hasText: text }).first().waitFor();
const jobRow = (id: string) => page.locator(`[data-testid="job-row"][data-job-id="${id}"]`);
const jobs = async () => (await t.api.call<{ id: string }[]>('GET', '/v1/jobs')).body.map((j) => j.id);

describe('the jobs web UI', () => {
  it('creates a job from its form (a bad cron first: the 422 shows at the cron field, nothing stored), runs it now, shows the run succeed with its output, and edits it (its schedule switched off shows as disabled)', async () => {
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/ui/');
    await byTestId('no-jobs').waitFor();
    await shows('stream', 'live');

    await byTestId('new-job').click();
    await field('id').fill('ui-echo');
    await field('cmd').fill('echo ui-job-output');
    await field('cpus').fill('0.1');
    await field('mem').fill('32');
    await field('cron').fill('61 3 * * *');
    await field('timezone').fill('Europe/Berlin');
    await byTestId('save').click();

    await shows('error-cron', "'61 3 * * *' is not a cron expression: minute: 61 is outside 0-59");
    expect(await field('cron').getAttribute('aria-invalid')).toBe('true');
    expect(await byTestId('error-id').isHidden()).toBe(true);
    expect(await byTestId('error-timezone').isHidden()).toBe(true);
    expect(await jobs()).toEqual([]);

    await field('cron').fill('0 3 * * *');
    await byTestId('save').click();
    await shows('job-id', 'ui-echo');
    await shows('flash', 'Created ui-echo');
    expect(await byTestId('job-schedule').textContent()).toBe('daily at 03:00 (Europe/Berlin) 0 3 * * *');
    await byTestId('no-runs').waitFor();
    const stored = await t.api.call<{ run: Record<string, unknown>; schedules: Record<string, unknown>[] }>('GET', '/v1/jobs/ui-echo');
    expect(stored.body.run).toMatchObject({ cmd: 'echo ui-job-output', cpus: 0.1, mem: 32, restart: { policy: 'NEVER' } });
    expect(stored.body.schedules).toEqual([expect.objectContaining({ cron: '0 3 * * *', timezone: 'Europe/Berlin', concurrencyPolicy: 'ALLOW', enabled: true })]);

    await byTestId('run-now').click();
    const run = byTestId('run-row');
    await shows('run-state', /^SUCCESS$/, run);
    // The output of the run, read from its sandbox through the jobs API, in the page.
    await shows('run-stdout', 'ui-job-output');
    expect(await byTestId('run-stdout').textContent()).toBe('ui-job-output\n');
    const done = await t.events.run('ui-echo', (r) => r.state === 'SUCCESS');
    expect(await run.getAttribute('data-run-id')).toBe(done.runId);
    expect(await byTestId('run-trigger', run).textContent()).toBe('manual');
    expect(await byTestId('run-exit', run).textContent()).toBe('0');
    expect(await byTestId('run-attempts', run).textContent()).toBe('1 FINISHED (0)');
    expect(await byTestId('run-agent', run).textContent()).toBe('127.0.0.1');
    await shows('stat-successes', /^1$/);
    expect(await byTestId('stat-errors').textContent()).toBe('0');
    expect(await byTestId('stat-p50').textContent()).toMatch(/^\d+(\.\d)? s$/);

    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    const row = jobRow('ui-echo');
    await shows('job-result', /^success/, row);
    expect(await byTestId('job-state', row).textContent()).toBe('idle');
    expect(await byTestId('job-enabled', row).textContent()).toBe('enabled');
    expect(await byTestId('job-schedule', row).textContent()).toBe('daily at 03:00 (Europe/Berlin)');
    const next = byTestId('job-next', row).locator('time');
    const at = Date.parse((await next.getAttribute('datetime'))!);
    expect(at).toBeGreaterThan(Date.now());
    expect(await byTestId('job-overdue', row).count()).toBe(0);

    // Edited from the list: the form holds what is stored; the change is a PUT, and switching the schedule off shows.
    await byTestId('edit', row).click();
    // Attached first: before the edit view draws, a missing 'Loading…' would count as hidden.
    await byTestId('edit-loading').waitFor({ state: 'attached' });
    await byTestId('edit-loading').waitFor({ state: 'hidden' });
    expect(await field('cmd').inputValue()).toBe('echo ui-job-output');
    expect(await field('timezone').inputValue()).toBe('Europe/Berlin');
    expect(await field('id').getAttribute('readonly')).toBe('');
    await field('cmd').fill('echo edited');
    await field('enabled').uncheck();
    await byTestId('save').click();
    await shows('flash', 'Saved ui-echo');
    await shows('job-cmd', /^echo edited$/);
    const edited = await t.api.call<{ run: { cmd: string }; schedules: { cron: string; enabled: boolean }[] }>('GET', '/v1/jobs/ui-echo');
    expect([edited.body.run.cmd, edited.body.schedules.map((x) => [x.cron, x.enabled])]).toEqual(['echo edited', [['0 3 * * *', false]]]);
    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    await shows('job-enabled', /^disabled$/, row);
    expect(await byTestId('job-next', row).textContent()).toBe('—');
  });

  it('shows a job\'s host volumes on its page, and an edit in the form keeps them', async () => {
    const volumes = [{ containerPath: '/data', hostPath: '/srv/data', mode: 'RW' }, { containerPath: '/cache', hostPath: 'cache', mode: 'RO' }];
    expect((await t.api.call('POST', '/v1/jobs', { id: 'ui-volumes', run: { cmd: 'true', cpus: 0.1, mem: 32, docker: { image: TEST_IMAGE }, volumes } })).status).toBe(201);
    await page.goto(`${base}/ui/#/job/ui-volumes`);
    await shows('job-volumes', '/srv/data → /data (RW), cache → /cache (RO)');
    await byTestId('edit').click();
    await byTestId('edit-loading').waitFor({ state: 'attached' });
    await byTestId('edit-loading').waitFor({ state: 'hidden' });
    await field('cmd').fill('echo edited');
    await byTestId('save').click();
    await shows('flash', 'Saved ui-volumes');
    const edited = await t.api.call<{ run: { cmd: string; volumes: unknown } }>('GET', '/v1/jobs/ui-volumes');
    expect([edited.body.run.cmd, edited.body.run.volumes]).toEqual(['echo edited', volumes]);
    expect((await t.api.call('DELETE', '/v1/jobs/ui-volumes')).status).toBe(200);
  });

  it('stops a running job from the list, and deletes it after asking in the page', async () => {
    expect((await t.api.call('POST', '/v1/jobs', { id: 'ui-sleep', run: { cmd: 'sleep 600', cpus: 0.1, mem: 32, docker: { image: TEST_IMAGE } } })).status).toBe(201);
    await page.goto(`${base}/ui/#/jobs`);
    const row = jobRow('ui-sleep');
    await shows('job-schedule', /^on demand$/, row);
    await byTestId('run-now', row).click();
    await shows('job-state', /^running$/, row);
    await byTestId('stop', row).click();
    await shows('job-state', /^idle$/, row);
    await shows('job-result', /^failure/, row);
    const stopped = await t.events.run('ui-sleep', (r) => r.state === 'FAILED');
    expect(stopped.message).toBe('stopped on request');

    await byTestId('delete', row).click();
    await byTestId('delete-no', row).click();    // asked first, in the page; nothing happens on Cancel
    expect(await jobs()).toContain('ui-sleep');
    await byTestId('delete', row).click();
    await byTestId('delete-yes', row).click();
    await shows('list-result', 'Deleted ui-sleep');
    await row.waitFor({ state: 'detached' });
    expect(await jobs()).not.toContain('ui-sleep');
  });

  it('takes a Chronos job in the JSON tab (a bad schedule first: the 400 shows under the editor)', async () => {
    await page.goto(`${base}/ui/#/new`);
    await byTestId('tab-json').click();
    const chronosJob = { name: 'ui-hourly', command: 'echo hourly', schedule: 'R/2030-01-01T00:00:00Z/PT1X', cpus: 0.1, mem: 32 };
    await byTestId('json-editor').fill(JSON.stringify(chronosJob));
    await byTestId('save').click();
    await shows('json-problem-detail', '/schedule');
    expect(await jobs()).not.toContain('ui-hourly');

    await byTestId('json-editor').fill(JSON.stringify({ ...chronosJob, schedule: 'R/2030-01-01T00:00:00Z/PT1H' }));
    await byTestId('save').click();
    await shows('job-id', 'ui-hourly');
    await shows('job-schedule', /^every hour from 2030-01-01 00:00 UTC R\/2030-01-01T00:00:00Z\/PT1H$/);
    expect((await t.api.call<{ name: string; schedule: string }[]>('GET', '/v1/scheduler/jobs')).body)
      .toContainEqual(expect.objectContaining({ name: 'ui-hourly', schedule: 'R/2030-01-01T00:00:00Z/PT1H', command: 'echo hourly' }));
  });

  it('says schedules in words, and lays the graph out with a long edge going around the job between (the pure modules, run in the page)', async () => {
    await page.goto(`${base}/ui/`);
    // A string, not a function: the test's compiler would turn import() into require().
    const got = await page.evaluate(`(async () => {
      const { cronWords, repeatingWords, scheduleWords } = await import('/ui/words.js');
      const { layout } = await import('/ui/graph.js');
      const g = layout([{ id: 'a', parents: [] }, { id: 'b', parents: ['a'] }, { id: 'c', parents: ['a', 'b'] }]);
      return {
        cron: ['* * * * *', '*/15 * * * *', '5 * * * *', '30 2 * * *', '0 9 * * 1-5', '0 9 * * MON,FRI', '0 0 L * *', '0 6 1 1 *', '0 0 1,15 * *', '0 3 * * * 2030']
          .map((e) => cronWords(e) ?? null),
        repeating: [repeatingWords('R/2024-01-01T00:00:00Z/PT1H'), repeatingWords('R3/2024-01-01T06:30:00Z/P1DT12H'), repeatingWords('R/2024-01-01T00:00:00Z/PT0S') ?? null],
        none: [scheduleWords(undefined, []), scheduleWords(undefined, ['x', 'y', 'z']), scheduleWords({ kind: 'cron', expression: '0 9 * * *', timeZone: 'UTC' })],
        layers: g.nodes.map((n) => [n.id, n.layer]),
        edges: g.edges.map((e) => [e.from, e.to, e.d]),
        b: g.nodes.find((n) => n.id === 'b'),
      };
    })()`) as {
      cron: (string | null)[]; repeating: (string | null)[]; none: string[]; layers: [string, number][]; edges: [string, string, string][];
      b: { x: number; y: number; width: number; height: number };
    };
    expect(got.cron).toEqual([
      'every minute', 'every 15 minutes', 'hourly at :05', 'daily at 02:30', 'on weekdays at 09:00', 'on Mondays and Fridays at 09:00',
      'monthly on the last day at 00:00', 'yearly on January 1 at 06:00', null, null,
    ]);
    expect(got.repeating).toEqual(['every hour from 2024-01-01 00:00 UTC', 'every 1 day 12 hours from 2024-01-01 06:30 UTC, 3 times', null]);
    expect(got.none).toEqual(['on demand', 'after x, y and z', 'daily at 09:00 (UTC)']);
    expect(got.layers.sort()).toEqual([['a', 0], ['b', 1], ['c', 2]]);
    // a → c crosses b's layer through a slot of its own: straight across it, above or below b, never through it.
    const long = got.edges.find(([from, to]) => from === 'a' && to === 'c')![2];
    const across = / L([\d.]+),([\d.]+)/.exec(long);
    expect(across).not.toBeNull();
    const y = Number(across![2]);
    expect(y < got.b.y || y > got.b.y + got.b.height).toBe(true);
    expect(Number(across![1])).toBe(got.b.x + got.b.width);
  });

  it('draws the dependency graph with an edge from parent to child, each job coloured by its last result as its runs end', async () => {
    const job = (id: string, parents: string[] = []) => ({ id, run: { cmd: `echo ${id}`, cpus: 0.1, mem: 32 }, dependencies: parents.map((p) => ({ id: p })) });
    expect((await t.api.call('POST', '/v1/jobs', job('ui-parent'))).status).toBe(201);
    expect((await t.api.call('POST', '/v1/jobs', job('ui-child', ['ui-parent']))).status).toBe(201);
    await page.goto(`${base}/ui/#/graph`);
    const edge = page.locator('[data-testid="graph-edge"][data-from="ui-parent"][data-to="ui-child"]');
    await edge.waitFor({ state: 'attached' });   // a level edge has no height: never "visible" to Playwright
    expect(await byTestId('graph-edge').count()).toBe(1);
    expect(await byTestId('graph-edge-text').allTextContents()).toEqual(['ui-parent → ui-child']);
    const node = (id: string) => page.locator(`[data-testid="graph-node"][data-job-id="${id}"]`);
    expect(await node('ui-child').getAttribute('data-result')).toBe('none');
    // The parent is drawn left of its child, and the edge runs from the parent's right side to the child's left side.
    const rect = async (id: string) => {
      const r = node(id).locator('rect');
      const [x, y, w, hgt] = await Promise.all(['x', 'y', 'width', 'height'].map(async (a) => Number(await r.getAttribute(a))));
      return { x: x!, y: y!, w: w!, h: hgt! };
    };
    const [p, c] = [await rect('ui-parent'), await rect('ui-child')];
    expect(c.x).toBeGreaterThan(p.x + p.w);
    const ends = /^M([\d.]+),([\d.]+) C.* ([\d.]+),([\d.]+)$/.exec((await edge.getAttribute('d'))!)!.slice(1).map(Number);
    expect(ends).toEqual([p.x + p.w, p.y + p.h / 2, c.x, c.y + c.h / 2]);

    // The parent's success lets the child run: both turn green without a reload.
    expect((await t.api.call('POST', '/v1/jobs/ui-parent/runs')).status).toBe(201);
    await page.locator('[data-testid="graph-node"][data-job-id="ui-child"][data-result="success"]').waitFor();
    expect(await node('ui-parent').getAttribute('data-result')).toBe('success');
    const child = await t.events.run('ui-child', (r) => r.state === 'SUCCESS');
    expect(child.trigger).toBe('parents');

    // A job others depend on is not deleted from under them (Metronome's 409), unless asked the Chronos way.
    await node('ui-parent').click();
    await shows('job-id', 'ui-parent');
    await shows('job-children', 'ui-child');
    await byTestId('delete').click();
    await byTestId('delete-yes').click();
    await shows('action-problem', "Job 'ui-parent' cannot be deleted: 'ui-child' depends on it");
    expect(await jobs()).toContain('ui-parent');
    await byTestId('delete-reparent').click();
    await shows('flash', 'Deleted ui-parent');
    expect(await jobs()).not.toContain('ui-parent');
  });

  it('is where the master links to: /api/v1/state lists the framework with webuiUrl https://127.0.0.1:<its port>/ui/, and that page draws with the shared styles', async () => {
    await expectLinkedUi(page, {
      masterAddr: cluster.masterAddr, frameworkId: await t.jobs.subscribed, name: 'agora-jobs', port: t.jobs.port, title: 'Jobs · Agora jobs', home: 'Jobs',
    });
  });
});
