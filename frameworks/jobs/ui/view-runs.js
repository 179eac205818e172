// A job's run history as a table: one row per run (state, trigger, scheduled, start, end,
// duration, exit code, attempts, agent) and under it the run's output, each attempt's stdout
// and stderr read from the logs endpoint into the page. The newest run's output is open; an
// open run's output is read again when the run moves on, and every few seconds while it runs.
import { logPath, text } from './api.js';
import { clock, duration, h, renderIfChanged, timeEl } from '/ui/shared/dom.js';
import { isActiveRun, runView } from './model.js';

const COLUMNS = ['Run', 'State', 'Trigger', 'Scheduled', 'Started', 'Ended', 'Duration', 'Exit', 'Attempts', 'Agent'];
/** A running task's output grows without an event saying so. */
const ACTIVE_OUTPUT_MS = 2000;

export function runsTable(jobId) {
  const table = h('table', { class: 'list runs', 'data-testid': 'runs' },
    h('thead', {}, h('tr', {}, COLUMNS.map((c) => h('th', { scope: 'col' }, c)))));
  const empty = h('tbody', {}, h('tr', {}, h('td', { colspan: COLUMNS.length, class: 'empty', 'data-testid': 'no-runs' }, 'No runs yet.')));
  /** runId → its rows, kept across refreshes so an open output stays open and is not read again for nothing. */
  const els = new Map();
  const timer = setInterval(() => {
    for (const e of els.values()) if (e.details.open && isActiveRun(e.run)) void loadOutput(e, true);
  }, ACTIVE_OUTPUT_MS);

  function runEl(run, newest) {
    let e = els.get(run.id);
    if (!e) {
      const out = h('div', { class: 'output', 'data-testid': 'run-output' });
      // The newest run when the page opened, and each run started while it is open.
      const details = h('details', { 'data-testid': 'run-details', open: newest }, h('summary', {}, 'Output'), out);
      const row = h('tr', { 'data-testid': 'run-row', 'data-run-id': run.id });
      e = { run, row, details, out, key: undefined, tbody: h('tbody', { class: 'run' }, row, h('tr', { class: 'output-row' }, h('td', { colspan: COLUMNS.length }, details))) };
      const self = e;
      details.addEventListener('toggle', () => { if (details.open) void loadOutput(self); });
      els.set(run.id, e);
    }
    e.run = run;
    renderIfChanged(e.row, JSON.stringify(run), () => cells(runView(run)));
    if (e.details.open) void loadOutput(e);
    return e.tbody;
  }

  async function loadOutput(e, force = false) {
    const v = runView(e.run);
    const key = JSON.stringify([v.status, v.attempts.map((a) => [a.taskId, a.state]), v.endedAt]);
    if (!force && e.key === key) return;
    e.key = key;
    if (v.attempts.length === 0) {
      e.out.replaceChildren(h('p', { class: 'muted' }, v.message || (isActiveRun(e.run) ? 'Waiting for an offer to launch it.' : 'No attempt was launched.')));
      return;
    }
    const parts = await Promise.all(v.attempts.map(async (a, i) => {
      const n = attemptNumber(a, i);
      const urls = v.logs.find((l) => l.attempt === n) ?? { stdout: logPath(jobId, v.id, 'stdout', n), stderr: logPath(jobId, v.id, 'stderr', n) };
      const [stdout, stderr] = await Promise.all([read(urls.stdout), read(urls.stderr)]);
      return { n, a, stdout, stderr };
    }));
    if (e.key !== key) return;   // a newer read is on its way
    e.out.replaceChildren(...parts.map(attemptOutput),
      h('button', { type: 'button', class: 'small', 'data-testid': 'reload-output', onclick: () => void loadOutput(e, true) }, 'Read again'));
  }

  return {
    el: table,
    /** `runs`: the history's runs, newest first. */
    update(runs) {
      const bodies = runs.map((r, i) => runEl(r, i === 0));
      for (const id of [...els.keys()]) if (!runs.some((r) => r.id === id)) els.delete(id);
      table.replaceChildren(table.tHead, ...(bodies.length > 0 ? bodies : [empty]));
    },
    stop() { clearInterval(timer); },
  };
}

function cells(v) {
  const status = (v.status ?? '').toLowerCase();
  const attempts = v.attempts.map((a) => `${a.state?.replace(/^TASK_/, '') ?? ''}${a.exitCode !== undefined && a.exitCode !== null ? ` (${a.exitCode})` : ''}`);
  return [
    h('th', { scope: 'row' }, h('code', {}, v.id)),
    h('td', {}, h('span', { class: `badge badge-run-${status}`, 'data-testid': 'run-state' }, v.status),
      v.message ? h('div', { class: 'muted small', 'data-testid': 'run-message' }, v.message) : null),
    h('td', { 'data-testid': 'run-trigger' }, v.trigger),
    h('td', {}, v.scheduledAt !== undefined ? timeEl(v.scheduledAt, clock(v.scheduledAt)) : h('span', { class: 'muted' }, '—')),
    h('td', {}, timeEl(v.startedAt, v.startedAt !== undefined ? clock(v.startedAt) : undefined)),
    h('td', {}, timeEl(v.endedAt, v.endedAt !== undefined ? clock(v.endedAt) : undefined)),
    h('td', { class: 'num', 'data-testid': 'run-duration' }, duration(v.seconds)),
    h('td', { class: 'num', 'data-testid': 'run-exit' }, v.exitCode ?? ''),
    h('td', { 'data-testid': 'run-attempts', title: attempts.join(', ') }, String(v.attempts.length), attempts.length > 0 ? h('span', { class: 'muted small' }, ` ${attempts.join(', ')}`) : null),
    h('td', { 'data-testid': 'run-agent' }, v.agent),
  ];
}

/** An attempt's number is its task id's last part (`<job>.<run>.<n>`). */
function attemptNumber(a, i) {
  const m = /\.(\d+)$/.exec(a.taskId ?? '');
  return m ? Number(m[1]) : i + 1;
}

async function read(url) {
  try {
    const r = await text(url);
    if (r.ok) return { ok: true, text: r.text };
    let message = r.text;
    try { message = JSON.parse(r.text).message ?? message; } catch { /* plain text */ }
    return { ok: false, text: `(not readable: ${r.status} ${message})` };
  } catch (err) {
    return { ok: false, text: `(not readable: ${err.message})` };
  }
}

function attemptOutput({ n, a, stdout, stderr }) {
  const where = a.hostname ?? a.agentId ?? '';
  return h('div', { class: 'attempt', 'data-testid': 'attempt-output', 'data-attempt': n },
    h('div', { class: 'muted small' }, `attempt ${n}`, a.state ? ` · ${a.state.replace(/^TASK_/, '')}` : '',
      a.exitCode !== undefined && a.exitCode !== null ? ` · exit ${a.exitCode}` : '', where ? ` · on ${where}` : '', a.message ? ` · ${a.message}` : '',
      ' · ', h('code', {}, a.taskId ?? '')),
    h('div', { class: 'stream-name' }, 'stdout'),
    h('pre', { class: stdout.ok ? 'log' : 'log unreadable', 'data-testid': 'run-stdout' }, stdout.text),
    h('div', { class: 'stream-name' }, 'stderr'),
    h('pre', { class: stderr.ok ? 'log' : 'log unreadable', 'data-testid': 'run-stderr' }, stderr.text));
}
