// One task: its state, health, agent, resources and usage, its sandbox's files, and a file
// followed as it grows (stdout by default) — through the master, which relays the agent's
// /files API, so the page never needs to reach an agent itself.
import { h, renderIfChanged, timeEl } from '/ui/shared/dom.js';
import { getJson } from './live.js';
import { amount, healthWord, stateWord, taskKey, usageText } from './model.js';
import { agentLink, frameworkLink, stateBadge } from './widgets.js';

/** The most a followed file keeps in the page: its newest bytes, the rest counted. */
const KEEP_CHARS = 512 * 1024;

const q = (frameworkId, taskId, more = {}) => new URLSearchParams({ framework_id: frameworkId, task_id: taskId, ...more });

export function taskView(ctx, frameworkId, taskId) {
  let summary;
  let files;
  let tabs;
  let log;
  let logNote;
  let follow;
  let file = 'stdout';

  /**
   * Follows `name` from its last KEEP_CHARS bytes on: the agent holds the response open and
   * sends what the task writes, and ends it once the task's run is over.
   */
  async function startFollow(name) {
    follow?.abort();
    const ctrl = new AbortController();
    follow = ctrl;
    file = name;
    for (const b of tabs.querySelectorAll('[role="tab"]')) b.setAttribute('aria-selected', String(b.dataset.file === name));
    log.textContent = '';
    logNote.textContent = 'following…';
    try {
      const { offset: size } = await getJson(`/api/v1/files/read?${q(frameworkId, taskId, { file: name, offset: '-1' })}`);
      if (ctrl.signal.aborted) return;   // another file was chosen meanwhile
      const from = Math.max(0, size - KEEP_CHARS);
      if (from > 0) logNote.textContent = `following; the first ${from} bytes are left out`;
      const res = await fetch(`/api/v1/files/follow?${q(frameworkId, taskId, { file: name, offset: String(from) })}`, { signal: ctrl.signal });
      if (!res.ok) throw new Error((await res.json().catch(() => ({}))).error ?? `HTTP ${res.status}`);
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
        let text = log.textContent + value;
        if (text.length > KEEP_CHARS) text = text.slice(text.length - KEEP_CHARS);
        log.textContent = text;
        if (atEnd) log.scrollTop = log.scrollHeight;
      }
      if (follow === ctrl) logNote.textContent = 'the task’s run is over: this is all it wrote';
    } catch (err) {
      if (ctrl.signal.aborted) return;
      logNote.textContent = `${name} cannot be followed: ${err.message}`;
      logNote.classList.add('problem');
    }
  }

  async function listFiles() {
    try {
      const listing = await getJson(`/api/v1/files/browse?${q(frameworkId, taskId)}`);
      files.replaceChildren(...[h('table', { class: 'list small', 'data-testid': 'sandbox' },
        h('thead', {}, h('tr', {}, ['File', 'Size', 'Mode', 'Modified'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, listing.entries.map((e) => h('tr', {},
          h('th', { scope: 'row' }, e.type === 'file'
            ? h('button', { type: 'button', class: 'linkish', onclick: () => void startFollow(e.path) }, e.name)
            : `${e.name}${e.type === 'directory' ? '/' : ''}`),
          h('td', { class: 'num' }, e.type === 'file' ? String(e.size) : ''),
          h('td', {}, h('code', {}, e.mode ?? '')),
          h('td', {}, e.mtime ? timeEl(e.mtime) : ''))))),
      listing.truncated ? h('p', { class: 'muted' }, 'More entries than shown.') : null].filter(Boolean));
    } catch (err) {
      files.replaceChildren(h('p', { class: 'muted' }, `The sandbox cannot be listed: ${err.message}`));
    }
  }

  return {
    title: `Task ${taskId}`,
    mount(root) {
      summary = h('div');
      files = h('div', {}, h('p', { class: 'muted' }, 'reading…'));
      log = h('pre', { class: 'log', 'data-testid': 'task-log', 'aria-live': 'off', tabindex: '0' });
      logNote = h('p', { class: 'muted small', 'data-testid': 'log-note' });
      tabs = h('div', { role: 'tablist', 'aria-label': 'Output' },
        ['stdout', 'stderr'].map((name) => h('button', {
          type: 'button', role: 'tab', 'data-file': name, 'data-testid': `tab-${name}`, 'aria-selected': String(name === file),
          onclick: () => void startFollow(name),
        }, name)));
      root.append(
        h('div', { class: 'view-head' }, h('h2', { tabindex: '-1', 'data-testid': 'task-title' }, 'Task ', h('code', {}, taskId))),
        summary,
        h('h3', {}, 'Output'), tabs, logNote, log,
        h('h3', {}, 'Sandbox'), files);
      void startFollow(file);
      void listFiles();
    },
    update(state) {
      renderIfChanged(summary, state.version, () => {
        const t = state.tasks.get(taskKey(frameworkId, taskId));
        if (!t) return h('p', { class: 'empty' }, 'The master no longer lists this task; its sandbox may still be on its agent.');
        return h('dl', { class: 'summary', 'data-testid': 'task-summary' },
          h('dt', {}, 'State'), h('dd', {}, stateBadge(t.state), t.reason && t.reason !== 'REASON_UNKNOWN' ? ` ${t.reason}` : '', t.exitCode !== undefined ? ` (exit code ${t.exitCode})` : ''),
          t.message ? [h('dt', {}, 'Message'), h('dd', {}, t.message)] : null,
          h('dt', {}, 'Health'), h('dd', {}, healthWord(t) || 'no verdict'),
          h('dt', {}, 'Name'), h('dd', {}, t.name),
          h('dt', {}, 'Framework'), h('dd', {}, frameworkLink(state, t.frameworkId)),
          h('dt', {}, 'Agent'), h('dd', { 'data-testid': 'task-agent' }, agentLink(state, t.agentId)),
          h('dt', {}, 'Resources'), h('dd', {}, `${amount('cpus', t.resources.cpus)} cpus, ${amount('mem', t.resources.mem)} memory`, h('div', {}, h('code', {}, t.resources.text))),
          usageText(t) ? [h('dt', {}, 'Usage'), h('dd', {}, usageText(t))] : null,
          h('dt', {}, 'Updated'), h('dd', {}, timeEl(t.updatedAt), ` (${stateWord(t.state)})`));
      });
    },
    unmount() { follow?.abort(); },
  };
}
