// A definition (an app, a job) edited by form or as JSON, in two tabs. Switching carries the
// definition across, and what the form does not show passes through the JSON it came from
// (`base`). The API validates: a refusal's details are shown next to the field their JSON
// path belongs to (or above the form), or under the editor in the JSON tab, where a 400
// (JSON that did not parse) also moves the cursor to where parsing stopped. Shared by the
// frameworks' web UIs, served to each under /ui/shared/editor.js.
import { h } from '/ui/shared/dom.js';
import { problemView as sharedProblemView } from '/ui/shared/widgets.js';

/**
 * new FormJsonEditor(o):
 *   fields       the form's field names (an input each, `field-<name>`, and its error, `error-<name>`)
 *   inputs       name → { label, type?, placeholder?, hint?, required?, min?, step?, options?: [[value, label]] }
 *   fieldsets    [[legend, [names]]]: how the form groups its fields
 *   fieldOfPath  (path) → the field a refusal's JSON path belongs to, or undefined
 *   toDefinition (values, base) → the definition the form's values (text; a checkbox's 'true' or 'false') make over base
 *   toForm       (definition) → the form's values
 *   accept       (parsed JSON) → why it cannot go into the form (not an object, say), or undefined
 *   name         'app', 'job': the editor's id (`<name>-json`) and label
 *   jsonNote     what the JSON tab says above the editor
 *   problemView  (problem, testid) → how the UI shows a refusal (default /ui/shared/widgets.js's)
 *   base         the definition the form starts over (default {})
 * `parts` go inside the view's <form>; `current` is 'form' or 'json'.
 */
export class FormJsonEditor {
  constructor(o) {
    this.o = o;
    this.base = o.base ?? {};
    this.current = 'form';
    this.problemView = o.problemView ?? sharedProblemView;
    this.inputs = {};
    this.errors = {};
    for (const name of o.fields) {
      this.errors[name] = h('span', { class: 'field-error', id: `error-${name}`, 'data-testid': `error-${name}`, hidden: true });
      this.inputs[name] = fieldInput(name, o.inputs[name]);
    }
    this.formProblem = h('div', { 'data-testid': 'form-problem' });
    this.jsonProblem = h('div', { 'data-testid': 'json-problem' });
    this.editor = h('textarea', { id: `${o.name}-json`, rows: 22, spellcheck: 'false', 'aria-label': `${capital(o.name)} definition (JSON)`, 'data-testid': 'json-editor' });
    this.tabs = { form: this.tab('form', 'Form'), json: this.tab('json', 'JSON') };
    this.panels = {
      form: h('div', { id: 'panel-form', role: 'tabpanel', 'aria-labelledby': 'tab-form' }, this.formProblem,
        o.fieldsets.map(([legend, names]) => this.fieldset(legend, names))),
      json: h('div', { id: 'panel-json', role: 'tabpanel', 'aria-labelledby': 'tab-json', hidden: true },
        h('p', { class: 'muted' }, o.jsonNote), this.editor, this.jsonProblem),
    };
    this.parts = [h('div', { role: 'tablist', 'aria-label': 'Edit as' }, this.tabs.form, this.tabs.json), this.panels.form, this.panels.json];
  }

  fieldset(legend, names) {
    const spec = this.o.inputs;
    return h('fieldset', {}, h('legend', {}, legend), names.map((name) => h('div', { class: `field${spec[name].type === 'checkbox' ? ' check' : ''}` },
      h('label', { for: `field-${name}` }, spec[name].label), this.inputs[name],
      spec[name].hint ? h('small', { id: `hint-${name}`, class: 'hint' }, spec[name].hint) : null,
      this.errors[name])));
  }

  tab(name, label) {
    return h('button', {
      type: 'button', role: 'tab', id: `tab-${name}`, 'aria-controls': `panel-${name}`, 'data-testid': `tab-${name}`,
      onclick: () => this.select(name),
      // The tab pattern: arrows move between the two tabs.
      onkeydown: (e) => {
        if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
        const other = name === 'form' ? 'json' : 'form';
        this.select(other);
        if (this.current === other) this.tabs[other].focus();
      },
    }, label);
  }

  /** The form's values, as text (a checkbox's 'true' or 'false'). */
  values() {
    return Object.fromEntries(this.o.fields.map((n) => [n, this.inputs[n].type === 'checkbox' ? String(this.inputs[n].checked) : this.inputs[n].value]));
  }

