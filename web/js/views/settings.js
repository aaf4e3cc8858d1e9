// Project settings: the project's name, how long its runs are kept, its signal thresholds, its
// redaction rules, erasing a user's runs, and (for admins) its API keys and members. Retention is
// applied by the server (a pass at start, then hourly), not by this page: saving only sets the
// number. Signals, redaction, erasure, keys and members have their own modules
// (settings-signals.js, settings-redaction.js, settings-erase.js, settings-keys.js,
// settings-members.js). `/settings?erase=ID` opens with that user counted.
//
// Signed in as a person who is not an admin of the project, the settings are shown but cannot be
// changed, and the page says why (the server would refuse anyway). With a key, everything is
// offered and a refusal shows the server's message.
import { h, replace } from '../dom.js';
import * as api from '../api.js';
import * as session from '../session.js';
import { refusal } from '../roles.js';
import { errorState, loading } from '../components/states.js';
import { retentionBody, retentionLabel } from './settings-data.js';
import { redactionSection } from './settings-redaction.js';
import { signalsSection } from './settings-signals.js';
import { eraseSection } from './settings-erase.js';
import { keysSection } from './settings-keys.js';
import { membersSection } from './settings-members.js';

export function mount(root, ctx) {
  ctx.setTitle('Settings');
  const controller = new AbortController();
  const body = h('div', { class: 'settings-body' }, loading('Loading the project…'));
  replace(root, h('section', { class: 'settings-page', 'data-testid': 'settings' },
    h('div', { class: 'page-header' }, h('h1', null, 'Project settings')),
    body));
  load();

  async function load() {
    replace(body, loading('Loading the project…'));
    try {
      const answer = await api.get('/project', null, { signal: controller.signal });
      render(answer.project);
    } catch (err) {
      if (err.name !== 'AbortError') replace(body, errorState(err, load));
    }
  }

  function render(project) {
    const admin = session.can('admin');
    const role = session.role();
    const current = h('strong', { 'data-testid': 'retention-current' });
    const problem = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'retention-error' });
    const saved = h('p', { class: 'settings-saved', role: 'status', 'aria-live': 'polite', 'data-testid': 'retention-saved' });
    const forever = h('input', { type: 'radio', name: 'retention', value: 'forever', 'data-testid': 'retention-forever' });
    const limited = h('input', { type: 'radio', name: 'retention', value: 'days', 'data-testid': 'retention-limited' });
    const days = h('input', {
      type: 'number', class: 'input settings-days', min: 1, max: 100000, step: 1, inputmode: 'numeric',
      'aria-label': 'Days to keep runs', 'data-testid': 'retention-days',
      // Typing a number means keeping runs that long.
      oninput: () => { limited.checked = true; },
    });
    const save = h('button', { type: 'submit', class: 'button primary', 'data-testid': 'retention-save', hidden: !admin }, 'Save');

    function show(p) {
      replace(current, retentionLabel(p.retention_days));
      forever.checked = p.retention_days == null;
      limited.checked = !forever.checked;
      days.value = p.retention_days == null ? '' : String(p.retention_days);
    }

    async function submit(event) {
      event.preventDefault();
      problem.textContent = '';
      saved.textContent = '';
      const { body: request, error } = retentionBody(forever.checked, days.value);
      if (error) {
        problem.textContent = error;
        days.focus();
        return;
      }
      save.disabled = true;
      try {
        const answer = await api.put('/project/retention', request, { signal: controller.signal });
        show(answer.project);
        saved.textContent = `Saved: runs are kept ${retentionLabel(answer.project.retention_days)}.`;
      } catch (err) {
        if (err.name === 'AbortError') return;
        problem.textContent = err.message; // the server's own words say what it takes
      } finally {
        save.disabled = false;
      }
    }

    show(project);
    replace(body,
      admin ? null : h('p', { class: 'settings-locked', 'data-testid': 'settings-locked' },
        refusal(role, project.name, 'admin', 'change its settings'), ' They are shown here as they are set.'),
      h('div', { class: 'card settings-card' },
        h('div', { class: 'card-header' }, h('h2', null, 'Project')),
        h('div', { class: 'card-body' },
          h('dl', { class: 'settings-facts' },
            h('dt', null, 'Name'), h('dd', { 'data-testid': 'project-name' }, project.name),
            h('dt', null, 'Keep runs'), h('dd', null, current),
            role ? [h('dt', null, 'Your role'), h('dd', { 'data-testid': 'settings-role' }, role)] : null))),
      h('form', { class: 'card settings-card', novalidate: true, onsubmit: submit, 'data-testid': 'retention-form' },
        h('div', { class: 'card-header' }, h('h2', null, 'Retention')),
        // A disabled fieldset disables every control in it: the form reads, but does not send.
        h('fieldset', { class: 'card-body settings-lock', disabled: !admin },
          h('fieldset', { class: 'settings-choice' },
            h('legend', null, 'Keep runs'),
            h('label', null, forever, 'Forever'),
            h('label', null, limited, 'For', days, 'days')),
          h('p', { class: 'muted settings-note' },
            'Runs that started longer ago than this are deleted by the server, with their spans, metric events and log records, in a pass when it starts and then every hour; this page does not delete anything itself. Deleted runs cannot be restored: export them first (Runs → Export) if you need them.'),
          problem,
          h('div', { class: 'settings-actions' }, save, saved))),
      signalsSection(controller.signal, { readOnly: !admin }),
      redactionSection(controller.signal, { readOnly: !admin }),
      // Deleting runs needs `write` (a member), not `admin`: the section says for itself.
      eraseSection(controller.signal, { userId: ctx.query?.get('erase') || '' }),
      admin ? [keysSection(controller.signal), membersSection(controller.signal, project.name)] : accessNote(project.name));
  }

  return { dispose: () => controller.abort() };
}

/** For a viewer or member: who manages keys and members, instead of controls they cannot use. */
function accessNote(project) {
  return h('div', { class: 'card settings-card', 'data-testid': 'access-note' },
    h('div', { class: 'card-header' }, h('h2', null, 'API keys and members')),
    h('div', { class: 'card-body' },
      h('p', { class: 'muted settings-about' },
        `An admin of “${project}” manages its API keys and who may sign in to it, with which role.`)));
}
