// Pieces the frameworks' views draw alike: a view's head, a list's table, an inline
// confirmation, and a refusal from the API. Shared by the frameworks' web UIs, served to each
// under /ui/shared/widgets.js; each UI's widgets.js adds its own.
import { h } from '/ui/shared/dom.js';

/** The head of a view: its title (where the focus goes on a new route), and links or buttons beside it. */
export function viewHead(title, ...beside) {
  return h('div', { class: 'view-head' }, h('h2', { tabindex: '-1' }, title), ...beside);
}

/** A list's table: the column heads, `body` (which the view fills), and a caption for screen readers, if given. */
export function listTable(columns, body, caption) {
  return h('table', { class: 'list' },
    caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))),
    body);
}

/**
 * A button that asks before it acts, inside the page (no window.confirm: it blocks, and a
 * headless browser answers it for nobody). `pending` remembers which question is open across
 * re-renders, so a refresh does not close it.
 */
export function confirmButton(o) {
  const { key, pending, label, question, yes, onConfirm, testid, danger, disabled } = o;
  const show = (open, focus) => {
    pending.key = open ? key : undefined;
    o.rerender();
    document.querySelector(`[data-testid="${focus}"]`)?.focus();
  };
  if (pending.key !== key) {
    return h('button', { type: 'button', class: danger ? 'danger' : '', disabled, 'data-testid': testid, onclick: () => show(true, `${testid}-yes`) }, label);
  }
  return h('span', { class: 'confirm', role: 'group', 'aria-label': question },
    h('span', {}, question), ' ',
    h('button', { type: 'button', class: danger ? 'danger' : 'primary', disabled, 'data-testid': `${testid}-yes`, onclick: () => { pending.key = undefined; onConfirm(); } }, yes),
    ' ',
    h('button', { type: 'button', 'data-testid': `${testid}-no`, onclick: () => show(false, testid) }, 'Cancel'));
}

/** A refusal (/ui/shared/api.js's problemOf): the message, the details by JSON path, and what a UI adds after them. */
export function problemView(p, testid = 'problem', ...more) {
  return h('div', { class: 'problem', role: 'alert', 'data-testid': testid },
    h('strong', {}, p.message),
    p.details.length > 0 ? h('ul', {}, p.details.map((d) => h('li', {}, h('code', {}, d.path), ' ', d.errors.join('; ')))) : null,
    ...more);
}
