// A list of dossiers, as every screen shows them: code, applicant,
// procedure, status, appointment, and what needs attention.
import type { DossierRow } from '../lib/core';
import { h } from '../lib/dom';
import { date, dateTime } from '../lib/format';
import { named, t } from '../lib/i18n';

export function badges(row: DossierRow): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (row.timeliness === 'overdue') out.push(h('span', { class: 'badge red' }, t('overdueBadge')));
  if (row.clock_stopped) out.push(h('span', { class: 'badge amber' }, t('waitingBadge')));
  if (row.pending) out.push(h('span', { class: 'badge grey', title: t('notSynced') }, t('notSynced')));
  if (row.refused) out.push(h('span', { class: 'badge red' }, t('refusedBadge')));
  if (row.conflicts > 0) out.push(h('span', { class: 'badge amber' }, t('conflictBadge')));
  return out;
}

export function dossierList(rows: DossierRow[], empty: string): HTMLElement {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'ul',
    { class: 'dossiers' },
    rows.map((r) =>
      h(
        'li',
        {},
        h(
          'a',
          { href: `#/ho-so/${r.doc_id}`, class: 'dossier-row', 'data-code': r.code },
          h('div', { class: 'row-main' },
            h('span', { class: 'code' }, r.code),
            h('span', { class: 'applicant' }, r.applicant),
            h('span', { class: 'procedure' }, r.procedure),
          ),
          h('div', { class: 'row-side' },
            h('span', { class: `status s${r.status?.id ?? ''}` }, named(r.stage)),
            h('span', { class: 'due', title: dateTime(r.effective_due_at ?? r.due_at) }, `${t('appointment')}: ${date(r.effective_due_at ?? r.due_at)}`),
            h('span', { class: 'badges' }, badges(r)),
          ),
        ),
      ),
    ),
  );
}
