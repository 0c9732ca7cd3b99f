// Vietnamese first, English second: every text the app shows, in both.
// The choice is kept on the device; the page redraws when it changes.

export type Lang = 'vi' | 'en';

let current: Lang = (localStorage.getItem('motcua.lang') as Lang) === 'en' ? 'en' : 'vi';
const listeners: (() => void)[] = [];

export function lang(): Lang {
  return current;
}

export function setLang(l: Lang): void {
  current = l;
  localStorage.setItem('motcua.lang', l);
  document.documentElement.lang = l;
  listeners.forEach((f) => f());
}

export function onLangChange(f: () => void): void {
  listeners.push(f);
}

/** A name that comes in both languages from the core. */
export function named(n: { vi: string; en: string } | null | undefined): string {
  if (!n) return '';
  return current === 'vi' ? n.vi : n.en;
}

const TEXT = {
  appName: ['Một Cửa Sync', 'Một Cửa Sync'],
  tagline: ['Tiếp nhận và trả kết quả', 'Reception and results'],
  // login
  loginTitle: ['Đăng nhập', 'Log in'],
  username: ['Tên đăng nhập', 'User name'],
  password: ['Mật khẩu', 'Password'],
  loginButton: ['Đăng nhập', 'Log in'],
  loggingIn: ['Đang đăng nhập…', 'Logging in…'],
  logout: ['Đăng xuất', 'Log out'],
  logoutPending: [
    'Còn {n} thay đổi chưa gửi lên máy chủ. Chúng vẫn được giữ trên máy này và sẽ gửi khi bạn đăng nhập lại. Đăng xuất?',
    '{n} changes have not reached the hub yet. They stay on this device and are sent when you log in again. Log out?',
  ],
  loginOffline: [
    'Không kết nối được máy chủ. Lần đăng nhập đầu tiên trên máy này cần có mạng; hãy kiểm tra kết nối rồi thử lại.',
    'The hub cannot be reached. The first log-in on this device needs the network: check the connection and try again.',
  ],
  enrolling: ['Đang đăng ký thiết bị này…', 'Registering this device…'],
  // navigation
  navCounter: ['Quầy tiếp nhận', 'Counter'],
  navReceive: ['Tiếp nhận hồ sơ', 'Receive a dossier'],
  navDeadlines: ['Sắp đến hạn, quá hạn', 'Due soon, overdue'],
  navInbox: ['Xung đột, bị từ chối', 'Conflicts, refused'],
  navDashboard: ['Báo cáo', 'Dashboard'],
  navAdmin: ['Quản trị', 'Administration'],
  language: ['English', 'Tiếng Việt'],
  // sync status
  online: ['Trực tuyến', 'Online'],
  offline: ['Mất kết nối – vẫn làm việc bình thường', 'Offline – keep working'],
  connecting: ['Đang kết nối…', 'Connecting…'],
  syncing: ['Đang đồng bộ…', 'Syncing…'],
  pending: ['{n} thay đổi chờ gửi', '{n} changes waiting'],
  allSent: ['Đã gửi hết', 'All sent'],
  lastSync: ['Đồng bộ lần cuối: {t}', 'Last synced: {t}'],
  neverSynced: ['Chưa đồng bộ lần nào', 'Never synced'],
  progressReceiving: ['Đang nhận từ máy chủ: {n} hồ sơ…', 'Receiving from the hub: {n} dossiers…'],
  progressSending: ['Đang gửi lên máy chủ: {n} gói thay đổi…', 'Sending to the hub: {n} batches…'],
  progressChecking: ['Đang đối chiếu với máy chủ…', 'Checking against the hub…'],
  syncNow: ['Đồng bộ ngay', 'Sync now'],
  hubRefusedDevice: ['Máy chủ từ chối thiết bị này: {m}', 'The hub refused this device: {m}'],
  // counter home
  searchPlaceholder: ['Tìm theo mã hồ sơ, tên (gõ không dấu cũng được), số CCCD hoặc số điện thoại', 'Search by code, name (diacritics optional), ID number or phone'],
  dossiers: ['Hồ sơ', 'Dossiers'],
  noDossiers: ['Chưa có hồ sơ nào trên máy này.', 'No dossiers on this device yet.'],
  noMatch: ['Không tìm thấy hồ sơ nào khớp “{q}”.', 'No dossier matches “{q}”.'],
  code: ['Mã hồ sơ', 'Dossier code'],
  applicant: ['Người nộp', 'Applicant'],
  procedure: ['Thủ tục', 'Procedure'],
  status: ['Trạng thái', 'Status'],
  receivedAt: ['Ngày nhận', 'Received'],
  appointment: ['Hẹn trả', 'Appointment'],
  notSynced: ['chưa gửi', 'not sent'],
  refusedBadge: ['bị từ chối', 'refused'],
  conflictBadge: ['xung đột', 'conflict'],
  overdueBadge: ['quá hạn', 'overdue'],
  dueSoonBadge: ['sắp đến hạn', 'due soon'],
  dueSoonTile: ['Sắp đến hạn', 'Due soon'],
  waitingBadge: ['chờ công dân', 'waiting for citizen'],
  countShown: ['{n} hồ sơ', '{n} dossiers'],
  // receive
  receiveTitle: ['Tiếp nhận hồ sơ', 'Receive a dossier'],
  step1: ['1. Thủ tục', '1. Procedure'],
  step2: ['2. Giấy tờ nộp', '2. Documents handed in'],
  step3: ['3. Người nộp', '3. Applicant'],
  step4: ['4. Lệ phí và trả kết quả', '4. Fee and result'],
  pickProcedure: ['Gõ tên hoặc mã thủ tục, ví dụ “khai sinh”', 'Type a procedure name or code, e.g. “khai sinh”'],
  processingTime: ['Thời hạn giải quyết', 'Processing time'],
  workingDays: ['{n} ngày làm việc', '{n} working days'],
  workingHours: ['{n} giờ làm việc', '{n} working hours'],
  sameDay: ['Trong ngày', 'Same day'],
  fee: ['Lệ phí', 'Fee'],
  free: ['Miễn phí', 'Free'],
  feePaid: ['Đã thu lệ phí', 'Fee collected'],
  docName: ['Tên giấy tờ', 'Document'],
  docForm: ['Bản chính / bản sao', 'Original / copy'],
  docCount: ['Số lượng', 'Count'],
  handedIn: ['Đã nộp', 'Handed in'],
  original: ['Bản chính', 'Original'],
  copy: ['Bản sao', 'Copy'],
  certified_copy: ['Bản sao chứng thực', 'Certified copy'],
  addDocument: ['Thêm giấy tờ khác', 'Add another document'],
  fullName: ['Họ và tên', 'Full name'],
  idNumber: ['Số CCCD / CMND / hộ chiếu', 'ID card / passport number'],
  phone: ['Số điện thoại', 'Phone'],
  address: ['Địa chỉ', 'Address'],
  sets: ['Số bộ hồ sơ', 'Number of sets'],
  channel: ['Hình thức nộp', 'Submitted'],
  direct: ['Trực tiếp', 'In person'],
  postal: ['Qua bưu chính', 'By post'],
  online_channel: ['Trực tuyến', 'Online'],
  note: ['Ghi chú', 'Note'],
  receiveButton: ['Tiếp nhận và cấp mã', 'Receive and issue code'],
  chooseProcedureFirst: ['Chọn thủ tục trước.', 'Choose the procedure first.'],
  received: ['Đã tiếp nhận hồ sơ {code}', 'Dossier {code} received'],
  receivedOffline: ['Mã và ngày hẹn được cấp ngay trên máy này, không cần mạng.', 'The code and appointment were issued on this device, no network needed.'],
  printForm01: ['In giấy tiếp nhận (Mẫu 01)', 'Print receipt (Form 01)'],
  receiveAnother: ['Tiếp nhận hồ sơ khác', 'Receive another'],
  openDossier: ['Mở hồ sơ', 'Open dossier'],
  // dossier
  back: ['Quay lại', 'Back'],
  stageLog: ['Quá trình xử lý', 'Processing history'],
  recordStage: ['Ghi nhận bước tiếp theo', 'Record the next stage'],
  stageNote: ['Ghi chú (không bắt buộc)', 'Note (optional)'],
  record: ['Ghi nhận', 'Record'],
  requestSupplement: ['Yêu cầu bổ sung (Mẫu 02)', 'Request a supplement (Form 02)'],
  missingDocs: ['Giấy tờ cần bổ sung, mỗi dòng một giấy tờ', 'Documents to supplement, one per line'],
  supplementArrived: ['Công dân đã nộp bổ sung', 'Supplement arrived'],
  printForm02: ['In phiếu yêu cầu bổ sung (Mẫu 02)', 'Print supplement request (Form 02)'],
  returnResult: ['Trả kết quả cho công dân', 'Return the result'],
  closed: ['Hồ sơ đã kết thúc.', 'This dossier is closed.'],
  editApplicant: ['Sửa thông tin', 'Edit details'],
  save: ['Lưu', 'Save'],
  cancel: ['Hủy', 'Cancel'],
  saved: ['Đã lưu trên máy này', 'Saved on this device'],
  documentsHanded: ['Giấy tờ đã nộp', 'Documents handed in'],
  by: ['bởi {u}', 'by {u}'],
  overruled: ['không tính: {w}', 'not counted: {w}'],
  effectiveDue: ['Hạn sau khi tính thời gian chờ: {d}', 'Due after waits: {d}'],
  clockStopped: ['Đang chờ công dân – tạm dừng tính hạn', 'Waiting for the citizen – clock stopped'],
  // deadlines
  overdueTitle: ['Quá hạn', 'Overdue'],
  dueSoonTitle: ['Sắp đến hạn (trong 2 ngày làm việc)', 'Due soon (within 2 working days)'],
  nothingOverdue: ['Không có hồ sơ quá hạn.', 'Nothing overdue.'],
  nothingDueSoon: ['Không có hồ sơ sắp đến hạn.', 'Nothing due soon.'],
  // inbox
  conflictsTitle: ['Trường bị sửa cùng lúc', 'Fields edited at the same time'],
  conflictsHelp: ['Hai máy đã sửa cùng một thông tin khi chưa đồng bộ. Chọn giá trị đúng; lựa chọn được gửi tới mọi máy.', 'Two devices edited the same detail before syncing. Pick the right value; the choice reaches every device.'],
  pickThis: ['Chọn giá trị này', 'Pick this value'],
  shownNow: ['đang hiển thị', 'shown now'],
  refusedTitle: ['Thay đổi bị máy chủ từ chối', 'Changes the hub refused'],
  refusedHelp: ['Các thay đổi này vẫn được giữ trên máy. Sửa theo lý do bên dưới, hoặc bỏ chúng để nhận lại bản của máy chủ.', 'These changes are kept on this device. Fix them as the reason says, or discard them to get the hub’s version back.'],
  discard: ['Bỏ thay đổi của máy này', 'Discard this device’s changes'],
  discardConfirm: ['Bỏ các thay đổi bị từ chối của hồ sơ này? Bản của máy chủ sẽ được tải lại.', 'Discard the refused changes of this dossier? The hub’s version will be loaded again.'],
  inboxEmpty: ['Không có xung đột hay thay đổi bị từ chối.', 'No conflicts and no refused changes.'],
  reason: ['Lý do', 'Reason'],
  // print
  print: ['In', 'Print'],
  // errors
  errorTitle: ['Có lỗi', 'Something went wrong'],
  hubUnreachable: ['Không kết nối được máy chủ; hãy thử lại khi có mạng.', 'The hub cannot be reached; try again when online.'],
  sessionExpired: ['Phiên đăng nhập đã hết hạn; hãy đăng nhập lại khi có mạng. Dữ liệu trên máy vẫn được giữ.', 'Your session expired; log in again when online. Data on this device is kept.'],
  // dashboard
  dashboardTitle: ['Tình hình giải quyết hồ sơ', 'Dossier processing'],
  asOf: ['Số liệu tính đến {t}', 'Figures as of {t}'],
  asOfOffline: ['Mất kết nối – số liệu tính đến lần đồng bộ cuối {t}', 'Offline – figures as of the last sync, {t}'],
  // admin
  adminOnlineOnly: ['Quản trị cần kết nối tới máy chủ.', 'Administration needs the hub.'],
} satisfies Record<string, [string, string]>;

export type TextKey = keyof typeof TEXT;

/** The text for `key` in the current language, with `{name}` filled in. */
export function t(key: TextKey, params: Record<string, string | number> = {}): string {
  const [vi, en] = TEXT[key];
  let s = current === 'vi' ? vi : en;
  for (const [k, v] of Object.entries(params)) s = s.replaceAll(`{${k}}`, String(v));
  return s;
}

/** A text given inline in both languages, for the few one-off labels. */
export function tr(vi: string, en: string): string {
  return current === 'vi' ? vi : en;
}
