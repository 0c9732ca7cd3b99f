// The counter's home: one search box that finds a dossier by code, name
// (diacritics optional), ID number or phone, and the dossiers on this device.
import { state } from '../lib/app';
import { h, mount } from '../lib/dom';
import { t } from '../lib/i18n';
import { dossierList } from './rows';

let lastQuery = '';

export function counterView(main: HTMLElement): void {
  const core = state.core!;
  main.dataset.live = 'true';
  const results = h('div', { id: 'results' });
  const count = h('p', { class: 'muted small', id: 'result-count' });
  const show = (q: string) => {
    lastQuery = q;
    const rows = core.search(q);
    count.textContent = t('countShown', { n: rows.length });
    mount(results, dossierList(rows, q.trim() ? t('noMatch', { q }) : t('noDossiers')));
  };
  const input = h('input', {
    type: 'search',
    id: 'search',
    class: 'search',
    placeholder: t('searchPlaceholder'),
    value: lastQuery,
    autocomplete: 'off',
    oninput: (e: Event) => show((e.target as HTMLInputElement).value),
  });
  const deadlines = core.deadlines();
  const inbox = core.inbox();
  mount(
    main,
    h('div', { class: 'page-head' },
      h('h1', {}, t('navCounter')),
      h('a', { class: 'button primary', href: '#/tiep-nhan', id: 'new-dossier' }, `+ ${t('navReceive')}`),
    ),
    h('div', { class: 'tiles' },
      h('a', { class: `tile ${deadlines.overdue.length ? 'red' : ''}`, href: '#/han' }, h('strong', {}, String(deadlines.overdue.length)), h('span', {}, t('overdueTitle'))),
      h('a', { class: `tile ${deadlines.due_soon.length ? 'amber' : ''}`, href: '#/han' }, h('strong', {}, String(deadlines.due_soon.length)), h('span', {}, t('dueSoonTile'))),
      h('a', { class: `tile ${inbox.conflicts.length + inbox.refused.length ? 'amber' : ''}`, href: '#/hop-thu' }, h('strong', {}, String(inbox.conflicts.length + inbox.refused.length)), h('span', {}, t('navInbox'))),
    ),
    state.restoreNote ? h('p', { class: 'notice' }, state.restoreNote) : null,
    h('div', { class: 'search-box' }, input),
    count,
    results,
  );
  show(lastQuery);
}
