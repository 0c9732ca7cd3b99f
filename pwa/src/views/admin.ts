// Administration, on the hub (online): users and roles, units, device
// enrolment (one-time code and its QR), the procedure catalogue and the
// working calendar. Catalogue and calendar edits are republished to every
// device by the hub.
import { renderSVG } from 'uqr';
import { api, type Unit, type User } from '../lib/api';
import { h, mount, svg } from '../lib/dom';
import { date, dateTime, money } from '../lib/format';
import { t, tr } from '../lib/i18n';

export const ADMIN_TABS: [string, () => string][] = [
  ['nguoi-dung', () => tr('Người dùng', 'Users')],
  ['don-vi', () => tr('Đơn vị', 'Units')],
  ['thiet-bi', () => tr('Thiết bị', 'Devices')],
  ['thu-tuc', () => tr('Thủ tục', 'Procedures')],
  ['lich', () => tr('Lịch làm việc', 'Working calendar')],
];

const ROLES: Record<string, [string, string]> = {
  clerk: ['Cán bộ một cửa', 'Counter clerk'],
  specialist: ['Chuyên viên', 'Specialist'],
  leader: ['Lãnh đạo', 'Leader'],
  admin: ['Quản trị', 'Administrator'],
};

function role(r: string): string {
  const n = ROLES[r];
  return n ? tr(n[0], n[1]) : r;
}

function errorBox(): HTMLElement {
  return h('p', { class: 'form-error', role: 'alert' });
}

async function guard(box: HTMLElement, f: () => Promise<void>): Promise<void> {
  box.textContent = '';
  try {
    await f();
  } catch (e) {
    box.textContent = e instanceof Error ? e.message : String(e);
  }
}

export async function adminView(main: HTMLElement, [tab]: string[]): Promise<void> {
  main.dataset.live = 'false';
  const current = tab ?? 'nguoi-dung';
  const body = h('div', { id: 'admin-body' }, h('p', { class: 'muted' }, '…'));
  mount(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, t('navAdmin'))),
    h('h2', {}, ADMIN_TABS.find(([id]) => id === current)?.[1]() ?? ''),
    body,
  );
  try {
    // Depth-first, so each unit follows its parent in the lists.
    const all = await api<Unit[]>('GET', '/api/units');
    const units: Unit[] = [];
    const visit = (parent: string | null) => {
      for (const u of all.filter((x) => x.parent === parent).sort((a, b) => a.code.localeCompare(b.code))) {
        units.push(u);
        visit(u.code);
      }
    };
    visit(null);
    for (const u of all) if (!units.includes(u)) units.push(u);
    const unitOptions = (selected?: string) => units.map((u) => h('option', { value: u.code, selected: u.code === selected }, `${u.name} (${u.code})`));
    if (current === 'nguoi-dung') await users(body, unitOptions);
    else if (current === 'don-vi') units_(body, units, unitOptions);
    else if (current === 'thiet-bi') await devices(body, unitOptions);
    else if (current === 'thu-tuc') await procedures(body);
    else await calendar(body);
  } catch (e) {
    mount(body, h('p', { class: 'notice red' }, e instanceof Error ? e.message : String(e)));
  }
}

type Options = (selected?: string) => HTMLElement[];

async function users(body: HTMLElement, unitOptions: Options): Promise<void> {
  const list = await api<User[]>('GET', '/api/admin/users');
  const error = errorBox();
  const form = h('form', {
    class: 'card grid',
    onsubmit: (e: Event) => {
      e.preventDefault();
      const d = new FormData(form);
      void guard(error, async () => {
        await api('POST', '/api/admin/users', Object.fromEntries(d.entries()));
        await users(body, unitOptions);
      });
    },
  },
  h('h2', { class: 'span' }, tr('Thêm người dùng', 'Add a user')),
  h('label', {}, t('username'), h('input', { name: 'username', required: true })),
  h('label', {}, t('fullName'), h('input', { name: 'full_name', required: true })),
  h('label', {}, t('password'), h('input', { name: 'password', type: 'password', minlength: 8, required: true })),
  h('label', {}, tr('Vai trò', 'Role'), h('select', { name: 'role' }, Object.keys(ROLES).map((r) => h('option', { value: r }, role(r))))),
  h('label', { class: 'span' }, tr('Đơn vị', 'Unit'), h('select', { name: 'unit' }, unitOptions())),
  error,
  h('div', { class: 'actions span' }, h('button', { class: 'primary', type: 'submit' }, tr('Thêm', 'Add'))));
  mount(body,
    h('section', { class: 'card' }, h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, h('th', {}, t('username')), h('th', {}, t('fullName')), h('th', {}, tr('Vai trò', 'Role')), h('th', {}, tr('Đơn vị', 'Unit')))),
      h('tbody', {}, list.map((u) => h('tr', { class: u.active ? '' : 'inactive' }, h('td', {}, u.username), h('td', {}, u.full_name), h('td', {}, role(u.role)), h('td', {}, u.unit)))))),
    form);
}

