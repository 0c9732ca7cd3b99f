// The printed forms of Phụ lục I, Thông tư 03/2025/TT-VPCP: Form 01 (receipt
// and appointment, with a QR code of the public look-up) and Form 02
// (request to supplement). A4, printed from the browser's print dialog; the
// font and the QR code come with the app, so printing works offline.
import { renderSVG } from 'uqr';
import { state } from '../lib/app';
import type { DossierView } from '../lib/core';
import { h, mount, svg } from '../lib/dom';
import { date, formDate, money } from '../lib/format';
import { t } from '../lib/i18n';

/** The citizens' look-up address printed on the receipt and in its QR code. */
export function lookupUrl(code: string): string {
  return new URL(`/tra-cuu/?ma=${encodeURIComponent(code)}`, location.origin).toString();
}

const FORMS: Record<string, string> = { original: 'Bản chính', copy: 'Bản sao', certified_copy: 'Bản sao có chứng thực' };

function hm(ms: number): string {
  const p = new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Ho_Chi_Minh', hour: '2-digit', minute: '2-digit', hour12: false }).formatToParts(new Date(ms));
  const get = (k: string) => p.find((x) => x.type === k)?.value ?? '';
  return `${get('hour')} giờ ${get('minute')} phút`;
}

function header(v: DossierView, number: string): HTMLElement {
  const place = v.unit_name.replace(/^(Xã|Phường|Thị trấn|Đặc khu|Tỉnh|Thành phố|Huyện|Quận)\s+/i, '');
  return h('div', { class: 'form-header' },
    h('div', { class: 'issuer' },
      h('div', {}, `UBND ${v.unit_name.toUpperCase()}`),
      h('div', { class: 'bold' }, 'BỘ PHẬN TIẾP NHẬN VÀ TRẢ KẾT QUẢ'),
      h('hr'),
      h('div', {}, `Số: ${number}`),
    ),
    h('div', { class: 'motto' },
      h('div', { class: 'bold' }, 'CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM'),
      h('div', { class: 'bold underline' }, 'Độc lập - Tự do - Hạnh phúc'),
      h('div', { class: 'italic date-line' }, `${place}, ${formDate(v.dossier.received_at)}`),
    ),
  );
}

function signatures(left: string, right: string, rightName: string): HTMLElement {
  return h('div', { class: 'signatures' },
    h('div', {}, h('div', { class: 'bold' }, left), h('div', { class: 'italic' }, '(Ký và ghi rõ họ tên)')),
    h('div', {}, h('div', { class: 'bold' }, right), h('div', { class: 'italic' }, '(Ký và ghi rõ họ tên)'), h('div', { class: 'signer' }, rightName)),
  );
}

