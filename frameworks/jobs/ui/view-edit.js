// #/new and #/edit/<id>: a job by form or as JSON. The JSON tab takes Metronome's definition
// (`id`, `run`: POST /v1/jobs, or PUT /v1/jobs/{id} when editing) or Chronos's (`name`:
// /v1/scheduler/dependency with parents, else /v1/scheduler/iso8601). The API validates: a
// 422/400's details are shown next to the field their path names (or above the form), in the
// JSON tab under the editor; a 409 (the id is taken) too.
import { callSafe, jobPath, problemOf } from './api.js';
import { h } from '/ui/shared/dom.js';
import { FIELDS, definitionOf, dialectOf, fieldOfPath, formToJob, jobToForm } from './model.js';
import { problemView } from './widgets.js';

const INPUTS = {
  id: { label: 'ID', placeholder: 'e.g. reports.nightly', hint: 'lowercase letters, digits and -, in .-separated parts', required: true },
  description: { label: 'Description', placeholder: 'optional' },
  cmd: { label: 'Command', placeholder: 'e.g. echo hello', hint: 'run with /bin/sh -c' },
  image: { label: 'Docker image', placeholder: 'e.g. agora/busybox:latest', hint: 'empty: the agent\'s default' },
  cpus: { label: 'CPUs', type: 'number', placeholder: '1 (default)', min: 0, step: 'any' },
  mem: { label: 'Memory (MiB)', type: 'number', placeholder: '128 (default)', min: 0, step: 'any' },
  disk: { label: 'Disk (MiB)', type: 'number', placeholder: '0 (default)', min: 0, step: 'any' },
  cron: { label: 'Cron', placeholder: 'e.g. 0 2 * * *', hint: 'minute hour day-of-month month day-of-week [year]; empty: runs on demand or after its dependencies' },
  timezone: { label: 'Time zone', placeholder: 'UTC (default)', hint: 'an IANA name, e.g. Europe/Berlin' },
  concurrencyPolicy: { label: 'If still running', options: [['ALLOW', 'ALLOW: run another'], ['FORBID', 'FORBID: skip this one'], ['REPLACE', 'REPLACE: stop it, run this one']] },
  startingDeadlineSeconds: { label: 'Starting deadline (s)', type: 'number', placeholder: '900 (default)', min: 1, step: 1, hint: 'an occurrence missed by more is recorded as missed' },
  enabled: { label: 'Schedule enabled', type: 'checkbox' },
  restartPolicy: { label: 'On failure', options: [['NEVER', 'NEVER: the run fails'], ['ON_FAILURE', 'ON_FAILURE: try again']] },
  activeDeadlineSeconds: { label: 'Deadline (s)', type: 'number', placeholder: 'none', min: 1, step: 1, hint: 'a run still going after this long is stopped' },
  dependencies: { label: 'Depends on', placeholder: 'e.g. extract, load', hint: 'job ids, comma-separated: runs after all of them succeed' },
};
/** What Chronos's job list adds to a definition. */
const CHRONOS_STATS = ['successCount', 'errorCount', 'lastSuccess', 'lastError', 'errorsSinceLastSuccess'];
const TEMPLATE = { id: '', description: '', run: { cmd: '', cpus: 0.1, mem: 32, disk: 0 }, schedules: [], dependencies: [] };