function units_(body: HTMLElement, units: Unit[], unitOptions: Options): void {
  const error = errorBox();
  const children = (parent: string | null): HTMLElement[] =>
    units.filter((u) => u.parent === parent).map((u) => h('li', {}, h('span', {}, `${u.name} `, h('span', { class: 'muted small' }, `${u.code} · ${u.level}`)), h('ul', {}, children(u.code))));
  const roots = units.filter((u) => !u.parent || !units.some((p) => p.code === u.parent));
  const form = h('form', {
    class: 'card grid',
    onsubmit: (e: Event) => {
      e.preventDefault();
      const d = Object.fromEntries(new FormData(form).entries());
      void guard(error, async () => {
        const saved = await api<Unit[]>('POST', '/api/admin/units', d);
        units_(body, saved, unitOptions);
      });
    },
  },
  h('h2', { class: 'span' }, tr('Thêm hoặc sửa đơn vị', 'Add or edit a unit')),
  h('label', {}, tr('Mã đơn vị', 'Unit code'), h('input', { name: 'code', required: true })),
  h('label', {}, tr('Tên', 'Name'), h('input', { name: 'name', required: true })),
  h('label', {}, tr('Cấp', 'Level'), h('select', { name: 'level' }, ['commune', 'district', 'province'].map((l) => h('option', { value: l }, l)))),
  h('label', {}, tr('Trực thuộc', 'Parent'), h('select', { name: 'parent' }, unitOptions())),
  error,
  h('div', { class: 'actions span' }, h('button', { class: 'primary', type: 'submit' }, t('save'))));
  mount(body, h('section', { class: 'card' }, h('ul', { class: 'tree' }, roots.map((u) => h('li', {}, h('strong', {}, `${u.name} (${u.code})`), h('ul', {}, children(u.code)))))), form);
}

interface DeviceRow { device_id: string; name: string; unit: string; code_slots: number[]; created_at: number; revoked_at: number | null; last_seen_at: number | null }

