// The citizens' look-up page: type or scan the dossier code printed on the
// receipt and see the procedure, the status and the appointment date. No
// personal data, no WebAssembly, no web font: a few kilobytes that load on a
// slow phone link.
import './lookup.css';

type Lang = 'vi' | 'en';
let lang: Lang = localStorage.getItem('motcua.lang') === 'en' ? 'en' : 'vi';

const TEXT = {
  title: ['Tra cứu hồ sơ', 'Look up a dossier'],
  intro: ['Nhập mã hồ sơ in trên giấy tiếp nhận, hoặc quét mã QR.', 'Enter the dossier code printed on your receipt, or scan its QR code.'],
  code: ['Mã hồ sơ', 'Dossier code'],
  search: ['Tra cứu', 'Look up'],
  scan: ['Quét mã QR', 'Scan the QR code'],
  stopScan: ['Dừng quét', 'Stop scanning'],
  procedure: ['Thủ tục', 'Procedure'],
  status: ['Tình trạng', 'Status'],
  appointment: ['Ngày hẹn trả kết quả', 'Appointment date'],
  notFound: ['Không tìm thấy hồ sơ có mã này. Kiểm tra lại mã trên giấy tiếp nhận; hồ sơ vừa nộp khi mất mạng có thể cần ít phút để lên hệ thống.', 'No dossier has this code. Check the code on your receipt; a dossier received while the counter was offline may take a few minutes to appear.'],
  busy: ['Bạn tra cứu quá nhiều lần; hãy chờ một phút rồi thử lại.', 'Too many look-ups; wait a minute and try again.'],
  offline: ['Không kết nối được máy chủ. Kiểm tra mạng rồi thử lại.', 'The server cannot be reached. Check your connection and try again.'],
  badCode: ['Mã hồ sơ có dạng X0101-261127-0001.', 'A dossier code looks like X0101-261127-0001.'],
  noCamera: ['Trình duyệt này không quét được mã QR; hãy nhập mã.', 'This browser cannot scan QR codes; type the code instead.'],
  other: ['English', 'Tiếng Việt'],
} as const;

function t(key: keyof typeof TEXT): string {
  return TEXT[key][lang === 'vi' ? 0 : 1];
}

interface Found {
  code: string;
  procedure: string;
  status: number | null;
  status_name: string | null;
  status_name_en: string | null;
  appointment: string | null;
}

const root = document.getElementById('lookup') as HTMLElement;
const params = new URLSearchParams(location.search);
let scanning: MediaStream | null = null;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...kids: (Node | string)[]): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...kids);
  return e;
}

function formatDay(iso: string): string {
  const d = new Date(iso);
  const f = new Intl.DateTimeFormat(lang === 'vi' ? 'vi-VN' : 'en-GB', { timeZone: 'Asia/Ho_Chi_Minh', weekday: 'long', day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit' });
  return f.format(d);
}

function render(code = params.get('ma') ?? ''): void {
  document.documentElement.lang = lang;
  const input = el('input', { id: 'code', name: 'ma', value: code, autocomplete: 'off', placeholder: 'X0101-261127-0001', inputMode: 'text' });
  input.setAttribute('autocapitalize', 'characters');
  const result = el('section', { id: 'result' });
  const form = el('form', {}, el('label', { htmlFor: 'code' }, t('code')), el('div', { className: 'row' }, input, el('button', { type: 'submit' }, t('search'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void look(input.value, result);
  });
  const scan = el('button', { type: 'button', className: 'secondary' }, t('scan'));
  const video = el('video', { id: 'camera', hidden: true, muted: true, playsInline: true });
  scan.addEventListener('click', () => void toggleScan(scan, video, input, result));
  const other = el('button', { type: 'button', className: 'link' }, t('other'));
  other.addEventListener('click', () => {
    lang = lang === 'vi' ? 'en' : 'vi';
    render(input.value);
  });
  root.replaceChildren(
    el('header', {}, el('h1', {}, t('title')), other),
    el('p', { className: 'intro' }, t('intro')),
    form,
    scan,
    video,
    result,
  );
  if (code) void look(code, result);
}

async function look(raw: string, out: HTMLElement): Promise<void> {
  const code = raw.trim().toUpperCase();
  if (!/^[A-Z0-9.]+-\d{6}-\d{4}$/.test(code)) {
    out.replaceChildren(el('p', { className: 'error' }, t('badCode')));
    return;
  }
  history.replaceState(null, '', `?ma=${encodeURIComponent(code)}`);
  out.replaceChildren(el('p', { className: 'muted' }, '…'));
  let response: Response;
  try {
    response = await fetch(`/api/public/dossiers/${encodeURIComponent(code)}`);
  } catch {
    out.replaceChildren(el('p', { className: 'error' }, t('offline')));
    return;
  }
  if (response.status === 404) return void out.replaceChildren(el('p', { className: 'error' }, t('notFound')));
  if (response.status === 429) return void out.replaceChildren(el('p', { className: 'error' }, t('busy')));
  if (!response.ok) return void out.replaceChildren(el('p', { className: 'error' }, t('offline')));
  const found = (await response.json()) as Found;
  out.replaceChildren(
    el('dl', { className: `found s${found.status ?? ''}` },
      el('dt', {}, t('code')), el('dd', { className: 'code' }, found.code),
      el('dt', {}, t('procedure')), el('dd', {}, found.procedure),
      el('dt', {}, t('status')), el('dd', { className: 'status', id: 'status' }, (lang === 'vi' ? found.status_name : found.status_name_en) ?? '—'),
      el('dt', {}, t('appointment')), el('dd', { id: 'appointment' }, found.appointment ? formatDay(found.appointment) : '—'),
    ),
  );
}

interface Detector { detect(source: HTMLVideoElement): Promise<{ rawValue: string }[]> }

async function toggleScan(button: HTMLButtonElement, video: HTMLVideoElement, input: HTMLInputElement, out: HTMLElement): Promise<void> {
  if (scanning) {
    scanning.getTracks().forEach((track) => track.stop());
    scanning = null;
    video.hidden = true;
    button.textContent = t('scan');
    return;
  }
  const Barcode = (window as unknown as { BarcodeDetector?: new (o: { formats: string[] }) => Detector }).BarcodeDetector;
  if (!Barcode || !navigator.mediaDevices?.getUserMedia) {
    out.replaceChildren(el('p', { className: 'error' }, t('noCamera')));
    return;
  }
  try {
    scanning = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  } catch {
    out.replaceChildren(el('p', { className: 'error' }, t('noCamera')));
    return;
  }
  const detector = new Barcode({ formats: ['qr_code'] });
  video.srcObject = scanning;
  video.hidden = false;
  await video.play();
  button.textContent = t('stopScan');
  const tick = async () => {
    if (!scanning) return;
    const codes = await detector.detect(video).catch(() => []);
    const text = codes[0]?.rawValue;
    if (text) {
      const code = (() => { try { return new URL(text).searchParams.get('ma') ?? text; } catch { return text; } })();
      input.value = code;
      await toggleScan(button, video, input, out);
      await look(code, out);
      return;
    }
    requestAnimationFrame(() => void tick());
  };
  void tick();
}

render();
