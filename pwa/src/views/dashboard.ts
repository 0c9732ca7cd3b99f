// The leader's dashboard: report 06a for the unit (and the units below, for
// a higher level) computed on this device by the core's statistics, so it
// works offline and says "as of" when the hub is out of reach. Every figure
// opens the list of its dossiers.
import { openReport } from '../lib/api';
import { state } from '../lib/app';
import type { DossierRow } from '../lib/core';
import { h, mount } from '../lib/dom';
import { dateTime } from '../lib/format';
import { lang, named, t, tr } from '../lib/i18n';
import { dossierList } from './rows';

interface Figures { [column: string]: number | null }
interface Row { key: string; figures: Figures; dossiers?: Record<string, string[]> }
interface Statistics {
  summary: { period: { from: string; to: string }; total: Row; by_unit: Row[]; by_field: Row[]; by_clerk: Row[] };
  columns: { id: string; vi: string; en: string }[];
  on_time_rate: { vi: string; en: string };
  unit_names: Record<string, string>;
  field_names: Record<string, { vi: string; en: string }>;
}

/** The figures on the cards, in the order a leader reads them. */
const CARDS = ['received', 'in_progress', 'within_deadline', 'overdue', 'early', 'on_time', 'late'];

function isoDay(ms: number): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Ho_Chi_Minh', year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(ms));
}