async function devices(body: HTMLElement, unitOptions: Options): Promise<void> {
  const list = await api<DeviceRow[]>('GET', '/api/admin/devices');
  const error = errorBox();
  const result = h('div', { id: 'enrolment' });
  const form = h('form', {
    class: 'card grid',
    onsubmit: (e: Event) => {
      e.preventDefault();
      const d = new FormData(form);
      void guard(error, async () => {
        const made = await api<{ code: string; unit: string; name: string; expires_at: number }>('POST', '/api/admin/enrolments', {
          unit: d.get('unit'), name: d.get('name'), slots: Number(d.get('slots')) || 1,
        });
        mount(result, h('div', { class: 'card success enrolment' },
          h('div', { class: 'qr' }, svg(renderSVG(made.code, { border: 1 }))),
          h('div', {}, h('p', {}, tr('Mã đăng ký dùng một lần cho', 'One-time enrolment code for'), ` ${made.name} (${made.unit})`),
            h('p', { class: 'big-code', id: 'enrolment-code' }, made.code),
            h('p', { class: 'muted small' }, `${tr('Hết hạn', 'Expires')}: ${dateTime(made.expires_at)} · motcua enrol --code ${made.code}`))));
      });
    },
  },
  h('h2', { class: 'span' }, tr('Đăng ký thiết bị mới', 'Enrol a new device')),
  h('label', {}, tr('Tên thiết bị', 'Device name'), h('input', { name: 'name', required: true, placeholder: 'Máy tính bảng quầy 3' })),
  h('label', {}, tr('Đơn vị', 'Unit'), h('select', { name: 'unit' }, unitOptions())),
  h('label', {}, tr('Số dải mã hồ sơ', 'Code slots'), h('input', { name: 'slots', type: 'number', min: 0, max: 10, value: 1 })),
  error,
  h('div', { class: 'actions span' }, h('button', { class: 'primary', type: 'submit' }, tr('Tạo mã đăng ký', 'Create enrolment code'))));
  mount(body, form, result,
    h('section', { class: 'card' }, h('table', { class: 'list' },
      h('thead', {}, h('tr', {}, h('th', {}, tr('Thiết bị', 'Device')), h('th', {}, tr('Đơn vị', 'Unit')), h('th', {}, tr('Dải mã', 'Slots')), h('th', {}, tr('Lần cuối kết nối', 'Last seen')), h('th', {}, ''))),
      h('tbody', {}, list.map((d) => h('tr', { class: d.revoked_at ? 'inactive' : '' },
        h('td', {}, d.name, h('div', { class: 'muted small' }, d.device_id)), h('td', {}, d.unit), h('td', {}, d.code_slots.join(', ') || '—'),
        h('td', {}, d.last_seen_at ? dateTime(d.last_seen_at) : '—'),
        h('td', {}, d.revoked_at ? tr('đã thu hồi', 'revoked') : h('button', { class: 'secondary danger', onclick: () => void guard(error, async () => {
          if (!confirm(tr(`Thu hồi ${d.name}?`, `Revoke ${d.name}?`))) return;
          await api('POST', `/api/admin/devices/${d.device_id}/revoke`);
          await devices(body, unitOptions);
        }) }, tr('Thu hồi', 'Revoke')))))))));
}

interface Procedure { id: string; version: string; name: string; field: string; processing_time: { amount: number; unit: string }; fee: { amount_vnd: number }; required_documents: { name: string }[] }

async function procedures(body: HTMLElement): Promise<void> {
  const list = h('div', {});
  const editor = h('div', {});
  // The hub searches with the same Vietnamese rule as the counter.
  const show = async (q: string) => {
    const found = await api<{ procedures: Procedure[] }>('GET', `/api/admin/catalogue?q=${encodeURIComponent(q)}`);
    mount(list, h('ul', { class: 'choices' }, found.procedures.slice(0, 50).map((p) =>
      h('li', {}, h('button', { class: 'choice', onclick: () => edit(p) }, h('span', { class: 'choice-name' }, p.name),
        h('span', { class: 'muted small' }, `${p.id} · ${p.processing_time.amount} ${tr('ngày', 'days')} · ${p.fee.amount_vnd ? money(p.fee.amount_vnd) : t('free')}`))))));
  };
  const edit = (p: Procedure) => {
    const error = errorBox();
    const form = h('form', {
      class: 'card grid',
      onsubmit: (e: Event) => {
        e.preventDefault();
        const d = new FormData(form);
        void guard(error, async () => {
          await api('PUT', `/api/admin/catalogue/procedures/${encodeURIComponent(p.id)}`, {
            name: String(d.get('name')),
            processing_days: Number(d.get('days')),
            fee_vnd: Number(d.get('fee')),
            required_documents: String(d.get('docs')).split('\n'),
          });
          await procedures(body);
        });
      },
    },
    h('h2', { class: 'span' }, `${p.id} (${p.version})`),
    h('label', { class: 'span' }, tr('Tên thủ tục', 'Name'), h('textarea', { name: 'name', rows: 2 }, p.name)),
    h('label', {}, t('processingTime'), h('input', { name: 'days', type: 'number', min: 0, value: p.processing_time.amount })),
    h('label', {}, `${t('fee')} (đ)`, h('input', { name: 'fee', type: 'number', min: 0, value: p.fee.amount_vnd })),
    h('label', { class: 'span' }, tr('Thành phần hồ sơ, mỗi dòng một giấy tờ', 'Required documents, one per line'), h('textarea', { name: 'docs', rows: 5 }, p.required_documents.map((x) => x.name).join('\n'))),
    h('p', { class: 'muted small span' }, tr('Khi lưu, danh mục mới được gửi tới mọi thiết bị ở lần đồng bộ sau.', 'When saved, the new catalogue reaches every device with its next sync.')),
    error,
    h('div', { class: 'actions span' }, h('button', { class: 'primary', type: 'submit' }, t('save')), h('button', { type: 'button', class: 'ghost', onclick: () => mount(editor) }, t('cancel'))));
    mount(editor, form);
  };
  mount(body, editor, h('section', { class: 'card' }, h('input', { type: 'search', placeholder: t('pickProcedure'), oninput: (e: Event) => void show((e.target as HTMLInputElement).value) }), list));
  await show('');
}