export function editView(ctx, editing) {
  let base = editing ? {} : structuredClone(TEMPLATE);
  const inputs = {};
  const errors = {};
  for (const name of FIELDS) {
    const o = INPUTS[name];
    errors[name] = h('span', { class: 'field-error', id: `error-${name}`, 'data-testid': `error-${name}`, hidden: true });
    const common = { id: `field-${name}`, name, 'data-testid': `field-${name}`, 'aria-describedby': `error-${name}${o.hint ? ` hint-${name}` : ''}` };
    inputs[name] = o.options
      ? h('select', common, o.options.map(([value, label]) => h('option', { value }, label)))
      : h('input', { ...common, type: o.type ?? 'text', placeholder: o.placeholder, min: o.min, step: o.step, required: o.required, autocomplete: 'off', spellcheck: 'false' });
  }
  inputs.enabled.checked = true;
  if (editing) inputs.id.readOnly = true;   // a job's id is its name: a new id is a new job
  const formProblem = h('div', { 'data-testid': 'form-problem' });
  const jsonProblem = h('div', { 'data-testid': 'json-problem' });
  const editor = h('textarea', { id: 'job-json', rows: 22, spellcheck: 'false', 'aria-label': 'Job definition (JSON)', 'data-testid': 'json-editor' });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'save' }, editing ? 'Save job' : 'Create job');
  const loading = h('p', { class: 'muted', hidden: !editing, 'data-testid': 'edit-loading' }, 'Loading…');
  const tabs = { form: tab('form', 'Form'), json: tab('json', 'JSON') };
  const panels = {
    form: h('div', { id: 'panel-form', role: 'tabpanel', 'aria-labelledby': 'tab-form' }, formProblem,
      fieldset('Job', ['id', 'description', 'cmd', 'image']), fieldset('Resources', ['cpus', 'mem', 'disk']),
      fieldset('Schedule', ['cron', 'timezone', 'concurrencyPolicy', 'startingDeadlineSeconds', 'enabled']),
      fieldset('Failures and dependencies', ['restartPolicy', 'activeDeadlineSeconds', 'dependencies'])),
    json: h('div', { id: 'panel-json', role: 'tabpanel', 'aria-labelledby': 'tab-json', hidden: true },
      h('p', { class: 'muted' }, 'A Metronome job (', h('code', {}, 'id'), ', ', h('code', {}, 'run'), ', ', h('code', {}, 'schedules'), ', ', h('code', {}, 'dependencies'),
        '), or a Chronos job (', h('code', {}, 'name'), ', ', h('code', {}, 'command'), ', ', h('code', {}, 'schedule'), ' or ', h('code', {}, 'parents'), ').'),
      editor, jsonProblem),
  };
  let current = 'form';

  function fieldset(legend, names) {
    return h('fieldset', {}, h('legend', {}, legend), names.map((name) => h('div', { class: `field${INPUTS[name].type === 'checkbox' ? ' check' : ''}` },
      h('label', { for: `field-${name}` }, INPUTS[name].label), inputs[name],
      INPUTS[name].hint ? h('small', { id: `hint-${name}`, class: 'hint' }, INPUTS[name].hint) : null,
      errors[name])));
  }

  function tab(name, label) {
    return h('button', {
      type: 'button', role: 'tab', id: `tab-${name}`, 'aria-controls': `panel-${name}`, 'data-testid': `tab-${name}`,
      onclick: () => select(name),
      onkeydown: (e) => {
        if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
        const other = name === 'form' ? 'json' : 'form';
        select(other);
        if (current === other) tabs[other].focus();
      },
    }, label);
  }

  const values = () => Object.fromEntries(FIELDS.map((n) => [n, n === 'enabled' ? String(inputs.enabled.checked) : inputs[n].value]));
  function fill(job) {
    const v = jobToForm(job);
    for (const n of FIELDS) {
      if (n === 'enabled') inputs.enabled.checked = v.enabled !== 'false';
      else inputs[n].value = v[n];
    }
  }

  /** Switching carries the definition across; JSON that does not parse, or is Chronos's, keeps you in the editor. */
  function select(name) {
    if (name === current) return;
    if (name === 'json') {
      editor.value = JSON.stringify(formToJob(values(), base), null, 2);
    } else {
      let parsed;
      try { parsed = JSON.parse(editor.value); } catch (err) {
        return jsonProblem.replaceChildren(problemView({ message: `This is not JSON yet: ${err.message}`, details: [] }, 'json-parse'));
      }
      const d = dialectOf(parsed);
      if (!d) return jsonProblem.replaceChildren(problemView({ message: 'A job definition is a JSON object.', details: [] }, 'json-parse'));
      if (d.dialect === 'chronos') return jsonProblem.replaceChildren(problemView({ message: 'The form edits Metronome jobs; a Chronos job (name) is saved from here.', details: [] }, 'json-parse'));
      base = parsed;
      fill(parsed);
    }
    clearProblems();
    showTab(name);
  }

  function showTab(name) {
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
    if (current === 'json') return jsonProblem.replaceChildren(problemView(p, 'json-problem-detail'));
    const rest = [];
    for (const d of p.details) {
      const field = fieldOfPath(d.path);
      if (!field) { rest.push(d); continue; }
      errors[field].hidden = false;
      errors[field].textContent = [errors[field].textContent, ...d.errors].filter(Boolean).join('; ');
      inputs[field].setAttribute('aria-invalid', 'true');
    }
    if (rest.length > 0 || p.details.length === 0) formProblem.replaceChildren(problemView({ ...p, details: rest }, 'form-problem-detail'));
    FIELDS.map((n) => inputs[n]).find((i) => i.getAttribute('aria-invalid') === 'true')?.focus();
  }

  /** Where the definition goes, and what it is: the form's job, or the editor's text as typed. */
  function request() {
    if (current === 'form') {
      const job = formToJob(values(), base);
      return editing ? { method: 'PUT', path: jobPath(editing), body: job, id: editing } : { method: 'POST', path: '/v1/jobs', body: job, id: job.id };
    }
    let parsed;
    try { parsed = JSON.parse(editor.value); } catch { /* sent as typed: the API's 400 says where */ }
    const d = dialectOf(parsed);
    if (d?.dialect === 'chronos') return { method: 'POST', path: d.path, body: editor.value, id: d.id };
    if (editing && (!d || d.id === editing)) return { method: 'PUT', path: jobPath(editing), body: editor.value, id: editing };
    return { method: 'POST', path: '/v1/jobs', body: editor.value, id: d?.id };
  }

  async function save(e) {
    e.preventDefault();
    clearProblems();
    submit.disabled = true;
    const r = request();
    const answer = await callSafe(r.method, r.path, r.body);
    submit.disabled = false;
    if (!answer.ok) return show(problemOf(answer));
    await ctx.live.refresh();
    const id = answer.body?.id ?? r.id;
    ctx.flash(`${editing ? 'Saved' : 'Created'} ${id}`);
    ctx.go(`#/job/${encodeURIComponent(id)}`);
  }

  /**
   * A job with a Chronos schedule (R[n]/start/period) is edited as Chronos JSON: Metronome's
   * shape has no place for it, and saving the form would drop it.
   */
  async function load() {
    const [a, chronos] = await Promise.all([callSafe('GET', jobPath(editing)), callSafe('GET', '/v1/scheduler/jobs')]);
    loading.hidden = true;
    if (!a.ok) return formProblem.replaceChildren(problemView(problemOf(a), 'load-problem'));
    base = definitionOf(a.body);
    fill(base);
    const c = chronos.ok && Array.isArray(chronos.body) ? chronos.body.find((j) => j.name === editing) : undefined;
    if (c?.schedule) {
      const def = { ...c };
      for (const k of CHRONOS_STATS) delete def[k];
      editor.value = JSON.stringify(def, null, 2);
      showTab('json');
      jsonProblem.replaceChildren(h('p', { class: 'muted', 'data-testid': 'chronos-note' }, `${editing} runs on a Chronos schedule: it is edited as Chronos JSON.`));
    }
  }

  return {
    title: editing ? `Edit ${editing}` : 'New job',
    mount(root) {
      root.append(
        h('div', { class: 'view-head' }, h('h2', { tabindex: '-1' }, editing ? `Edit ${editing}` : 'New job'),
          h('a', { href: editing ? `#/job/${encodeURIComponent(editing)}` : '#/jobs' }, editing ? `← ${editing}` : '← all jobs')),
        loading,
        h('form', { novalidate: true, 'data-testid': 'job-form', onsubmit: (e) => void save(e) },
          h('div', { role: 'tablist', 'aria-label': 'Edit as' }, tabs.form, tabs.json),
          panels.form, panels.json,
          h('div', { class: 'form-actions' }, submit, ' ', h('a', { href: '#/jobs' }, 'Cancel'))));
      showTab('form');
      if (editing) void load(); else { fill(base); inputs.id.focus(); }
    },
    update() { /* the form is the user's: refreshes leave it alone */ },
  };
}
