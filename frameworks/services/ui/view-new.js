// #/new: create an app with a form or as JSON. The API validates: its 422 details are shown
// next to the field their path belongs to (or above the form), in the JSON tab under the
// editor; a 400 (bad JSON) and a 409 (the id is taken, or a deployment is in the way) too.
import { call, problemOf } from './api.js';
import { h } from '/ui/shared/dom.js';
import { FIELDS, appToForm, fieldOfPath, formToApp } from './model.js';
import { problemView } from './widgets.js';

const INPUTS = {
  id: { label: 'ID', placeholder: 'e.g. /shop/web', hint: 'lowercase letters, digits, - and ., in /-separated groups', required: true },
  cmd: { label: 'Command', placeholder: 'e.g. exec httpd -f -p 80 -h /www', hint: 'run with /bin/sh -c; may be empty with an image' },
  image: { label: 'Docker image', placeholder: 'e.g. agora/busybox:latest', hint: 'empty: the command runs as a process' },
  instances: { label: 'Instances', type: 'number', placeholder: '1 (default)', min: 0, step: 1 },
  cpus: { label: 'CPUs', type: 'number', placeholder: '1 (default)', min: 0, step: 'any' },
  mem: { label: 'Memory (MiB)', type: 'number', placeholder: '128 (default)', min: 0, step: 'any' },
  port: { label: 'Port', type: 'number', placeholder: 'optional', min: 0, step: 1, hint: 'with an image: the container port, published on a host port from the offer; without: a host port (0: any)' },
  hcPath: { label: 'HTTP health check path', placeholder: 'e.g. /health', hint: 'a MESOS_HTTP check on the port above' },
  hcInterval: { label: 'Check interval (s)', type: 'number', placeholder: '60 (default)', min: 0, step: 'any' },
  hcDelay: { label: 'First check after (s)', type: 'number', placeholder: '15 (default)', min: 0, step: 'any' },
  hcGrace: { label: 'Grace period (s)', type: 'number', placeholder: '300 (default)', min: 0, step: 'any' },
};

