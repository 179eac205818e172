// The tasks: filtered by state and searched by words (id, name, framework, agent), live first.
// However many tasks there are, only a page of rows is in the DOM, and the filter runs at
// most a few times a second, so 10,000 tasks changing state keep the page responsive.
import { h, renderIfChanged, timeEl } from '/ui/shared/dom.js';
import { amount, filterTasks, healthWord, stateWord, TERMINAL, usageText } from './model.js';
import { agentLink, frameworkLink, stateBadge, taskLink } from './widgets.js';

const PAGE_ROWS = 100;
/** Events can change tasks hundreds of times a second; the table follows at this pace. */
const REDRAW_MS = 100;
const STATES = ['TASK_STAGING', 'TASK_STARTING', 'TASK_RUNNING', 'TASK_KILLING', 'TASK_UNREACHABLE', ...TERMINAL];

export function tasksView() {
  let body;
  let latest;
  let timer;
  let lastDraw = 0;
  const filter = { show: 'active', query: '' };
  let rows = PAGE_ROWS;

  function draw() {
    timer = undefined;
    lastDraw = Date.now();
    const state = latest;
    renderIfChanged(body, `${state.version}:${filter.show}:${filter.query}:${rows}`, () => {
      const tasks = filterTasks(state, filter);
      const shown = tasks.slice(0, rows);
      return [
        h('p', { class: 'muted', 'data-testid': 'tasks-count-text' },
          tasks.length === 0 ? '' : `${tasks.length} task${tasks.length === 1 ? '' : 's'}${shown.length < tasks.length ? `, the first ${shown.length} shown` : ''}`),
        tasks.length === 0 ? h('p', { class: 'empty', 'data-testid': 'no-tasks' }, filter.query || filter.show !== 'active' ? 'No task matches.' : 'No task is running.')
          : h('table', { class: 'list', 'data-testid': 'tasks' },
            h('thead', {}, h('tr', {}, ['Task', 'Name', 'Framework', 'State', 'Health', 'Agent', 'CPUs', 'Memory', 'Usage', 'Updated'].map((c) => h('th', { scope: 'col' }, c)))),
            h('tbody', {}, shown.map((t) => h('tr', { 'data-testid': 'task-row', 'data-task-id': t.id },
              h('th', { scope: 'row' }, taskLink(t)),
              h('td', {}, t.name),
              h('td', {}, frameworkLink(state, t.frameworkId)),
              h('td', {}, stateBadge(t.state), t.message ? h('div', { class: 'muted small' }, t.message) : null),
              h('td', {}, healthWord(t) ? h('span', { class: `dot dot-${healthWord(t)}` }, healthWord(t)) : ''),
              h('td', {}, agentLink(state, t.agentId)),
              h('td', { class: 'num' }, amount('cpus', t.resources.cpus)),
              h('td', { class: 'num' }, amount('mem', t.resources.mem)),
              h('td', { class: 'small' }, usageText(t)),
              h('td', {}, timeEl(t.updatedAt)))))),
        shown.length < tasks.length
          ? h('p', {}, h('button', { type: 'button', 'data-testid': 'more-tasks', onclick: () => { rows += PAGE_ROWS; now(); } }, `Show ${Math.min(PAGE_ROWS, tasks.length - shown.length)} more`))
          : null,
      ];
    });
  }

  function soon() {
    if (timer || !latest) return;
    timer = setTimeout(draw, Math.max(0, lastDraw + REDRAW_MS - Date.now()));
  }

  /** What the user typed or chose is drawn at once, not at the events' pace. */
  function now() {
    clearTimeout(timer);
    timer = undefined;
    if (latest) draw();
  }

  return {
    title: 'Tasks',
    mount(root) {
      body = h('div');
      const show = h('select', {
        id: 'task-show', 'data-testid': 'task-show',
        onchange: (e) => { filter.show = e.target.value; rows = PAGE_ROWS; now(); },
      }, h('option', { value: 'active' }, 'active'), h('option', { value: 'all' }, 'all'), STATES.map((s) => h('option', { value: s }, stateWord(s))));
      const search = h('input', {
        id: 'task-search', type: 'search', 'data-testid': 'task-search', placeholder: 'id, name, framework, agent…', autocomplete: 'off',
        oninput: (e) => { filter.query = e.target.value; rows = PAGE_ROWS; now(); },
      });
      root.append(
        h('div', { class: 'view-head' }, h('h2', { tabindex: '-1' }, 'Tasks')),
        h('form', { class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault() },
          h('label', { for: 'task-show' }, 'Show'), show,
          h('label', { for: 'task-search' }, 'Search'), search),
        body);
    },
    update(state) { latest = state; soon(); },
    unmount() { clearTimeout(timer); },
  };
}
