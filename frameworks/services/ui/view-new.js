// #/new: create an app with a form or as JSON (/ui/shared/editor.js). The API validates: its
// 422 details are shown next to the field their path belongs to (or above the form), in the
// JSON tab under the editor; a 400 (bad JSON) and a 409 (the id is taken, or a deployment is
// in the way) too.
import { callSafe, problemOf } from './api.js';
import { h } from '/ui/shared/dom.js';
import { FormJsonEditor } from '/ui/shared/editor.js';
import { viewHead } from '/ui/shared/widgets.js';
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
  const form = new FormJsonEditor({
    fields: FIELDS, inputs: INPUTS, fieldOfPath, toDefinition: formToApp, toForm: appToForm, name: 'app', problemView,
    fieldsets: [['App', ['id', 'cmd', 'image']], ['Resources', ['instances', 'cpus', 'mem']], ['Network and health', ['port', 'hcPath', 'hcInterval', 'hcDelay', 'hcGrace']]],
    accept: (d) => (typeof d !== 'object' || d === null || Array.isArray(d) ? 'An app definition is a JSON object.' : undefined),
    jsonNote: 'A Marathon app definition. Fields the form does not show (env, labels, constraints, …) are kept when you switch back.',
  });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'create' }, 'Create app');

  async function create(e) {
    e.preventDefault();
    form.clearProblems();
    submit.disabled = true;
    const answer = await callSafe('POST', '/v2/apps', form.current === 'json' ? form.editor.value : form.definition());
    submit.disabled = false;
    if (!answer.ok) return form.show(problemOf(answer));
    await ctx.live.refresh();
    ctx.flash(`Created ${answer.body.id}: deployment ${answer.body.deployments?.[0]?.id ?? ''}`);
    ctx.go(`#/app${answer.body.id}`);
  }

  return {
    title: 'New app',
    mount(root) {
      root.append(
        viewHead('New app', h('a', { href: '#/apps' }, '← all apps')),
        h('form', { novalidate: true, 'data-testid': 'new-app-form', onsubmit: (e) => void create(e) },
          form.parts,
          h('div', { class: 'form-actions' }, submit, ' ', h('a', { href: '#/apps' }, 'Cancel'))));
      form.showTab('form');
      form.inputs.id.focus();
    },
    update() { /* the form is the user's: refreshes leave it alone */ },
  };
}
