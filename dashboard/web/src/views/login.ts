/**
 * The login page, shown when the server requires a session and there is none. A wrong password
 * and too many attempts get their own message; the language switch is here too.
 */
import type { Locale } from '../../../i18n/index.js';
import { ApiError, api } from '../api.js';
import { h } from '../dom.js';
import { locale, t } from '../i18n.js';
import { languageSwitch } from './shell.js';

/** Kept as keys, not text: the language switch must translate the message already shown. */
type LoginError =
  { key: 'login.failed' | 'error.generic' } | { key: 'error.tooManyAttempts'; seconds: number };

export interface LoginState {
  error: LoginError | null;
  busy: boolean;
  /** Why the person is here: their session ended while the page was open. */
  expired: boolean;
}

export function loginPage(
  state: LoginState,
  actions: { setLocale: (l: Locale) => void; submitted: () => void; changed: () => void },
): HTMLElement {
  const submit = (event: Event) => {
    event.preventDefault();
    const form = event.target as HTMLFormElement;
    const data = new FormData(form);
    const field = (name: string) => {
      const value = data.get(name);
      return typeof value === 'string' ? value : '';
    };
    const id = field('id').trim();
    const password = field('password');
    state.busy = true;
    state.error = null;
    actions.changed();
    api
      .login(id, password)
      .then(() => {
        state.busy = false;
        state.expired = false;
        actions.submitted();
      })
      .catch((err: unknown) => {
        state.busy = false;
        state.error = messageOf(err);
        actions.changed();
      });
  };
  return h(
    'main',
    { class: 'login-page' },
    h(
      'div',
      { class: 'login-box' },
      h(
        'div',
        { class: 'login-top' },
        h('span', { class: 'brand-title' }, t('app.title')),
        languageSwitch(locale(), actions.setLocale),
      ),
      h('h1', null, t('login.title')),
      h('p', { class: 'muted' }, t(state.expired ? 'error.sessionExpired' : 'login.required')),
      h(
        'form',
        { class: 'login-form', 'data-testid': 'login-form', on: { submit } },
        h(
          'label',
          null,
          h('span', null, t('login.user')),
          h('input', {
            name: 'id',
            autocomplete: 'username',
            required: true,
            autocapitalize: 'none',
            spellcheck: 'false',
            'data-testid': 'login-user',
          }),
        ),
        h(
          'label',
          null,
          h('span', null, t('login.password')),
          h('input', {
            name: 'password',
            type: 'password',
            autocomplete: 'current-password',
            required: true,
            'data-testid': 'login-password',
          }),
        ),
        state.error
          ? h(
              'p',
              { class: 'banner banner-error', role: 'alert', 'data-testid': 'login-error' },
              errorText(state.error),
            )
          : null,
        h(
          'button',
          {
            type: 'submit',
            class: 'button button-primary',
            disabled: state.busy,
            'data-testid': 'login-submit',
          },
          t('login.submit'),
        ),
      ),
    ),
  );
}

function messageOf(err: unknown): LoginError {
  if (err instanceof ApiError) {
    if (err.status === 401) return { key: 'login.failed' };
    if (err.status === 429) return { key: 'error.tooManyAttempts', seconds: err.retryAfterS ?? 60 };
  }
  return { key: 'error.generic' };
}

const errorText = (e: LoginError) => ('seconds' in e ? t(e.key, { seconds: e.seconds }) : t(e.key));
