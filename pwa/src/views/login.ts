// Log-in with the hub's user accounts. The first log-in on a device needs
// the hub; after that the app opens offline with the saved session.
import { login } from '../lib/app';
import { ApiError } from '../lib/api';
import { h, mount } from '../lib/dom';
import { lang, setLang, t } from '../lib/i18n';

export function loginView(root: HTMLElement, done: () => Promise<void>): void {
  const error = h('p', { class: 'form-error', role: 'alert' });
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'off', spellcheck: 'false' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const button = h('button', { type: 'submit', class: 'primary wide' }, t('loginButton'));
  const form = h(
    'form',
    {
      class: 'card login',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        button.disabled = true;
        button.textContent = t('loggingIn');
        error.textContent = '';
        try {
          await login(username.value, password.value);
          await done();
        } catch (err) {
          error.textContent = err instanceof ApiError && err.code === 'unreachable' ? t('loginOffline') : err instanceof Error ? err.message : String(err);
          button.disabled = false;
          button.textContent = t('loginButton');
        }
      },
    },
    h('img', { src: '/icons/icon.svg', alt: '', width: 64, height: 64, class: 'login-logo' }),
    h('h1', {}, t('appName')),
    h('p', { class: 'muted' }, t('tagline')),
    h('label', {}, t('username'), username),
    h('label', {}, t('password'), password),
    error,
    button,
    h('button', { type: 'button', class: 'ghost', onclick: () => { setLang(lang() === 'vi' ? 'en' : 'vi'); loginView(root, done); } }, t('language')),
    h('p', { class: 'muted small' }, h('a', { href: '/tra-cuu/' }, 'Tra cứu hồ sơ dành cho công dân / Citizens: look up a dossier')),
  );
  mount(root, h('div', { class: 'login-page' }, form));
  username.focus();
}
