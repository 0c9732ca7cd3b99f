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
  noCamera: ['Không mở được máy ảnh để quét mã QR; hãy cho phép dùng máy ảnh, hoặc nhập mã.', 'The camera could not be opened to scan the QR code; allow the camera, or type the code.'],
  aim: ['Đưa mã QR trên giấy tiếp nhận vào khung hình.', 'Hold the QR code on your receipt in front of the camera.'],
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
  const scan = el('button', { type: 'button', className: 'secondary', id: 'scan' }, t('scan'));
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

/** Reads the text of a QR code in the current video frame, if there is one. */
type Reader = (video: HTMLVideoElement) => Promise<string | null>;

interface Detector { detect(source: HTMLVideoElement): Promise<{ rawValue: string }[]> }

/**
 * The browser's own QR detector where it has one (Android Chrome); elsewhere
 * (iPhones, desktop Linux, Firefox) a small decoder fetched only when the
 * citizen asks to scan, so the page itself stays light.
 */
async function qrReader(): Promise<Reader> {
  const Barcode = (window as unknown as { BarcodeDetector?: new (o: { formats: string[] }) => Detector }).BarcodeDetector;
  const formats: string[] = Barcode ? await ((Barcode as unknown as { getSupportedFormats?: () => Promise<string[]> }).getSupportedFormats?.() ?? Promise.resolve([])) : [];
  if (Barcode && formats.includes('qr_code')) {
    const detector = new Barcode({ formats: ['qr_code'] });
    return async (video) => (await detector.detect(video).catch(() => []))[0]?.rawValue ?? null;
  }
  const { default: jsQR } = await import('jsqr');
  const canvas = document.createElement('canvas');
  const context = canvas.getContext('2d', { willReadFrequently: true });
  return async (video) => {
    if (!context || !video.videoWidth) return null;
    // A frame at most 640 pixels wide is plenty for a code held up to the camera.
    const scale = Math.min(1, 640 / video.videoWidth);
    canvas.width = Math.round(video.videoWidth * scale);
    canvas.height = Math.round(video.videoHeight * scale);
    context.drawImage(video, 0, 0, canvas.width, canvas.height);
    const frame = context.getImageData(0, 0, canvas.width, canvas.height);
    return jsQR(frame.data, frame.width, frame.height, { inversionAttempts: 'attemptBoth' })?.data ?? null;
  };
}

/** The dossier code in a scanned text: the look-up link's `ma`, or the code itself. */
function scannedCode(text: string): string {
  try {
    return new URL(text).searchParams.get('ma') ?? text;
  } catch {
    return text;
  }
}

async function toggleScan(button: HTMLButtonElement, video: HTMLVideoElement, input: HTMLInputElement, out: HTMLElement): Promise<void> {
  if (scanning) {
    scanning.getTracks().forEach((track) => track.stop());
    scanning = null;
    video.hidden = true;
    button.textContent = t('scan');
    return;
  }
  if (!navigator.mediaDevices?.getUserMedia) {
    out.replaceChildren(el('p', { className: 'error' }, t('noCamera')));
    return;
  }
  let read: Reader;
  try {
    scanning = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    read = await qrReader();
  } catch {
    scanning?.getTracks().forEach((track) => track.stop());
    scanning = null;
    out.replaceChildren(el('p', { className: 'error' }, t('noCamera')));
    return;
  }
  video.srcObject = scanning;
  video.hidden = false;
  await video.play();
  button.textContent = t('stopScan');
  out.replaceChildren(el('p', { className: 'muted', id: 'scanning' }, t('aim')));
  const tick = async () => {
    if (!scanning) return;
    const text = await read(video);
    if (text) {
      const code = scannedCode(text);
      input.value = code;
      await toggleScan(button, video, input, out);
      await look(code, out);
      return;
    }
    // A few frames a second: enough to catch a code, easy on a phone's battery.
    setTimeout(() => void tick(), 150);
  };
  void tick();
}

render();
