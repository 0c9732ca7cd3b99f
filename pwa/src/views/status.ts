// The status bar: online or not, changes waiting for the hub, the last
// successful sync, and a progress line during a long sync.
import { state } from '../lib/app';
import { h, mount } from '../lib/dom';
import { ago, dateTime } from '../lib/format';
import { t } from '../lib/i18n';

export function renderStatusBar(el: HTMLElement): void {
  const core = state.core;
  if (!core) {
    // Administrators work online only.
    const up = navigator.onLine;
    el.className = `statusbar ${up ? 'online' : 'offline'}`;
    mount(el, h('span', { class: 'dot' }), h('span', { class: 'state' }, up ? t('online') : t('adminOnlineOnly')));
    return;
  }
  const s = core.status();
  const live = s.connected && s.phase === 'live';
  const mode = state.rejected ? 'rejected' : live ? 'online' : s.connected ? 'connecting' : 'offline';
  el.className = `statusbar ${mode}`;
  el.dataset.phase = s.phase;
  el.dataset.pending = String(s.pending);
  const label = state.rejected
    ? t('hubRefusedDevice', { m: state.rejected })
    : live
      ? t('online')
      : s.connected
        ? s.phase === 'connecting' ? t('connecting') : t('syncing')
        : t('offline');
  let progress = '';
  if (s.connected && s.phase === 'catching_up' && s.received_this_connection > 0) {
    progress = t('progressReceiving', { n: s.received_this_connection });
  } else if (s.connected && s.in_flight > 0) {
    progress = t('progressSending', { n: s.in_flight });
  } else if (s.connected && s.phase === 'checking') {
    progress = t('progressChecking');
  }
  mount(
    el,
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    h('span', { class: 'state' }, label),
    h('span', { class: `pending ${s.pending > 0 ? 'has' : ''}`, id: 'pending-count' }, s.pending > 0 ? t('pending', { n: s.pending }) : t('allSent')),
    h(
      'span',
      { class: 'last', title: state.lastSync ? dateTime(state.lastSync) : '' },
      state.lastSync ? t('lastSync', { t: ago(state.lastSync) }) : t('neverSynced'),
    ),
    progress ? h('span', { class: 'progress' }, progress) : null,
    !s.connected ? h('button', { class: 'link', onclick: () => state.sync?.connectNow() }, t('syncNow')) : null,
  );
}