function form01(v: DossierView): HTMLElement {
  const d = v.dossier;
  const url = lookupUrl(d.code);
  const processing = d.processing.amount === 0 ? 'trong ngày' : `${d.processing.amount} ${d.processing.unit === 'working_hours' ? 'giờ làm việc' : 'ngày làm việc'}`;
  const receiver = v.timeline.find((e) => e.stage.id === 'received');
  const clerk = receiver?.user === state.session?.user.username ? state.session?.user.full_name ?? '' : receiver?.user ?? '';
  return h('article', { class: 'sheet', id: 'form-01' },
    h('div', { class: 'form-no' }, 'Mẫu số 01'),
    header(v, d.code),
    h('h1', { class: 'form-title' }, 'GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ'),
    h('p', { class: 'center' }, 'Mã hồ sơ: ', h('strong', { id: 'form-code' }, d.code)),
    h('p', {}, `Bộ phận Tiếp nhận và Trả kết quả: UBND ${v.unit_name.replace(/^\p{Lu}/u, (c) => c.toLowerCase())}`),
    h('p', {}, 'Tiếp nhận hồ sơ của: ', h('strong', { id: 'form-applicant' }, d.applicant.full_name)),
    h('p', {}, `Số CCCD/CMND/Hộ chiếu: ${d.applicant.id_number}`),
    h('p', {}, `Số điện thoại: ${d.applicant.phone ?? '..........'}`),
    h('p', {}, `Địa chỉ: ${d.applicant.address || '..........'}`),
    h('p', {}, 'Nội dung yêu cầu giải quyết: ', h('strong', {}, d.procedure.name)),
    h('p', {}, '1. Thành phần hồ sơ nộp gồm:'),
    h('table', { class: 'form-table' },
      h('thead', {}, h('tr', {}, h('th', {}, 'TT'), h('th', {}, 'Tên loại giấy tờ'), h('th', {}, 'Hình thức nộp (bản chính, bản sao)'), h('th', {}, 'Số lượng'))),
      h('tbody', {}, d.documents.map((x, i) => h('tr', {}, h('td', { class: 'center' }, String(i + 1)), h('td', {}, x.name), h('td', {}, FORMS[x.form] ?? x.form), h('td', { class: 'center' }, String(x.count))))),
    ),
    h('p', {}, `2. Số lượng hồ sơ: ${String(d.sets).padStart(2, '0')} (bộ)`),
    h('p', {}, `3. Thời gian giải quyết hồ sơ theo quy định là: ${processing}`),
    h('p', {}, `4. Thời gian nhận hồ sơ: ${hm(d.received_at)}, ngày ${date(d.received_at)}`),
    h('p', {}, '5. Thời gian trả kết quả giải quyết hồ sơ: ', h('strong', { id: 'form-appointment' }, `${hm(d.due_at)}, ngày ${date(d.due_at)}`)),
    h('p', {}, `6. Đăng ký nhận kết quả tại: ${d.result_delivery.place}`),
    h('p', {}, `7. Phí, lệ phí: ${d.fee.amount_vnd ? `${money(d.fee.amount_vnd)} (${d.fee.paid ? 'đã nộp' : 'chưa nộp'})` : 'Không thu'}`),
    h('p', {}, `Vào ${v.register_book}, quyển số: 01, số thứ tự: ${v.register_number}`),
    h('div', { class: 'lookup' },
      h('div', { class: 'qr', id: 'form-qr', 'data-url': url }, svg(renderSVG(url, { border: 1 }))),
      h('div', {}, h('div', { class: 'bold' }, 'Tra cứu tình trạng hồ sơ'), h('div', {}, 'Quét mã QR hoặc truy cập:'), h('div', { class: 'url' }, url)),
    ),
    signatures('NGƯỜI NỘP HỒ SƠ', 'NGƯỜI TIẾP NHẬN HỒ SƠ', clerk),
  );
}

function form02(v: DossierView): HTMLElement {
  const d = v.dossier;
  const request = v.supplement;
  const items = request?.missing ?? [];
  const other = request?.note ?? '';
  return h('article', { class: 'sheet', id: 'form-02' },
    h('div', { class: 'form-no' }, 'Mẫu số 02'),
    header(v, d.code),
    h('h1', { class: 'form-title' }, 'PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ'),
    h('p', {}, 'Hồ sơ của: ', h('strong', {}, d.applicant.full_name)),
    h('p', {}, 'Nội dung yêu cầu giải quyết: ', h('strong', {}, d.procedure.name)),
    h('p', {}, `Mã hồ sơ: ${d.code}`),
    h('p', {}, `Ngày yêu cầu bổ sung: ${request ? date(request.at) : ''}`),
    h('p', {}, 'Yêu cầu bổ sung, hoàn thiện hồ sơ gồm những nội dung sau:'),
    h('ol', { class: 'form-list' }, items.map((x) => h('li', {}, x))),
    other ? h('p', {}, `Lý do: ${other}`) : null,
    h('p', {}, 'Trong quá trình bổ sung, hoàn thiện hồ sơ nếu có vướng mắc, ông/bà liên hệ Bộ phận Tiếp nhận và Trả kết quả để được hướng dẫn.'),
    signatures('NGƯỜI NỘP HỒ SƠ', 'NGƯỜI HƯỚNG DẪN', state.session?.user.full_name ?? ''),
  );
}

export function printView(main: HTMLElement, [form, docId]: string[]): void {
  main.dataset.live = 'false';
  const v = state.core!.dossier(docId);
  mount(
    main,
    h('div', { class: 'print-toolbar no-print' },
      h('a', { class: 'button ghost', href: `#/ho-so/${docId}` }, `← ${t('back')}`),
      h('button', { class: 'primary', id: 'print-now', onclick: () => window.print() }, `🖨 ${t('print')}`),
    ),
    form === '02' ? form02(v) : form01(v),
  );
  document.body.classList.add('printing');
  window.addEventListener('hashchange', () => document.body.classList.remove('printing'), { once: true });
}
