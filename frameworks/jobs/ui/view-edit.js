// #/new and #/edit/<id>: a job by form or as JSON. The JSON tab takes Metronome's definition
// (`id`, `run`: POST /v1/jobs, or PUT /v1/jobs/{id} when editing) or Chronos's (`name`:
// /v1/scheduler/dependency with parents, else /v1/scheduler/iso8601). The API validates: a
// 422/400's details are shown next to the field their path names (or above the form), in the
// JSON tab under the editor; a 409 (the id is taken) too. The two tabs are /ui/shared/editor.js.
import { callSafe, jobPath, problemOf } from './api.js';
import { h } from '/ui/shared/dom.js';
import { FormJsonEditor } from '/ui/shared/editor.js';
import { problemView, viewHead } from '/ui/shared/widgets.js';
import { FIELDS, definitionOf, dialectOf, fieldOfPath, formToJob, jobToForm } from './model.js';

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
  const form = new FormJsonEditor({
    fields: FIELDS, inputs: INPUTS, fieldOfPath, toDefinition: formToJob, toForm: jobToForm, name: 'job', base: editing ? {} : structuredClone(TEMPLATE),
    fieldsets: [['Job', ['id', 'description', 'cmd', 'image']], ['Resources', ['cpus', 'mem', 'disk']],
      ['Schedule', ['cron', 'timezone', 'concurrencyPolicy', 'startingDeadlineSeconds', 'enabled']],
      ['Failures and dependencies', ['restartPolicy', 'activeDeadlineSeconds', 'dependencies']]],
    accept: (parsed) => {
      const d = dialectOf(parsed);
      if (!d) return 'A job definition is a JSON object.';
      if (d.dialect === 'chronos') return 'The form edits Metronome jobs; a Chronos job (name) is saved from here.';
      return undefined;
    },
    jsonNote: ['A Metronome job (', h('code', {}, 'id'), ', ', h('code', {}, 'run'), ', ', h('code', {}, 'schedules'), ', ', h('code', {}, 'dependencies'),
      '), or a Chronos job (', h('code', {}, 'name'), ', ', h('code', {}, 'command'), ', ', h('code', {}, 'schedule'), ' or ', h('code', {}, 'parents'), ').'],
  });
  form.inputs.enabled.checked = true;
  if (editing) form.inputs.id.readOnly = true;   // a job's id is its name: a new id is a new job
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'save' }, editing ? 'Save job' : 'Create job');
  const loading = h('p', { class: 'muted', hidden: !editing, 'data-testid': 'edit-loading' }, 'Loading…');

  /** Where the definition goes, and what it is: the form's job, or the editor's text as typed. */
  function request() {
    if (form.current === 'form') {
      const job = form.definition();
      return editing ? { method: 'PUT', path: jobPath(editing), body: job, id: editing } : { method: 'POST', path: '/v1/jobs', body: job, id: job.id };
    }
    const text = form.editor.value;
    let parsed;
    try { parsed = JSON.parse(text); } catch { /* sent as typed: the API's 400 says where */ }
    const d = dialectOf(parsed);
    if (d?.dialect === 'chronos') return { method: 'POST', path: d.path, body: text, id: d.id };
    if (editing && (!d || d.id === editing)) return { method: 'PUT', path: jobPath(editing), body: text, id: editing };
    return { method: 'POST', path: '/v1/jobs', body: text, id: d?.id };
  }

  async function save(e) {
    e.preventDefault();
    form.clearProblems();
    submit.disabled = true;
    const r = request();
    const answer = await callSafe(r.method, r.path, r.body);
    submit.disabled = false;
    if (!answer.ok) return form.show(problemOf(answer));
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
    if (!a.ok) return form.formProblem.replaceChildren(problemView(problemOf(a), 'load-problem'));
    form.base = definitionOf(a.body);
    form.fill(form.base);
    const c = chronos.ok && Array.isArray(chronos.body) ? chronos.body.find((j) => j.name === editing) : undefined;
    if (c?.schedule) {
      const def = { ...c };
      for (const k of CHRONOS_STATS) delete def[k];
      form.editor.value = JSON.stringify(def, null, 2);
      form.showTab('json');
      form.jsonProblem.replaceChildren(h('p', { class: 'muted', 'data-testid': 'chronos-note' }, `${editing} runs on a Chronos schedule: it is edited as Chronos JSON.`));
    }
  }

  return {
    title: editing ? `Edit ${editing}` : 'New job',
    mount(root) {
      root.append(
        viewHead(editing ? `Edit ${editing}` : 'New job',
          h('a', { href: editing ? `#/job/${encodeURIComponent(editing)}` : '#/jobs' }, editing ? `← ${editing}` : '← all jobs')),
        loading,
        h('form', { novalidate: true, 'data-testid': 'job-form', onsubmit: (e) => void save(e) },
          form.parts,
          h('div', { class: 'form-actions' }, submit, ' ', h('a', { href: '#/jobs' }, 'Cancel'))));
      form.showTab('form');
      if (editing) void load(); else { form.fill(form.base); form.inputs.id.focus(); }
    },
    update() { /* the form is the user's: refreshes leave it alone */ },
  };
}
