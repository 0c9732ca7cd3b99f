// The web app: log-in, then the screens of the user's role, around a status
// bar that always says whether the hub is reachable, how many changes wait
// for it and when it last confirmed everything.
import '@fontsource/be-vietnam-pro/400.css';
import '@fontsource/be-vietnam-pro/500.css';
import '@fontsource/be-vietnam-pro/600.css';
import '@fontsource/be-vietnam-pro/700.css';
import './styles/app.css';
import './styles/print.css';

import { holdsReplica, logout, onData, onStatus, openDevice, state } from './lib/app';
import { h, mount } from './lib/dom';
import { lang, onLangChange, setLang, t, tr } from './lib/i18n';
import { renderStatusBar } from './views/status';
import { loginView } from './views/login';
import { counterView } from './views/counter';
import { receiveView } from './views/receive';
import { dossierView } from './views/dossier';
import { deadlinesView } from './views/deadlines';
import { inboxView } from './views/inbox';
import { printView } from './views/print';
import { dashboardView } from './views/dashboard';
import { ADMIN_TABS, adminView } from './views/admin';
import { ApiError } from './lib/api';

const root = document.getElementById('app') as HTMLElement;
document.documentElement.lang = lang();

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', { updateViaCache: 'none' }).catch((e) => console.warn('service worker', e));
}

/** The screen for the current address (`#/…`). */
type Screen = (main: HTMLElement, params: string[]) => void | Promise<void>;

const routes: [RegExp, Screen][] = [
  [/^\/$/, (m) => home(m)],
  [/^\/quay$/, (m) => counterView(m)],
  [/^\/tiep-nhan$/, receiveView],
  [/^\/ho-so\/([^/]+)$/, dossierView],
  [/^\/han$/, deadlinesView],
  [/^\/hop-thu$/, inboxView],
  [/^\/in\/(01|02)\/([^/]+)$/, printView],
  [/^\/bao-cao(?:\/(.+))?$/, dashboardView],
  [/^\/quan-tri(?:\/([a-z-]+))?$/, adminView],
];

function home(main: HTMLElement): void | Promise<void> {
  const role = state.session?.user.role;
  if (role === 'admin') return go('/quan-tri/nguoi-dung');
  if (role === 'leader') return go('/bao-cao');
  return counterView(main);
}

export function go(path: string): void {
  location.hash = `#${path}`;
}

function path(): string {
  return location.hash.replace(/^#/, '') || '/';
}

function navItems(): [string, string][] {
  const role = state.session?.user.role;
  if (role === 'admin') return ADMIN_TABS.map(([id, label]) => [`/quan-tri/${id}`, label()]);
  const items: [string, string][] = [
    ['/', t('navCounter')],
    ['/tiep-nhan', t('navReceive')],
    ['/han', t('navDeadlines')],
    ['/hop-thu', t('navInbox')],
    ['/bao-cao', t('navDashboard')],
  ];
  if (role === 'leader') return [items[4], ['/quay', tr('Tìm hồ sơ', 'Find a dossier')], items[2], items[3]];
  return items;
}

let statusBar: HTMLElement | null = null;
let mainEl: HTMLElement | null = null;

function shell(): void {
  const session = state.session!;
  statusBar = h('div', { class: 'statusbar', id: 'sync-status', role: 'status' });
  mainEl = h('main', { id: 'main', class: 'content' });
  const current = path();
  const nav = h(
    'nav',
    { class: 'nav', 'aria-label': 'Chính' },
    navItems().map(([href, label]) =>
      h('a', {
        href: `#${href}`,
        class: (href === '/' ? current === '/' : current.startsWith(href)) ? 'active' : '',
        // Choosing the screen one is on starts it afresh (a new receiving form).
        onclick: () => { if (path() === href) void render(); },
      }, label),
    ),
  );
  mount(
    root,
    h(
      'header',
      { class: 'topbar' },
      h('a', { class: 'brand', href: '#/' }, h('img', { src: '/icons/icon.svg', alt: '', width: 32, height: 32 }), h('span', {}, t('appName'))),
      h('div', { class: 'who' }, h('strong', {}, session.user.full_name), h('span', {}, session.unitName)),
      h('button', { class: 'ghost', onclick: () => setLang(lang() === 'vi' ? 'en' : 'vi') }, t('language')),
      h('button', {
        class: 'ghost',
        id: 'logout',
        onclick: async () => {
          const pending = state.core?.status().pending ?? 0;
          if (pending > 0 && !confirm(t('logoutPending', { n: pending }))) return;
          await logout();
          start();
        },
      }, t('logout')),
    ),
    statusBar,
    h('div', { class: 'layout' }, nav, mainEl),
  );
  renderStatusBar(statusBar);
}

async function render(): Promise<void> {
  if (!state.session) return;
  shell();
  const p = path();
  for (const [pattern, screen] of routes) {
    const match = pattern.exec(p);
    if (match) {
      try {
        await screen(mainEl!, match.slice(1).map((x) => (x ? decodeURIComponent(x) : x)));
      } catch (e) {
        mount(mainEl!, h('div', { class: 'error' }, h('h2', {}, t('errorTitle')), h('p', {}, e instanceof Error ? e.message : String(e))));
      }
      return;
    }
  }
  go('/');
}

/** Redraws the screen unless the user is typing in it. */
function refreshData(): void {
  const active = document.activeElement;
  if (active && mainEl?.contains(active) && ['INPUT', 'TEXTAREA', 'SELECT'].includes(active.tagName)) return;
  if (mainEl?.dataset.live === 'true') void render();
}

async function start(): Promise<void> {
  if (!state.session) {
    loginView(root, async () => {
      await start();
    });
    return;
  }
  if (holdsReplica(state.session) && !state.core) {
    mount(root, h('p', { class: 'boot' }, t('enrolling')));
    try {
      await openDevice();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      if (e instanceof ApiError && e.status === 401) {
        await logout();
        return start();
      }
      mount(root, h('div', { class: 'error boot' }, h('h2', {}, t('errorTitle')), h('p', {}, message), h('button', { onclick: () => location.reload() }, 'Thử lại / Retry')));
      return;
    }
  }
  await render();
}

window.addEventListener('hashchange', () => void render());
onLangChange(() => void render());
onStatus(() => statusBar && renderStatusBar(statusBar));
onData(refreshData);
window.setInterval(() => statusBar && renderStatusBar(statusBar), 30_000);

void start();
