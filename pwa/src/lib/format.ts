// Dates, times and money as people at a Vietnamese counter write them.
// Every instant is shown in Vietnam's time, whatever the device's zone.
import { lang } from './i18n';

const ZONE = 'Asia/Ho_Chi_Minh';

function parts(ms: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of new Intl.DateTimeFormat('en-GB', {
    timeZone: ZONE,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
    weekday: 'short',
  }).formatToParts(new Date(ms))) {
    out[p.type] = p.value;
  }
  return out;
}

/** 27/11/2026 */
export function date(ms: number): string {
  const p = parts(ms);
  return `${p.day}/${p.month}/${p.year}`;
}

/** 09:30 */
export function time(ms: number): string {
  const p = parts(ms);
  return `${p.hour === '24' ? '00' : p.hour}:${p.minute}`;
}

/** 09:30 27/11/2026 */
export function dateTime(ms: number): string {
  return `${time(ms)} ${date(ms)}`;
}

const WEEKDAYS_VI: Record<string, string> = {
  Mon: 'Thứ Hai', Tue: 'Thứ Ba', Wed: 'Thứ Tư', Thu: 'Thứ Năm', Fri: 'Thứ Sáu', Sat: 'Thứ Bảy', Sun: 'Chủ Nhật',
};
const WEEKDAYS_EN: Record<string, string> = {
  Mon: 'Monday', Tue: 'Tuesday', Wed: 'Wednesday', Thu: 'Thursday', Fri: 'Friday', Sat: 'Saturday', Sun: 'Sunday',
};

/** Thứ Sáu, 27/11/2026 */
export function longDate(ms: number): string {
  const p = parts(ms);
  const day = (lang() === 'vi' ? WEEKDAYS_VI : WEEKDAYS_EN)[p.weekday] ?? '';
  return `${day}, ${date(ms)}`;
}

/** "Ngày 27 tháng 11 năm 2026", for the forms. */
export function formDate(ms: number): string {
  const p = parts(ms);
  return `ngày ${p.day} tháng ${p.month} năm ${p.year}`;
}

/** 50.000 đ */
export function money(vnd: number): string {
  return `${new Intl.NumberFormat('vi-VN').format(vnd)} đ`;
}

/** "5 phút trước" / "5 minutes ago" */
export function ago(ms: number, now = Date.now()): string {
  const min = Math.round((now - ms) / 60000);
  const vi = lang() === 'vi';
  if (min < 1) return vi ? 'vừa xong' : 'just now';
  if (min < 60) return vi ? `${min} phút trước` : `${min} min ago`;
  const hours = Math.round(min / 60);
  if (hours < 24) return vi ? `${hours} giờ trước` : `${hours} h ago`;
  return dateTime(ms);
}
