/** The energy card: power per public building and in total, energy today vs yesterday, temperatures. */
import type { EnergyCard } from '../../../aggregate/schemas.js';
import { formatDelta } from '../../../i18n/index.js';
import type { Ctx } from '../context.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { figureEl, rowFigure } from './figure.js';

export function energyBody(ctx: Ctx, card: EnergyCard): HTMLElement[] {
  const today = card.energyToday_kwh.value;
  const yesterday = card.energyYesterdaySameTime_kwh.value;
  const comparison =
    today === null || yesterday === null
      ? null
      : t('energy.vsYesterday', { delta: formatDelta(today - yesterday, 'kWh', ctx.locale) });
  const outdoor = card.outdoorTemperature_c;
  const station = outdoor.deviceId === null ? null : ctx.lookup.device(outdoor.deviceId);
  const stationName = station ? (ctx.lookup.siteName(station.site) ?? station.site) : null;
  return [
    h(
      'div',
      { class: 'fig-grid' },
      figureEl(ctx, {
        name: 'totalPower',
        label: t('energy.totalPower'),
        figure: card.totalPower_kw,
        unit: 'kW',
        size: 'big',
      }),
      figureEl(ctx, {
        name: 'energyToday',
        label: t('energy.today'),
        figure: card.energyToday_kwh,
        unit: 'kWh',
        note: comparison,
      }),
      figureEl(ctx, {
        name: 'energyYesterday',
        label: t('energy.yesterdaySameTime'),
        figure: card.energyYesterdaySameTime_kwh,
        unit: 'kWh',
      }),
      figureEl(ctx, {
        name: 'outdoorTemp',
        label: t('energy.outdoorTemperature'),
        figure: outdoor,
        unit: '°C',
        note:
          // Station names already say "weather station": the name alone reads better.
          stationName && outdoor.value !== null ? stationName : null,
      }),
    ),
    card.buildings.length === 0
      ? null
      : h(
          'section',
          { class: 'card-list table3' },
          h(
            'div',
            { class: 'row row-head' },
            h('h4', { class: 'row-name' }, t('energy.buildings')),
            h('span', { class: 'col-head' }, t('energy.power')),
            h('span', { class: 'col-head' }, t('energy.indoorTemperature')),
          ),
          ...card.buildings.map((b) =>
            h(
              'div',
              { class: 'row row-3' },
              h('span', { class: 'row-name', title: b.siteName }, b.siteName),
              rowFigure(ctx, `power-${b.site}`, b.power_kw, 'kW'),
              rowFigure(ctx, `indoorTemp-${b.site}`, b.indoorTemperature_c, '°C'),
            ),
          ),
        ),
  ].filter((x): x is HTMLElement => x !== null);
}
