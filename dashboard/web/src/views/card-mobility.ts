/** The mobility card: car-park occupancy and free spaces, traffic per counter, chargers in use. */
import type { MobilityCard } from '../../../aggregate/schemas.js';
import type { Ctx } from '../context.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { gauge } from './card-water.js';
import { figureEl, rowFigure } from './figure.js';

export function mobilityBody(ctx: Ctx, card: MobilityCard): HTMLElement[] {
  const inUse = card.connectorsInUse.value;
  const available = card.connectorsAvailable.value;
  return [
    h(
      'div',
      { class: 'fig-grid' },
      card.carParks.length === 0
        ? null
        : figureEl(ctx, {
            name: 'occupancy',
            label: t('mobility.occupancy'),
            figure: card.occupancy_pct,
            unit: '%',
            size: 'big',
          }),
      card.carParks.length === 0
        ? null
        : figureEl(ctx, {
            name: 'freeSpaces',
            label: t('mobility.freeSpaces'),
            figure: card.freeSpaces,
            unit: 'spaces',
          }),
      card.chargers.length === 0
        ? null
        : figureEl(ctx, {
            name: 'chargersInUse',
            label: t('mobility.chargers'),
            figure: card.connectorsInUse,
            unit: 'connectors',
            text: inUse === null || available === null ? null : t('mobility.inUseOf', { inUse, available }),
            note: inUse === null ? null : t('metric.ev_charger.connectors_in_use'),
          }),
    ),
    card.carParks.length === 0
      ? null
      : h(
          'section',
          { class: 'card-list' },
          h('h4', null, t('mobility.carParks')),
          ...card.carParks.map((p) =>
            h(
              'div',
              { class: 'row row-gauge' },
              h('a', { class: 'row-name', href: `#/device/${encodeURIComponent(p.deviceId)}` }, p.siteName),
              rowFigure(ctx, `occupancy-${p.deviceId}`, p.occupancy_pct, '%'),
              gauge(p.occupancy_pct.value),
              h(
                'span',
                {
                  class: 'row-sub',
                  'data-testid': `fig-free-${p.deviceId}`,
                  'data-value': p.freeSpaces.value ?? '',
                },
                p.freeSpaces.value === null
                  ? t('figure.noData')
                  : t('mobility.freeOf', { free: p.freeSpaces.value, capacity: p.capacity }),
              ),
            ),
          ),
        ),
    card.counters.length === 0
      ? null
      : h(
          'section',
          { class: 'card-list table3' },
          h(
            'div',
            { class: 'row row-head' },
            h('h4', { class: 'row-name' }, t('mobility.counters')),
            h('span', { class: 'col-head' }, t('mobility.vehiclesPerHour')),
            h('span', { class: 'col-head' }, t('mobility.meanSpeed')),
          ),
          ...card.counters.map((c) =>
            h(
              'div',
              { class: 'row row-3' },
              h(
                'a',
                { class: 'row-name', title: c.siteName, href: `#/device/${encodeURIComponent(c.deviceId)}` },
                c.siteName,
              ),
              rowFigure(ctx, `vehiclesPerHour-${c.deviceId}`, c.vehiclesPerHour, 'vehicles/h'),
              rowFigure(ctx, `meanSpeed-${c.deviceId}`, c.meanSpeed_km_h, 'km/h', 0),
            ),
          ),
        ),
  ].filter((x): x is HTMLElement => x !== null);
}
