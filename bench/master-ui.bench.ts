/**
 * The master's web UI with 10,000 tasks, in headless Chromium: how long the tasks view takes
 * to show them, how long a search takes to narrow them, and both again while 500 task
 * updates a second stream in. The page is the real UI, served by the master's real HTTP
 * server and fed by its real state view and operator event journal; the master core behind
 * them is the one the master runs, driven in-process (test/support/master-harness.ts: agents and a
 * framework that record what the master sends them), because 10,000 live processes do not fit
 * on the machines this runs on. Mesos and Marathon published no figures for their UIs; the
 * numbers stand alone. Playwright looks at the page about every 100 ms, so a time under that
 * is a ceiling rather than a measurement.
 */
import { systemClock } from '../common/clock';
import { logger } from '../common/log';
import { startHttp } from '../master/api/http';
import { eventIdText, followJournal } from '../master/operator-stream';
import { harness, taskInfo } from '../test/support/master-harness';
import type { Page } from 'playwright-core';
import { openPage } from '../test/support/browser';
import { median, percentile, round, type Bench, type Measurement } from './harness';

const TASKS = 10_000;
const AGENTS = 10;
const UPDATES_PER_SEC = 500;

/** A master holding TASKS running tasks of one framework, spread over AGENTS agents. */
async function busyMaster() {
  const h = harness({ operatorEventCapacity: 50_000 });
  for (let i = 0; i < AGENTS; i++) await h.addAgent('cpus:2000;mem:4000000;disk:100000');
  const fw = h.subscribe({ name: 'ui-bench' });
  h.clock.advance(0);
  const offers = fw.stream.offers();
  const perAgent = TASKS / AGENTS;
  offers.forEach((offer, a) => {
    const tasks = Array.from({ length: perAgent }, (_, i) => taskInfo(`task-${a * perAgent + i}`, 'cpus:0.1;mem:32', { agentId: offer.agentId }));
    h.master.accept({ ...fw.call, offerIds: [offer.id], operations: [{ type: 'LAUNCH', id: '', tasks }], filters: {} });
  });
  let uuid = 0;
  const running = new Map<string, string>();
  for (const r of h.master.state().tasks) running.set(r.id, r.agentId);
  const update = (taskId: string, healthy?: boolean) => h.master.statusUpdate({ frameworkId: fw.frameworkId, status: {
    taskId, state: 'TASK_RUNNING', message: '', source: 'SOURCE_AGENT', reason: 'REASON_UNKNOWN', agentId: running.get(taskId)!,
    frameworkId: fw.frameworkId, uuid: `u-${++uuid}`, timestampMs: h.clock.now(), containerId: '', ...(healthy === undefined ? {} : { healthy }),
  } });
  for (const id of running.keys()) update(id);
  // The framework's recorded events are read by nobody here: dropped, so they hold no memory.
  fw.stream.events.length = 0;
  const http = await startHttp({
    ready: () => true,
    state: () => ({ ...h.master.state(), eventId: eventIdText(h.events.epoch, h.events.lastId()) }),
    operatorEvents: { follow: (o) => followJournal(h.events, { ...o, heartbeatIntervalMs: 15_000, clock: systemClock }) },
    offerLog: h.offerLog,
    log: logger('bench'),
  }, { host: '127.0.0.1', port: 0 });
  return { h, http, ids: [...running.keys()], update, running: running.size };
}

function measurement(kase: string, samples: number[], ops: number, opsLabel: string, extra: Record<string, number | string> = {}): Measurement {
  const medianMs = round(median(samples), 1);
  return {
    bench: 'master-ui', case: kase, params: { tasks: TASKS, agents: AGENTS, ...extra }, runs: samples.length,
    samplesMs: samples.map((x) => round(x, 1)), medianMs, ops, opsLabel, opsPerSec: round(ops / (medianMs / 1000), 1), published: [],
  };
}

type BusyMaster = Awaited<ReturnType<typeof busyMaster>>;

async function run(): Promise<Measurement[]> {
  const m = await busyMaster();
  if (m.running !== TASKS) throw new Error(`the master holds ${m.running} tasks, not ${TASKS}`);
  const { browser, page, pageErrors } = await openPage();
  const base = `http://127.0.0.1:${m.http.port}`;
  const out: Measurement[] = [];
  try {
    out.push(await measureLoads(page, base));
    const search = searcher(page, m.ids);
    const quiet: number[] = [];
    for (let k = 0; k < 7; k++) quiet.push(await search(k));
    out.push(measurement('tasks view: search 10k tasks for one id, quiet', quiet, TASKS, 'tasks searched'));
    out.push(...await measureUnderChurn(page, m, search));
    if (pageErrors.length > 0) throw new Error(`the page failed: ${pageErrors.join('; ')}`);
  } finally {
    await browser.close();
    await m.http.stop();
    m.h.master.stop();
  }
  return out;
}

