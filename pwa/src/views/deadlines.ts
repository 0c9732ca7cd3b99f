// Dossiers past their appointment and those due within two working days,
// computed on this device from the working calendar.
import { state } from '../lib/app';
import { h, mount } from '../lib/dom';
import { t } from '../lib/i18n';
import { dossierList } from './rows';

export function deadlinesView(main: HTMLElement): void {
  main.dataset.live = 'true';
  const d = state.core!.deadlines();
  mount(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, t('navDeadlines'))),
    h('section', { class: 'card', id: 'overdue' }, h('h2', {}, `${t('overdueTitle')} (${d.overdue.length})`), dossierList(d.overdue, t('nothingOverdue'))),
    h('section', { class: 'card', id: 'due-soon' }, h('h2', {}, `${t('dueSoonTitle')} (${d.due_soon.length})`), dossierList(d.due_soon, t('nothingDueSoon'))),
  );
}