function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1).replace('.', lang() === 'vi' ? ',' : '.')}%`;
}

let period: { from: string; to: string } | null = null;

export function dashboardView(main: HTMLElement, [drill]: string[]): void {
  main.dataset.live = 'true';
  const core = state.core!;
  const now = Date.now();
  period ??= { from: `${isoDay(now).slice(0, 4)}-01-01`, to: isoDay(now) };
  const stats = JSON.parse(core.raw.statistics(period.from, period.to)) as Statistics;
  const column = (id: string) => stats.columns.find((c) => c.id === id)!;
  const total = stats.summary.total;
  const status = core.status();
  const live = status.connected && status.phase === 'live';
  const asOf = live ? t('asOf', { t: dateTime(now) }) : t('asOfOffline', { t: state.lastSync ? dateTime(state.lastSync) : '—' });

  const from = h('input', { type: 'date', value: period.from, id: 'period-from' });
  const to = h('input', { type: 'date', value: period.to, id: 'period-to' });
  const link = (group: string, key: string, col: string) => `#/bao-cao/${group}/${encodeURIComponent(key || '_')}/${col}`;

  const table = (title: string, group: string, rows: Row[], name: (key: string) => string) =>
    h('section', { class: 'card table-card' },
      h('h2', {}, title),
      h('div', { class: 'scroll' },
        h('table', { class: 'figures' },
          h('thead', {}, h('tr', {}, h('th', {}, ''), CARDS.map((c) => h('th', {}, named(column(c)))), h('th', {}, lang() === 'vi' ? stats.on_time_rate.vi : stats.on_time_rate.en))),
          h('tbody', {},
            rows.map((r) =>
              h('tr', {},
                h('th', {}, name(r.key)),
                CARDS.map((c) => h('td', {}, (r.figures[c] ?? 0) > 0 ? h('a', { href: link(group, r.key, c) }, String(r.figures[c])) : '0')),
                h('td', {}, percent(r.figures.on_time_rate)),
              ),
            ),
          ),
        ),
      ),
    );

  let drillDown: HTMLElement | null = null;
  if (drill) {
    const [group, key, col] = drill.split('/');
    const rows: Row[] = group === 'unit' ? stats.summary.by_unit : group === 'field' ? stats.summary.by_field : group === 'clerk' ? stats.summary.by_clerk : [total];
    const row = rows.find((r) => r.key === (key === '_' ? '' : decodeURIComponent(key)));
    const codes = row?.dossiers?.[col] ?? [];
    const found: DossierRow[] = codes.flatMap((code) => core.search(code).filter((r) => r.code === code));
    drillDown = h('section', { class: 'card', id: 'drill-down' },
      h('h2', {}, `${named(column(col))}: ${codes.length}`),
      dossierList(found, tr('Không có hồ sơ.', 'No dossiers.')),
      h('a', { href: '#/bao-cao', class: 'button ghost' }, `← ${t('back')}`),
    );
  }

  // The official files come from the hub, which holds the whole subtree.
  const exportError = h('p', { class: 'form-error', role: 'alert', id: 'export-error' });
  const range = `from=${period.from}&to=${period.to}`;
  const exportButton = (id: string, label: string, path: string) =>
    h('button', {
      class: 'secondary', type: 'button', id, disabled: !status.connected,
      onclick: () => {
        exportError.textContent = '';
        openReport(path).catch((e: unknown) => { exportError.textContent = e instanceof Error ? e.message : String(e); });
      },
    }, label);
  const exports = h('section', { class: 'card', id: 'exports' },
    h('h2', {}, tr('Báo cáo và sổ theo dõi (từ máy chủ)', 'Reports and registers (from the hub)')),
    status.connected ? null : h('p', { class: 'muted small' }, tr('Cần kết nối với máy chủ để tải.', 'Needs the hub to be reachable.')),
    h('div', { class: 'actions' },
      exportButton('export-06a-print', tr('In báo cáo 06a', 'Print report 06a'), `/api/reports/06a?${range}&format=html`),
      exportButton('export-06a-xlsx', tr('Báo cáo 06a (XLSX)', 'Report 06a (XLSX)'), `/api/reports/06a?${range}&format=xlsx`),
      exportButton('export-06a-csv', tr('Báo cáo 06a (CSV)', 'Report 06a (CSV)'), `/api/reports/06a?${range}&format=csv`),
      exportButton('export-late-xlsx', tr('Hồ sơ quá hạn (XLSX)', 'Late dossiers (XLSX)'), `/api/reports/late?${range}&format=xlsx`),
      exportButton('export-form07', tr('In sổ theo dõi (Mẫu 07)', 'Print the register (Form 07)'), `/api/reports/form07?${range}&format=html`),
    ),
    exportError,
  );

  mount(
    main,
    h('div', { class: 'page-head' },
      h('h1', {}, t('dashboardTitle')),
      h('span', { class: `as-of ${live ? '' : 'stale'}`, id: 'as-of' }, asOf),
    ),
    h('form', { class: 'period', onsubmit: (e: Event) => { e.preventDefault(); period = { from: from.value, to: to.value }; dashboardView(main, []); } },
      h('label', {}, tr('Từ ngày', 'From'), from), h('label', {}, tr('Đến ngày', 'To'), to),
      h('button', { class: 'secondary', type: 'submit' }, tr('Xem', 'Show')),
    ),
    drillDown,
    h('div', { class: 'cards', id: 'figures' },
      CARDS.map((c) =>
        h('a', { class: `figure ${c}`, href: link('total', '', c), 'data-column': c },
          h('strong', {}, String(total.figures[c] ?? 0)), h('span', {}, named(column(c)))),
      ),
      h('div', { class: 'figure rate' }, h('strong', { id: 'on-time-rate' }, percent(total.figures.on_time_rate)), h('span', {}, lang() === 'vi' ? stats.on_time_rate.vi : stats.on_time_rate.en)),
    ),
    stats.summary.by_unit.length > 1 ? table(tr('Theo đơn vị', 'By unit'), 'unit', stats.summary.by_unit, (k) => stats.unit_names[k] ?? k) : null,
    table(tr('Theo lĩnh vực', 'By field'), 'field', stats.summary.by_field, (k) => named(stats.field_names[k]) || k),
    table(tr('Theo cán bộ tiếp nhận', 'By clerk'), 'clerk', stats.summary.by_clerk, (k) => k),
    exports,
  );
}
