// One dossier: its facts, its appointment, the stage log, and what the
// clerk can do next — record a stage, ask for a supplement (Form 02) and
// record its arrival, return the result, print the forms, edit details.
import { openReport } from '../lib/api';
import { changed, state } from '../lib/app';
import { CoreError, type DossierView } from '../lib/core';
import { h, mount } from '../lib/dom';
import { date, dateTime, longDate, money, time } from '../lib/format';
import { named, t, tr } from '../lib/i18n';
import { fieldName, reasonName } from './inbox';
import { badges } from './rows';

/** Stages offered as their own buttons rather than in the list. */
const OWN_BUTTONS = ['supplement_requested', 'supplement_received', 'result_returned'];

export function dossierView(main: HTMLElement, [docId]: string[]): void {
  main.dataset.live = 'true';
  const core = state.core!;
  const v = core.dossier(docId);
  const d = v.dossier;
  const error = h('p', { class: 'form-error', role: 'alert' });
  const act = async (f: () => DossierView) => {
    error.textContent = '';
    try {
      f();
      await changed();
      dossierView(main, [docId]);
    } catch (e) {
      error.textContent = e instanceof CoreError ? e.message : String(e);
    }
  };

  const next = v.next_stages.filter((s) => !OWN_BUTTONS.includes(s.id));
  const stageSelect = h('select', { id: 'next-stage' }, next.map((s) => h('option', { value: s.id }, named(s))));
  const stageNote = h('input', { id: 'stage-note', placeholder: t('stageNote') });
  const canSupplement = v.next_stages.some((s) => s.id === 'supplement_requested');
  const canArrive = v.next_stages.some((s) => s.id === 'supplement_received');
  const canReturn = !v.row.closed && (v.next_stages.some((s) => s.id === 'result_returned') || v.next_stages.some((s) => s.id === 'done'));
  const missing = h('textarea', { id: 'missing-docs', rows: 3, placeholder: t('missingDocs') });

  mount(
    main,
    h('div', { class: 'page-head' },
      h('a', { href: '#/', class: 'ghost button' }, `← ${t('back')}`),
      h('h1', { class: 'code', id: 'dossier-code' }, v.row.code),
      h('span', { class: `status big s${v.row.status?.id ?? ''}`, id: 'dossier-stage' }, named(v.row.stage)),
      h('span', { class: 'badges' }, badges(v.row)),
    ),
    v.refusal
      ? h('p', { class: 'notice red' }, h('strong', {}, `${t('refusedBadge')}: ${reasonName(v.refusal.reason)}. `), v.refusal.message, ' ', h('a', { href: '#/hop-thu' }, t('navInbox')))
      : null,
    v.conflicts.length
      ? h('p', { class: 'notice amber' }, `${t('conflictBadge')}: ${v.conflicts.map((c) => fieldName(c.conflict.path)).join(', ')} · `, h('a', { href: '#/hop-thu' }, t('navInbox')))
      : null,
    h('div', { class: 'two-col' },
      h('section', { class: 'card' },
        h('dl', { class: 'facts' },
          h('dt', {}, t('applicant')), h('dd', {}, h('strong', {}, d.applicant.full_name)),
          h('dt', {}, t('idNumber')), h('dd', {}, d.applicant.id_number),
          h('dt', {}, t('phone')), h('dd', {}, d.applicant.phone ?? '—'),
          h('dt', {}, t('address')), h('dd', {}, d.applicant.address || '—'),
          h('dt', {}, t('procedure')), h('dd', {}, d.procedure.name, h('div', { class: 'muted small' }, `${d.procedure.id} · ${named(v.field_name)}`)),
          h('dt', {}, t('receivedAt')), h('dd', {}, dateTime(d.received_at)),
          h('dt', {}, t('appointment')), h('dd', {}, h('strong', {}, `${time(d.due_at)} ${longDate(d.due_at)}`),
            v.row.effective_due_at && v.row.effective_due_at !== d.due_at ? h('div', { class: 'muted small' }, t('effectiveDue', { d: dateTime(v.row.effective_due_at) })) : null,
            v.row.clock_stopped ? h('div', { class: 'muted small' }, t('clockStopped')) : null),
          h('dt', {}, t('fee')), h('dd', {}, d.fee.amount_vnd ? `${money(d.fee.amount_vnd)} · ${d.fee.paid ? t('feePaid') : tr('chưa thu', 'not collected')}` : t('free')),
        ),
        h('h3', {}, t('documentsHanded')),
        h('ol', { class: 'doc-list' }, d.documents.map((x) => h('li', {}, `${x.name} — ${t(x.form)} × ${x.count}`))),
        h('div', { class: 'actions' },
          h('a', { class: 'button secondary', href: `#/in/01/${docId}`, id: 'print-01' }, t('printForm01')),
          v.supplement ? h('a', { class: 'button secondary', href: `#/in/02/${docId}`, id: 'print-02' }, t('printForm02')) : null,
          // The control sheet is the hub's: it lists hand-offs at every level.
          h('button', {
            class: 'secondary', type: 'button', id: 'print-06', disabled: !core.status().connected,
            onclick: () => { openReport(`/api/reports/form06/${encodeURIComponent(v.row.code)}?format=html`).catch((e: unknown) => { error.textContent = e instanceof Error ? e.message : String(e); }); },
          }, tr('Phiếu kiểm soát (Mẫu 06)', 'Control sheet (Form 06)')),
        ),
      ),
      h('section', { class: 'card' },
        v.row.closed
          ? h('p', { class: 'notice' }, t('closed'))
          : h('div', { class: 'stage-actions' },
              next.length
                ? h('form', { class: 'inline', onsubmit: (e: Event) => { e.preventDefault(); void act(() => core.recordStage(docId, stageSelect.value, stageNote.value)); } },
                    h('label', {}, t('recordStage'), stageSelect), stageNote,
                    h('button', { class: 'primary', type: 'submit', id: 'record-stage' }, t('record')))
                : null,
              canSupplement
                ? h('details', { class: 'supplement' },
                    h('summary', {}, t('requestSupplement')),
                    missing,
                    h('button', { class: 'secondary', id: 'request-supplement', onclick: () => void act(() => core.requestSupplement(docId, missing.value.split('\n'), '')) }, t('requestSupplement')))
                : null,
              canArrive ? h('button', { class: 'primary', id: 'supplement-arrived', onclick: () => void act(() => core.supplementArrived(docId, '')) }, t('supplementArrived')) : null,
              canReturn ? h('button', { class: 'primary', id: 'return-result', onclick: () => void act(() => core.returnResult(docId, '')) }, t('returnResult')) : null,
              error,
            ),
        h('h2', {}, t('stageLog')),
        h('ol', { class: 'timeline', id: 'timeline' },
          v.timeline.map((e) =>
            h('li', { class: e.overruled ? 'overruled' : '' },
              h('strong', {}, named(e.stage)),
              h('span', { class: 'muted small' }, ` ${dateTime(e.at)} · ${t('by', { u: e.user })} · ${e.unit}`),
              e.missing.length ? h('ul', { class: 'note' }, e.missing.map((m) => h('li', {}, m))) : null,
              e.note ? h('div', { class: 'note' }, e.note) : null,
              e.overruled ? h('div', { class: 'muted small' }, t('overruled', { w: e.overruled })) : null,
            ),
          ),
        ),
        h('p', { class: 'muted small' }, `${tr('Hạn ban đầu', 'Original due date')}: ${date(d.due_at)}`),
      ),
    ),
  );
}