  /** The form's definition: its values over `base`. */
  definition() {
    return this.o.toDefinition(this.values(), this.base);
  }

  /** Shows `definition` in the form. */
  fill(definition) {
    const v = this.o.toForm(definition);
    for (const n of this.o.fields) {
      if (this.inputs[n].type === 'checkbox') this.inputs[n].checked = v[n] !== 'false';
      else this.inputs[n].value = v[n];
    }
  }

  /** Switching carries the definition across; JSON that does not parse, or that the form cannot take, keeps you in the editor. */
  select(name) {
    if (name === this.current) return;
    if (name === 'json') {
      this.editor.value = JSON.stringify(this.definition(), null, 2);
    } else {
      let parsed;
      try { parsed = JSON.parse(this.editor.value); } catch (err) {
        return this.jsonProblem.replaceChildren(this.problemView({ message: `This is not JSON yet: ${err.message}`, details: [] }, 'json-parse'));
      }
      const refused = this.o.accept(parsed);
      if (refused) return this.jsonProblem.replaceChildren(this.problemView({ message: refused, details: [] }, 'json-parse'));
      this.base = parsed;
      this.fill(parsed);
    }
    this.clearProblems();
    this.showTab(name);
  }

  showTab(name) {
    this.current = name;
    for (const [n, t] of Object.entries(this.tabs)) {
      t.setAttribute('aria-selected', String(n === name));
      t.tabIndex = n === name ? 0 : -1;
      this.panels[n].hidden = n !== name;
    }
  }

  clearProblems() {
    this.formProblem.replaceChildren();
    this.jsonProblem.replaceChildren();
    for (const n of this.o.fields) {
      this.errors[n].hidden = true;
      this.errors[n].textContent = '';
      this.inputs[n].removeAttribute('aria-invalid');
    }
  }

  /** The refusal, where it belongs: by field in the form, as a list under the editor. */
  show(p) {
    if (this.current === 'json') {
      this.jsonProblem.replaceChildren(this.problemView(p, 'json-problem-detail'));
      return this.pointAtParseError(p);
    }
    const rest = [];
    for (const d of p.details) {
      const field = this.o.fieldOfPath(d.path);
      if (!field) { rest.push(d); continue; }
      this.errors[field].hidden = false;
      this.errors[field].textContent = [this.errors[field].textContent, ...d.errors].filter(Boolean).join('; ');
      this.inputs[field].setAttribute('aria-invalid', 'true');
    }
    if (rest.length > 0 || p.details.length === 0) this.formProblem.replaceChildren(this.problemView({ ...p, details: rest }, 'form-problem-detail'));
    const first = this.o.fields.find((n) => !this.errors[n].hidden);
    if (first) this.inputs[first].focus();
  }

  /** A 400 names the character where parsing stopped: put the cursor there and say the line. */
  pointAtParseError(p) {
    const at = p.status === 400 ? /position (\d+)/.exec(p.details.flatMap((d) => d.errors).join(' ')) : null;
    if (!at) return;
    const pos = Math.min(Number(at[1]), this.editor.value.length);
    const before = this.editor.value.slice(0, pos).split('\n');
    this.jsonProblem.append(h('p', { class: 'muted', 'data-testid': 'json-position' }, `Line ${before.length}, column ${(before.at(-1) ?? '').length + 1}.`));
    this.editor.focus();
    this.editor.setSelectionRange(pos, pos);
  }
}

/** A number field's text as JSON: empty is undefined (the default), and what is not a number is sent as typed, so the API's own message says what is wrong with it. */
export function formNumber(text) {
  const t = String(text).trim();
  if (t === '') return undefined;
  const n = Number(t);
  return Number.isFinite(n) ? n : t;
}

/** An <input> (or, with `options`, a <select>) for one field, described by its error and hint. */
function fieldInput(name, o) {
  const common = { id: `field-${name}`, name, 'data-testid': `field-${name}`, 'aria-describedby': `error-${name}${o.hint ? ` hint-${name}` : ''}` };
  return o.options
    ? h('select', common, o.options.map(([value, label]) => h('option', { value }, label)))
    : h('input', { ...common, type: o.type ?? 'text', placeholder: o.placeholder, min: o.min, step: o.step, required: o.required, autocomplete: 'off', spellcheck: 'false' });
}

const capital = (s) => s.charAt(0).toUpperCase() + s.slice(1);