const KINDS: Record<string, [string, string]> = {
  statutory: ['theo Bộ luật Lao động', 'statutory'],
  compensatory: ['nghỉ bù', 'make-up day off'],
  declared: ['theo quyết định', 'declared'],
};

interface YearView { year: number; holidays: { date: string; name: string; kind: string }[]; swapped_working_days: string[] }

async function calendar(body: HTMLElement, year = new Date().getFullYear()): Promise<void> {
  const view = await api<YearView>('GET', `/api/admin/calendar?year=${year}`);
  const error = errorBox();
  const day = (iso: string) => date(Date.parse(`${iso}T12:00:00+07:00`));
  const form = h('form', {
    class: 'card grid',
    onsubmit: (e: Event) => {
      e.preventDefault();
      const d = new FormData(form);
      void guard(error, async () => {
        await api('POST', '/api/admin/calendar/days', { date: d.get('date'), kind: d.get('kind'), name: d.get('name') });
        await calendar(body, year);
      });
    },
  },
  h('h2', { class: 'span' }, tr('Sửa một ngày', 'Change a day')),
  h('label', {}, tr('Ngày', 'Date'), h('input', { name: 'date', type: 'date', required: true })),
  h('label', {}, tr('Loại', 'Kind'), h('select', { name: 'kind' },
    h('option', { value: 'holiday' }, tr('Ngày nghỉ', 'Day off')), h('option', { value: 'working' }, tr('Làm bù (thứ Bảy, Chủ nhật)', 'Make-up working day')), h('option', { value: 'normal' }, tr('Như thường lệ', 'As usual')))),
  h('label', { class: 'span' }, tr('Tên ngày nghỉ', 'Name of the day off'), h('input', { name: 'name' })),
  error,
  h('div', { class: 'actions span' }, h('button', { class: 'primary', type: 'submit' }, t('save'))));
  mount(body,
    h('div', { class: 'card year-bar' },
      h('button', { class: 'ghost', onclick: () => void calendar(body, year - 1) }, `← ${year - 1}`),
      h('h2', {}, tr(`Lịch làm việc năm ${year}`, `Working calendar ${year}`)),
      h('button', { class: 'ghost', onclick: () => void calendar(body, year + 1) }, `${year + 1} →`),
      h('button', { class: 'secondary', onclick: () => void guard(error, async () => { await api('POST', '/api/admin/calendar/seed', { year }); await calendar(body, year); }) }, tr('Điền ngày lễ theo luật', 'Seed statutory holidays'))),
    h('section', { class: 'card' },
      h('h3', {}, tr('Ngày nghỉ', 'Days off')),
      view.holidays.length ? h('ul', { class: 'days' }, view.holidays.map((x) => h('li', {}, h('strong', {}, day(x.date)), ` ${x.name} `, h('span', { class: 'muted small' }, KINDS[x.kind] ? tr(...KINDS[x.kind]) : x.kind)))) : h('p', { class: 'muted' }, tr('Chưa có ngày nghỉ cho năm này.', 'No days off for this year yet.')),
      h('h3', {}, tr('Ngày làm bù', 'Make-up working days')),
      view.swapped_working_days.length ? h('ul', { class: 'days' }, view.swapped_working_days.map((x) => h('li', {}, day(x)))) : h('p', { class: 'muted' }, '—')),
    form);
}
