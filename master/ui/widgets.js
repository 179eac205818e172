// Small pieces several views draw: a state badge, a used-of-total meter, links to an agent,
// a framework (and its own UI), a task.
import { h } from '/ui/shared/dom.js';
import { agentHref, amount, stateWord, taskHref } from './model.js';

/** `running`, `failed`, … coloured by what the state means. */
export function stateBadge(state) {
  const word = stateWord(state);
  return h('span', { class: `badge badge-${word.replace(/ /g, '-')}`, 'data-testid': 'task-state' }, word);
}

/** "1.5 / 4" with a bar: `used` of `total` of one resource. */
export function meter(name, used, total) {
  const pct = total > 0 ? Math.min(100, (used / total) * 100) : 0;
  return h('span', { class: 'meter', title: `${Math.round(pct)} %` },
    h('span', { class: 'meter-bar', 'aria-hidden': 'true' }, h('span', { style: `width:${pct.toFixed(1)}%` })),
    `${amount(name, used)} / ${amount(name, total)}`);
}

export function agentLink(state, agentId) {
  const a = state.agents.get(agentId);
  return h('a', { href: agentHref(agentId), title: agentId }, a?.hostname ?? agentId);
}

/** A framework's name; its own web UI, when it told the master of one, one click away. */
export function frameworkLink(state, frameworkId) {
  const f = state.frameworks.get(frameworkId);
  if (!f) return h('span', { class: 'muted', title: frameworkId }, frameworkId);
  return h('span', { title: frameworkId }, f.name || f.id,
    f.webuiUrl ? [' ', h('a', { href: f.webuiUrl, class: 'ext', 'data-testid': 'framework-ui', target: '_blank', rel: 'noopener' }, 'UI ↗')] : null);
}

export function taskLink(t) {
  return h('a', { href: taskHref(t), 'data-testid': 'task-link' }, t.id);
}