export function newAppView(ctx) {
  /** What the JSON editor held last: fields the form does not show pass through it. */
  let base = {};
  const inputs = {};
  const errors = {};
  for (const name of FIELDS) {
    const o = INPUTS[name];
    errors[name] = h('span', { class: 'field-error', id: `error-${name}`, 'data-testid': `error-${name}`, hidden: true });
    inputs[name] = h('input', {
      id: `field-${name}`, name, type: o.type ?? 'text', placeholder: o.placeholder, min: o.min, step: o.step,
      required: o.required, autocomplete: 'off', spellcheck: 'false', 'data-testid': `field-${name}`,
      'aria-describedby': `error-${name}${o.hint ? ` hint-${name}` : ''}`,
    });
  }
  const formProblem = h('div', { 'data-testid': 'form-problem' });
  const jsonProblem = h('div', { 'data-testid': 'json-problem' });
  const editor = h('textarea', { id: 'app-json', rows: 22, spellcheck: 'false', 'aria-label': 'App definition (JSON)', 'data-testid': 'json-editor' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'create' }, 'Create app');
  const tabs = { form: tab('form', 'Form'), json: tab('json', 'JSON') };
  const panels = {
    form: h('div', { id: 'panel-form', role: 'tabpanel', 'aria-labelledby': 'tab-form' }, formProblem,
      fieldset('App', ['id', 'cmd', 'image']), fieldset('Resources', ['instances', 'cpus', 'mem']), fieldset('Network and health', ['port', 'hcPath', 'hcInterval', 'hcDelay', 'hcGrace'])),
    json: h('div', { id: 'panel-json', role: 'tabpanel', 'aria-labelledby': 'tab-json', hidden: true },
      h('p', { class: 'muted' }, 'A Marathon app definition. Fields the form does not show (env, labels, constraints, …) are kept when you switch back.'),
      editor, jsonProblem),
  };
  let current = 'form';

  function fieldset(legend, names) {
    return h('fieldset', {}, h('legend', {}, legend), names.map((name) => h('div', { class: 'field' },
      h('label', { for: `field-${name}` }, INPUTS[name].label), inputs[name],
      INPUTS[name].hint ? h('small', { id: `hint-${name}`, class: 'hint' }, INPUTS[name].hint) : null,
      errors[name])));
  }

  function tab(name, label) {
    return h('button', {
      type: 'button', role: 'tab', id: `tab-${name}`, 'aria-controls': `panel-${name}`, 'data-testid': `tab-${name}`,
      onclick: () => select(name),
      // The tab pattern: arrows move between the two tabs.
      onkeydown: (e) => {
        if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
        const other = name === 'form' ? 'json' : 'form';
        select(other);
        if (current === other) tabs[other].focus();
      },
    }, label);
  }

  const values = () => Object.fromEntries(FIELDS.map((n) => [n, inputs[n].value]));

  /** Switching carries the definition across; JSON that does not parse keeps you in the editor. */
  function select(name) {
    if (name === current) return;
    if (name === 'json') {
      editor.value = JSON.stringify(formToApp(values(), base), null, 2);
    } else {
      let parsed;
      try { parsed = JSON.parse(editor.value); } catch (err) {
        jsonProblem.replaceChildren(problemView({ message: `This is not JSON yet: ${err.message}`, details: [], deployments: [] }, 'json-parse'));
        return;
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
        jsonProblem.replaceChildren(problemView({ message: 'An app definition is a JSON object.', details: [], deployments: [] }, 'json-parse'));
        return;
      }
      base = parsed;
      const v = appToForm(parsed);
      for (const n of FIELDS) inputs[n].value = v[n];
    }
    clearProblems();
    current = name;
    for (const [n, t] of Object.entries(tabs)) {
      t.setAttribute('aria-selected', String(n === name));
      t.tabIndex = n === name ? 0 : -1;
      panels[n].hidden = n !== name;
    }
  }

  function clearProblems() {
    formProblem.replaceChildren();
    jsonProblem.replaceChildren();
    for (const n of FIELDS) {
      errors[n].hidden = true;
      errors[n].textContent = '';
      inputs[n].removeAttribute('aria-invalid');
    }
  }

  /** The refusal, where it belongs: by field in the form, as a list under the editor. */
  function show(p) {
    if (current === 'json') {
      jsonProblem.replaceChildren(problemView(p, 'json-problem-detail'));
      return pointAtParseError(p);
    }
    const rest = [];
    for (const d of p.details) {
      const field = fieldOfPath(d.path);
      if (!field) { rest.push(d); continue; }
      errors[field].hidden = false;
      errors[field].textContent = [errors[field].textContent, ...d.errors].filter(Boolean).join('; ');
      inputs[field].setAttribute('aria-invalid', 'true');
    }
    if (rest.length > 0 || p.details.length === 0) formProblem.replaceChildren(problemView({ ...p, details: rest }, 'form-problem-detail'));
    const first = FIELDS.find((n) => !errors[n].hidden);
    if (first) inputs[first].focus();
  }

  /** A 400 names the character where parsing stopped: put the cursor there and say the line. */
  function pointAtParseError(p) {
    const at = p.status === 400 ? /position (\d+)/.exec(p.details.flatMap((d) => d.errors).join(' ')) : null;
    if (!at) return;
    const pos = Math.min(Number(at[1]), editor.value.length);
    const before = editor.value.slice(0, pos).split('\n');
    jsonProblem.append(h('p', { class: 'muted', 'data-testid': 'json-position' }, `Line ${before.length}, column ${(before.at(-1) ?? '').length + 1}.`));
    editor.focus();
    editor.setSelectionRange(pos, pos);
  }

  async function create(e) {
    e.preventDefault();
    clearProblems();
    submit.disabled = true;
    const body = current === 'json' ? editor.value : formToApp(values(), base);
    const answer = await call('POST', '/v2/apps', body).catch((err) => ({ ok: false, status: 0, body: { message: `no answer: ${err.message}` } }));
    submit.disabled = false;
    if (!answer.ok) return show(problemOf(answer));
    await ctx.live.refresh();
    ctx.flash(`Created ${answer.body.id}: deployment ${answer.body.deployments?.[0]?.id ?? ''}`);
    ctx.go(`#/app${answer.body.id}`);
  }

  return {
    title: 'New app',
    mount(root) {
      root.append(
        h('div', { class: 'view-head' }, h('h2', { tabindex: '-1' }, 'New app'), h('a', { href: '#/apps' }, '← all apps')),
        h('form', { novalidate: true, 'data-testid': 'new-app-form', onsubmit: (e) => void create(e) },
          h('div', { role: 'tablist', 'aria-label': 'Edit as' }, tabs.form, tabs.json),
          panels.form, panels.json,
          h('div', { class: 'form-actions' }, submit, ' ', h('a', { href: '#/apps' }, 'Cancel'))));
      tabs.form.setAttribute('aria-selected', 'true');
      tabs.json.setAttribute('aria-selected', 'false');
      tabs.json.tabIndex = -1;
      inputs.id.focus();
    },
    update() { /* the form is the user's: refreshes leave it alone */ },
  };
}