/** Load: from navigation to the count of all tasks and the first rows on screen. */
async function measureLoads(page: Page, base: string): Promise<Measurement> {
  const countText = page.getByTestId('tasks-count-text');
  const loads: number[] = [];
  for (let i = 0; i < 4; i++) {
    await page.goto('about:blank');
    const t0 = Date.now();
    await page.goto(`${base}/ui/#/tasks`);
    await countText.filter({ hasText: `${TASKS} tasks` }).waitFor({ timeout: 60_000 });
    await page.getByTestId('task-row').first().waitFor();
    if (i > 0) loads.push(Date.now() - t0);   // the first warms the browser's caches
  }
  return measurement('tasks view: load /api/v1/state and show the first 100 of 10k tasks', loads, TASKS, 'tasks');
}

/** A search: from typing a task's id to the table showing that task alone; the k-th picks its own id. */
function searcher(page: Page, ids: readonly string[]): (k: number) => Promise<number> {
  const countText = page.getByTestId('tasks-count-text');
  return async (k) => {
    const id = ids[(k * 7919) % ids.length]!;
    const t0 = Date.now();
    await page.getByTestId('task-search').fill(`${id} `);
    await page.locator(`[data-testid="task-row"][data-task-id="${id}"]`).waitFor();
    await countText.filter({ hasText: /^1 task$/ }).waitFor();
    const ms = Date.now() - t0;
    await page.getByTestId('task-search').fill('');
    await countText.filter({ hasText: `${TASKS} tasks` }).waitFor();
    return ms;
  };
}

/**
 * The same searches under churn: health flips streamed in at UPDATES_PER_SEC, each a
 * TASK_UPDATED, with the page's long tasks recorded; and an update's way to the screen.
 */
async function measureUnderChurn(page: Page, m: BusyMaster, search: (k: number) => Promise<number>): Promise<Measurement[]> {
  // In the page's own terms (the bench is compiled without the DOM's types).
  await page.evaluate(`window.longTasks = [];
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.longTasks.push(e.duration); }).observe({ type: 'longtask' });`);
  let flips = 0;
  const tick = setInterval(() => {
    for (let i = 0; i < UPDATES_PER_SEC / 20; i++) { const id = m.ids[flips % m.ids.length]!; m.update(id, flips % 2 === 0); flips += 1; }
  }, 50);
  const busy: number[] = [];
  let shown: number[];
  try {
    for (let k = 7; k < 14; k++) busy.push(await search(k));
    shown = await measureUpdatesShown(page, m);
  } finally {
    clearInterval(tick);
  }
  const longTasks = await page.evaluate('window.longTasks') as number[];
  const row = measurement(`tasks view: search 10k tasks for one id, ${UPDATES_PER_SEC} task updates/s streaming in`, busy, TASKS, 'tasks searched',
    { updatesPerSec: UPDATES_PER_SEC, updatesSent: flips });
  row.latency = {
    what: 'main-thread long tasks (> 50 ms) in the page while the updates streamed in: their count, p50, p99 and max duration',
    count: longTasks.length,
    p50Ms: [longTasks.length ? round(percentile(longTasks, 50), 1) : 0], p99Ms: [longTasks.length ? round(percentile(longTasks, 99), 1) : 0],
    maxMs: [round(Math.max(0, ...longTasks), 1)],
  };
  return [row, measurement(`tasks view: one task's update, from the master to its row on screen, ${UPDATES_PER_SEC} task updates/s streaming in`, shown, 1, 'updates shown',
    { updatesPerSec: UPDATES_PER_SEC })];
}

/** An update's way to the screen: one task's health flipped in the master, until its row says so, with the other updates streaming past. */
async function measureUpdatesShown(page: Page, m: BusyMaster): Promise<number[]> {
  const shown: number[] = [];
  for (let k = 0; k < 7; k++) {
    const id = m.ids[(k * 104729) % m.ids.length]!;
    await page.getByTestId('task-search').fill(`${id} `);
    const health = page.locator(`[data-testid="task-row"][data-task-id="${id}"] .dot`);
    for (const healthy of [true, false]) {
      const t0 = Date.now();
      m.update(id, healthy);
      await health.filter({ hasText: new RegExp(`^${healthy ? 'healthy' : 'unhealthy'}$`) }).waitFor();
      shown.push(Date.now() - t0);
    }
  }
  return shown;
}

export const masterUiBench: Bench = {
  name: 'master-ui',
  description: 'the master\'s web UI in headless Chromium with 10k running tasks (the real UI, HTTP server, state view and event journal; '
    + 'the master core driven in-process): loading the tasks view, and a search for one task id, quiet and with 500 task updates/s streaming in; '
    + 'and one task\'s update from the master to its row on screen under the same stream; '
    + 'median of 3 loads after one warm-up, of 7 searches each and of 14 updates; starting the master and launching the tasks is not timed',
  run,
};
