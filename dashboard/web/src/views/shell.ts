/**
 * The frame around every view: title, navigation, connection indicator, language switch, who is
 * signed in and the logout button; the banner that says the page is not live.
 */
import { LOCALES, type Locale } from '../../../i18n/index.js';
import type { Ctx } from '../context.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import type { ConnectionState } from '../live.js';
import type { Route } from '../router.js';
import type { SessionUser } from '../schemas.js';

export interface ShellActions {
  setLocale: (locale: Locale) => void;
  logout: () => void;
}

const NAV = [
  { name: 'overview', key: 'nav.overview', href: '#/overview' },
  { name: 'map', key: 'nav.map', href: '#/map' },
  { name: 'history', key: 'nav.history', href: '#/history' },
  { name: 'quality', key: 'nav.quality', href: '#/quality' },
] as const;

export function header(ctx: Ctx, route: Route, user: SessionUser | null, actions: ShellActions): HTMLElement {
  return h(
    'header',
    { class: 'topbar' },
    h(
      'div',
      { class: 'brand' },
      h('span', { class: 'brand-mark', 'aria-hidden': 'true' }, '◆'),
      h('span', { class: 'brand-title' }, t('app.title')),
    ),
    h(
      'nav',
      { class: 'nav', 'aria-label': t('app.nav') },
      ...NAV.map((item) =>
        h(
          'a',
          {
            href: item.href,
            'data-testid': `nav-${item.name}`,
            class: item.name === route.name ? 'active' : null,
            'aria-current': item.name === route.name ? 'page' : null,
          },
          t(item.key),
        ),
      ),
    ),
    h(
      'div',
      { class: 'tools' },
      connectionEl(ctx.connection),
      languageSwitch(ctx.locale, actions.setLocale),
      user
        ? h(
            'div',
            { class: 'user' },
            h(
              'span',
              {
                class: 'user-name',
                'data-testid': 'session-user',
                title: t('login.loggedInAs', { user: user.id, role: t(`login.role.${user.role}`) }),
              },
              user.id,
            ),
            h(
              'button',
              {
                type: 'button',
                class: 'button',
                'data-testid': 'logout',
                on: { click: () => actions.logout() },
              },
              t('nav.logout'),
            ),
          )
        : null,
    ),
  );
}

export function connectionEl(state: ConnectionState): HTMLElement {
  return h(
    'div',
    {
      class: `connection connection-${state}`,
      'data-testid': 'connection',
      'data-state': state,
      role: 'status',
      title: t('connection.help'),
    },
    h('span', { class: 'connection-dot', 'aria-hidden': 'true' }),
    t(`connection.${state}`),
  );
}

export function languageSwitch(current: Locale, set: (locale: Locale) => void): HTMLElement {
  return h(
    'div',
    {
      class: 'lang',
      role: 'group',
      'aria-label': t('app.language'),
      'data-testid': 'lang-switch',
      'data-locale': current,
    },
    ...LOCALES.map((l) =>
      h(
        'button',
        {
          type: 'button',
          lang: l,
          'data-testid': `lang-${l}`,
          'aria-pressed': String(l === current),
          title: t(`app.language.${l}`),
          on: { click: () => set(l) },
        },
        l.toUpperCase(),
      ),
    ),
  );
}

/** The banner under the header: not live, invalid data, a refused room. */
export function banners(ctx: Ctx, problem: string | null): HTMLElement {
  return h(
    'div',
    { class: 'banners', 'aria-live': 'polite' },
    ctx.connection === 'reconnecting'
      ? h(
          'div',
          { class: 'banner banner-warn', 'data-testid': 'banner-disconnected' },
          t('error.disconnected'),
        )
      : null,
    problem
      ? h(
          'div',
          { class: 'banner banner-error', 'data-testid': 'banner-problem', title: problem },
          t('error.invalidData'),
        )
      : null,
  );
}

export function loading(testid: string): HTMLElement {
  return h('div', { class: 'view loading', 'data-testid': testid, 'aria-busy': 'true' }, t('app.loading'));
}
