// The hub's JSON API. Errors carry the hub's message, or say the hub cannot
// be reached, so a screen can tell the user what to do.
import { t } from './i18n';

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
  ) {
    super(message);
  }
}

let token: string | null = null;

export function setToken(value: string | null): void {
  token = value;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: {
        ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}),
        ...(token ? { Authorization: `Bearer ${token}` } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new ApiError(0, 'unreachable', t('hubUnreachable'));
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let data: unknown = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string } } | null)?.error;
    if (response.status === 401) throw new ApiError(401, 'unauthorized', error?.message ?? t('sessionExpired'));
    throw new ApiError(response.status, error?.code ?? 'error', error?.message ?? `${response.status} ${response.statusText}`);
  }
  return data as T;
}

/**
 * A report file from the hub (XLSX, CSV, or a printable HTML page), fetched
 * with the session token: a file is saved under the name the hub gives it,
 * a page opens in a new tab for the browser's print dialog. Reports over a
 * province are the hub's to compute, so these need the link.
 */
export async function openReport(path: string): Promise<void> {
  // Opened before the fetch so the browser counts it as the user's click.
  const page = path.includes('format=html') || !path.includes('format=') ? window.open('', '_blank') : null;
  let response: Response;
  try {
    response = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  } catch {
    page?.close();
    throw new ApiError(0, 'unreachable', t('hubUnreachable'));
  }
  if (!response.ok) {
    page?.close();
    const error = ((await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(response.status, error?.code ?? 'error', error?.message ?? `${response.status} ${response.statusText}`);
  }
  const url = URL.createObjectURL(await response.blob());
  if (page) {
    page.location.href = url;
    return;
  }
  const name = /filename="([^"]+)"/.exec(response.headers.get('Content-Disposition') ?? '')?.[1] ?? 'bao-cao';
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export interface User {
  username: string;
  full_name: string;
  role: 'clerk' | 'specialist' | 'leader' | 'admin';
  unit: string;
  active: boolean;
}

export interface Unit {
  code: string;
  name: string;
  level: string;
  parent: string | null;
  effective_from?: string | null;
  effective_to?: string | null;
}

export interface EnrolledDevice {
  device_id: string;
  name: string;
  unit: string;
  token: string;
  code_slots: number[];
}
