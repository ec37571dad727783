/**
 * Overview: one card per corridor × municipality (corridors as sections, municipalities across),
 * the fleet's state counts and the active alerts on top. Room `overview`.
 */
import type { Alert } from '../../../../contract/index.js';
import { OVERVIEW } from '../../../aggregate/rooms.js';
import { MAP_STATES, type Card } from '../../../aggregate/schemas.js';
import type { Ctx, View } from '../context.js';
import { h } from '../dom.js';
import { t, tk } from '../i18n.js';
import { energyBody } from './card-energy.js';
import { mobilityBody } from './card-mobility.js';
import { waterBody } from './card-water.js';
import { shortAsOf } from './figure.js';
import { stateIcon } from './icons.js';
import { loading } from './shell.js';

const SHOWN_ALERTS = 4;

export function overviewView(): View {
  return {
    rooms: () => [OVERVIEW],
    render(ctx) {
      const snap = ctx.snapshot(OVERVIEW, 'overview');
      if (!snap) return loading('overview-view');
      const { data } = snap;
      const names = new Map(data.municipalities.map((m) => [m.id, m.name]));
      return h(
        'div',
        { class: 'view overview', 'data-testid': 'overview-view' },
        h(
          'div',
          { class: 'summary' },
          h(
            'a',
            { class: 'fleet', href: '#/map', 'data-testid': 'fleet-states' },
            h('span', { class: 'fleet-title' }, t('overview.fleet')),
            ...MAP_STATES.map((state) =>
              h(
                'span',
                {
                  class: `fleet-state state-${state}`,
                  'data-state': state,
                  'data-value': data.states[state],
                  title: t(`state.${state}.help`),
                },
                stateIcon(state),
                h('strong', null, String(data.states[state])),
                h('span', { class: 'fleet-label' }, t(`state.${state}`)),
              ),
            ),
          ),
          alertsEl(ctx, data.alerts),
        ),
        ...data.corridors.map((corridor) =>
          h(
            'section',
            { class: `corridor corridor-${corridor.id}`, 'data-testid': `corridor-${corridor.id}` },
            h('h2', null, tk(`corridor.${corridor.id}`, corridor.name)),
            h(
              'div',
              { class: 'cards' },
              ...data.cards
                .filter((c) => c.corridor === corridor.id)
                .map((c) => cardEl(ctx, c, names.get(c.municipality) ?? c.municipality)),
            ),
          ),
        ),
      );
    },
  };
}

function cardEl(ctx: Ctx, card: Card, municipalityName: string): HTMLElement {
  const body =
    card.corridor === 'water'
      ? waterBody(ctx, card)
      : card.corridor === 'energy'
        ? energyBody(ctx, card)
        : mobilityBody(ctx, card);
  const empty = isEmpty(card);
  return h(
    'article',
    {
      class: `card card-${card.corridor}${empty ? ' is-empty' : ''}`,
      'data-testid': `card-${card.corridor}-${card.municipality}`,
    },
    h('h3', null, municipalityName),
    ...(empty ? [h('p', { class: 'muted' }, t('card.empty'))] : body),
  );
}

/** A municipality without devices of the corridor: say so instead of a card full of "no data". */
function isEmpty(card: Card): boolean {
  switch (card.corridor) {
    case 'water':
      return (
        card.totalFlow_l_s.expected +
          card.lowestPressure_bar.expected +
          card.reservoirs.length +
          card.quality.probes.length ===
        0
      );
    case 'energy':
      return card.buildings.length === 0 && card.outdoorTemperature_c.expected === 0;
    case 'mobility':
      return card.carParks.length + card.counters.length + card.chargers.length === 0;
  }
}

function alertsEl(ctx: Ctx, alerts: Alert[]): HTMLElement | null {
  if (alerts.length === 0) return null;
  return h(
    'div',
    { class: 'alerts', 'data-testid': 'overview-alerts' },
    h(
      'h2',
      { class: 'alerts-title' },
      t('overview.alerts'),
      h('span', { class: 'count' }, String(alerts.length)),
    ),
    h('ul', null, ...alerts.slice(0, SHOWN_ALERTS).map((a) => alertItem(ctx, a))),
    alerts.length > SHOWN_ALERTS
      ? h(
          'a',
          { href: '#/quality', class: 'more' },
          t('overview.moreAlerts', { count: alerts.length - SHOWN_ALERTS }),
        )
      : null,
  );
}

export function alertItem(ctx: Ctx, alert: Alert): HTMLElement {
  return h(
    'li',
    { class: `alert alert-${alert.severity}`, 'data-testid': `alert-${alert.id}` },
    h('span', { class: 'alert-severity' }, t(`alert.severity.${alert.severity}`)),
    alert.deviceId
      ? h(
          'a',
          { href: `#/device/${encodeURIComponent(alert.deviceId)}`, class: 'alert-message' },
          alert.message,
        )
      : h('span', { class: 'alert-message' }, alert.message),
    h('span', { class: 'alert-since muted' }, t('alert.since', { time: shortAsOf(alert.since, ctx) })),
  );
}
