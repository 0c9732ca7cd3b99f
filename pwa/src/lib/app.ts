// The running app: who is logged in, the core's device, its IndexedDB store
// and the sync driver, and the one path every local change takes
// (core → IndexedDB → hub).
import { api, setToken, type EnrolledDevice, type User } from './api';
import { Core, freshActor, loadCore, type Identity, type SyncEvent, type SyncStatus } from './core';
import { ReplicaStore } from './storage';
import { SyncDriver } from './sync';

export interface Session {
  token: string;
  user: User;
  unitName: string;
}

const SESSION_KEY = 'motcua.session';

export interface State {
  session: Session | null;
  core: Core | null;
  store: ReplicaStore | null;
  sync: SyncDriver | null;
  /** When the hub last confirmed everything (ms), kept across visits. */
  lastSync: number | null;
  /** Why the hub refuses this device, if it does. */
  rejected: string | null;
  restoreNote: string | null;
}

export const state: State = {
  session: loadSession(),
  core: null,
  store: null,
  sync: null,
  lastSync: null,
  rejected: null,
  restoreNote: null,
};
setToken(state.session?.token ?? null);

const statusListeners: (() => void)[] = [];
const dataListeners: (() => void)[] = [];

/** Redraw the status bar when the sync state changes. */
export function onStatus(f: () => void): void {
  statusListeners.push(f);
}

/** Redraw the current screen when dossiers changed (here or from the hub). */
export function onData(f: () => void): void {
  dataListeners.push(f);
}

function loadSession(): Session | null {
  try {
    const raw = localStorage.getItem(SESSION_KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

export async function login(username: string, password: string): Promise<Session> {
  const { token, user } = await api<{ token: string; user: User }>('POST', '/api/login', { username, password });
  setToken(token);
  const me = await api<{ user: User; unit: { name: string } | null }>('GET', '/api/me');
  const session: Session = { token, user, unitName: me.unit?.name ?? user.unit };
  localStorage.setItem(SESSION_KEY, JSON.stringify(session));
  state.session = session;
  return session;
}

export async function logout(): Promise<void> {
  try {
    await api('POST', '/api/logout');
  } catch {
    // Offline: the session simply expires at the hub.
  }
  state.sync?.stop();
  localStorage.removeItem(SESSION_KEY);
  setToken(null);
  // The replica stays in IndexedDB: nothing unsent is ever thrown away.
  state.session = null;
  state.core = null;
  state.store = null;
  state.sync = null;
}

/** Administrators work on the hub directly; everyone else holds a replica. */
export function holdsReplica(session: Session): boolean {
  return session.user.role !== 'admin';
}

function deviceName(): string {
  const ua = navigator.userAgent;
  const kind = /Mobile|Android|iPhone/.test(ua) ? 'Điện thoại' : /iPad|Tablet/.test(ua) ? 'Máy tính bảng' : 'Trình duyệt';
  return `${kind} – ${state.session?.user.full_name ?? ''}`;
}

/** Opens this user's device: from IndexedDB, enrolling it with the hub on first use. */
export async function openDevice(): Promise<void> {
  const session = state.session;
  if (!session) throw new Error('not logged in');
  const store = await ReplicaStore.open(session.user.username);
  let actor = await store.get<string>('actor');
  let identity = await store.get<Identity>('identity');
  await loadCore();
  if (!actor) {
    actor = freshActor();
    await store.set('actor', actor);
  }
  if (!identity) {
    const enrolled = await api<EnrolledDevice>('POST', '/api/devices/browser', { name: deviceName(), actors: [actor] });
    identity = {
      token: enrolled.token,
      device_id: enrolled.device_id,
      device_name: enrolled.name,
      unit: enrolled.unit,
      code_slots: enrolled.code_slots,
      user: session.user.username,
      user_full_name: session.user.full_name,
    };
    await store.set('identity', identity);
  }
  const core = Core.open(identity, actor, await store.load());
  const report = JSON.parse(core.raw.restoreReport()) as { rebuilt: string[]; unreadable: string[] };
  state.restoreNote = report.rebuilt.length || report.unreadable.length
    ? `${report.rebuilt.length} hồ sơ được khôi phục và sẽ gửi lại; ${report.unreadable.length} bản ghi không đọc được (vẫn giữ nguyên).`
    : null;
  state.store = store;
  state.core = core;
  state.lastSync = (await store.get<number>('lastSync')) ?? null;
  state.sync = new SyncDriver(core, {
    afterStep: () => {
      persist();
      statusListeners.forEach((f) => f());
    },
    onEvent: (e) => handleEvent(e),
    onRejected: (message) => {
      state.rejected = message;
    },
  });
  state.sync.start();
}

function handleEvent(e: SyncEvent): void {
  const core = state.core;
  if (!core || !state.store) return;
  switch (e.kind) {
    case 'welcomed':
      // The hub may have given this device other code slots.
      void state.store.set('identity', core.identity());
      state.rejected = null;
      break;
    case 'received':
    case 'refused':
      dataListeners.forEach((f) => f());
      break;
    case 'acknowledged':
    case 'in_sync': {
      const s = core.status();
      if (s.in_sync && s.pending === 0) markSynced();
      dataListeners.forEach((f) => f());
      break;
    }
    default:
      break;
  }
}

function markSynced(): void {
  state.lastSync = Date.now();
  void state.store?.set('lastSync', state.lastSync);
}

let writing: Promise<void> = Promise.resolve();

/** Takes the core's write batches now (so their order is kept) and writes them in turn. */
export function persist(): Promise<void> {
  const core = state.core;
  const store = state.store;
  if (!core || !store) return writing;
  const batches = core.raw.takeWrites();
  if (batches.length === 0) return writing;
  writing = writing.then(async () => {
    for (const batch of batches) await store.write(batch);
  });
  writing.catch((e) => console.error('IndexedDB write failed', e));
  return writing;
}

/** After a local change: store it and push it if connected. */
export async function changed(): Promise<void> {
  state.sync?.flush();
  await persist();
  statusListeners.forEach((f) => f());
}

export function status(): SyncStatus | null {
  return state.core?.status() ?? null;
}
