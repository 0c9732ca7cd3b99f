// The inbox: fields two devices edited at once (who, when, pick a value)
// and changes the hub refused (with its reason).
import { changed, state } from '../lib/app';
import { h, mount } from '../lib/dom';
import { dateTime } from '../lib/format';
import { t, tr } from '../lib/i18n';

const FIELD_NAMES: Record<string, [string, string]> = {
  'applicant.full_name': ['Họ và tên người nộp', 'Applicant name'],
  'applicant.id_number': ['Số CCCD', 'ID number'],
  'applicant.phone': ['Số điện thoại', 'Phone'],
  'applicant.address': ['Địa chỉ', 'Address'],
  channel: ['Hình thức nộp', 'Channel'],
  sets: ['Số bộ hồ sơ', 'Sets'],
  'fee.amount_vnd': ['Lệ phí', 'Fee'],
  'fee.paid': ['Đã thu lệ phí', 'Fee paid'],
  'result_delivery.method': ['Hình thức trả kết quả', 'Result delivery'],
  'result_delivery.place': ['Nơi trả kết quả', 'Result place'],
};

export function fieldName(path: string): string {
  const n = FIELD_NAMES[path];
  return n ? tr(n[0], n[1]) : path;
}

const REASONS: Record<string, [string, string]> = {
  not_found: ['Hồ sơ ngoài phạm vi của thiết bị', 'Outside this device’s scope'],
  foreign_actor: ['Thay đổi không do thiết bị này ký', 'Changes not signed by this device'],
  invalid: ['Dữ liệu không hợp lệ', 'Invalid data'],
  duplicate_code: ['Trùng mã hồ sơ', 'Duplicate dossier code'],
  too_large: ['Thay đổi quá lớn', 'Changes too large'],
};

export function reasonName(reason: string): string {
  const r = REASONS[reason];
  return r ? tr(r[0], r[1]) : reason;
}

export function inboxView(main: HTMLElement): void {
  main.dataset.live = 'true';
  const core = state.core!;
  const inbox = core.inbox();
  const redraw = () => inboxView(main);
  mount(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, t('navInbox'))),
    inbox.conflicts.length + inbox.refused.length === 0 ? h('p', { class: 'empty card' }, t('inboxEmpty')) : null,
    inbox.conflicts.length
      ? h('section', { class: 'card', id: 'conflicts' },
          h('h2', {}, `${t('conflictsTitle')} (${inbox.conflicts.length})`),
          h('p', { class: 'muted' }, t('conflictsHelp')),
          inbox.conflicts.map((c) =>
            h('div', { class: 'conflict' },
              h('h3', {}, h('a', { href: `#/ho-so/${c.doc_id}` }, c.code), ` · ${c.applicant} · ${fieldName(c.conflict.path)}`),
              h('ul', { class: 'values' },
                c.conflict.values.map((v, i) =>
                  h('li', {},
                    h('div', {},
                      h('strong', { class: 'value' }, v.value || '—'),
                      v.shown ? h('span', { class: 'badge grey' }, t('shownNow')) : null,
                      h('div', { class: 'muted small' }, `${c.who[i] ?? v.actor}${v.at ? ` · ${dateTime(v.at)}` : ''}`),
                    ),
                    h('button', {
                      class: 'secondary',
                      onclick: async () => {
                        core.editField(c.doc_id, c.conflict.path, v.value);
                        await changed();
                        redraw();
                      },
                    }, t('pickThis')),
                  ),
                ),
              ),
            ),
          ),
        )
      : null,
    inbox.refused.length
      ? h('section', { class: 'card', id: 'refused' },
          h('h2', {}, `${t('refusedTitle')} (${inbox.refused.length})`),
          h('p', { class: 'muted' }, t('refusedHelp')),
          inbox.refused.map((r) =>
            h('div', { class: 'refusal' },
              h('h3', {}, r.code ? h('a', { href: `#/ho-so/${r.doc_id}` }, r.code) : r.doc_id, r.applicant ? ` · ${r.applicant}` : ''),
              h('p', {}, h('strong', {}, `${t('reason')}: ${reasonName(r.reason)}. `), r.message),
              h('button', {
                class: 'secondary danger',
                onclick: async () => {
                  if (!confirm(t('discardConfirm'))) return;
                  core.discardRefused(r.doc_id);
                  await changed();
                  redraw();
                },
              }, t('discard')),
            ),
          ),
        )
      : null,
  );
}
