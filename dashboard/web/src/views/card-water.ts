/** The water card of one municipality: flow, volume today, lowest pressure, reservoirs, quality. */
import type { WaterCard } from '../../../aggregate/schemas.js';
import { formatMeasure, formatNumber } from '../../../i18n/index.js';
import type { Ctx } from '../context.js';
import { h } from '../dom.js';
import { metricLabel, t } from '../i18n.js';
import { asOfEl, figureEl, rowFigure } from './figure.js';
import { pauseIcon } from './icons.js';

type Probe = WaterCard['quality']['probes'][number];
const UNIT = { free_chlorine_mg_l: 'mg/l', turbidity_ntu: 'NTU', ph: 'pH' } as const;

export function waterBody(ctx: Ctx, card: WaterCard): HTMLElement[] {
  const low = card.lowestPressure_bar;
  const lowSite = low.deviceId === null ? null : siteOf(ctx, low.deviceId);
  return [
    h(
      'div',
      { class: 'fig-grid' },
      figureEl(ctx, {
        name: 'totalFlow',
        label: t('water.totalFlow'),
        figure: card.totalFlow_l_s,
        unit: 'l/s',
        size: 'big',
      }),
      figureEl(ctx, {
        name: 'volumeToday',
        label: t('water.volumeToday'),
        figure: card.volumeToday_m3,
        unit: 'm³',
        digits: 1,
      }),
      figureEl(ctx, {
        name: 'lowestPressure',
        label: t('water.lowestPressure'),
        figure: low,
        unit: 'bar',
        note: lowSite && low.value !== null ? t('water.lowestPressureAt', { site: lowSite }) : null,
      }),
    ),
    card.reservoirs.length === 0
      ? null
      : h(
          'section',
          { class: 'card-list' },
          h('h4', null, t('water.reservoirs')),
          ...card.reservoirs.map((r) =>
            h(
              'div',
              { class: 'row row-gauge' },
              h('a', { class: 'row-name', href: `#/device/${encodeURIComponent(r.deviceId)}` }, r.siteName),
              rowFigure(ctx, `reservoir-${r.deviceId}`, r.level_pct, '%'),
              gauge(r.level_pct.value),
            ),
          ),
        ),
    qualityEl(ctx, card.quality),
  ].filter((x): x is HTMLElement => x !== null);
}

/** A level bar: a quick read of "how full" across the room; the number stays the truth. */
export function gauge(pct: number | null): HTMLElement {
  const width = pct === null ? 0 : Math.max(0, Math.min(100, pct));
  return h(
    'span',
    { class: `gauge${pct === null ? ' is-nodata' : ''}`, 'aria-hidden': 'true' },
    h('span', { class: 'gauge-fill', style: `width:${width.toFixed(1)}%` }),
  );
}

function qualityEl(ctx: Ctx, quality: WaterCard['quality']): HTMLElement | null {
  if (quality.probes.length === 0) return null;
  return h(
    'section',
    { class: 'card-list', 'data-testid': 'fig-quality', 'data-status': quality.status, 'data-value': '' },
    h('h4', null, t('water.quality')),
    ...quality.probes.map((p) => probeEl(ctx, p, quality.probes.length > 1)),
  );
}

function probeEl(ctx: Ctx, probe: Probe, named: boolean): HTMLElement {
  const icon = probe.status === 'ok' ? '✓' : probe.status === 'breach' ? '⚠' : '–';
  const breaches = probe.breaches.map((b) =>
    h(
      'li',
      { 'data-metric': b.metric },
      t(b.bound === 'low' ? 'water.quality.low' : 'water.quality.high', {
        metric: metricLabel('water_quality', b.metric),
        limit: formatMeasure(b.limit, UNIT[b.metric], ctx.locale),
      }),
      ` (${formatMeasure(b.value, UNIT[b.metric], ctx.locale)})`,
    ),
  );
  return h(
    'div',
    {
      class: `quality quality-${probe.status}${probe.stale ? ' is-stale' : ''}`,
      'data-testid': `fig-quality-${probe.deviceId}`,
      'data-status': probe.status,
    },
    h(
      'div',
      { class: 'quality-head' },
      h('span', { class: 'quality-icon', 'aria-hidden': 'true' }, icon),
      h('strong', null, t(`water.quality.${probe.status}`)),
    ),
    named ? h('div', { class: 'quality-site muted' }, probe.siteName) : null,
    breaches.length ? h('ul', { class: 'breaches' }, ...breaches) : null,
    probeValues(ctx, probe),
    h(
      'div',
      { class: 'fig-meta' },
      probe.asOf === null ? null : asOfEl(probe.asOf, ctx),
      probe.stale ? h('span', { class: 'mark-stale' }, pauseIcon(), t('figure.stale')) : null,
      ctx.connection === 'live' ? null : h('span', { class: 'mark-notlive' }, t('connection.notLive')),
    ),
  );
}

/** Chlorine, turbidity and pH as measured, each with its name; nothing when the probe has none. */
function probeValues(ctx: Ctx, probe: Probe): HTMLElement | null {
  const metrics = Object.keys(UNIT) as (keyof typeof UNIT)[];
  if (metrics.every((m) => probe[m] === null)) return null;
  return h(
    'div',
    { class: 'probe-values' },
    ...metrics.map((m) => {
      const value = probe[m];
      const text =
        m === 'ph'
          ? value === null
            ? t('figure.noData')
            : formatNumber(value, ctx.locale, 1)
          : formatMeasure(value, UNIT[m], ctx.locale);
      return h('span', { 'data-metric': m }, `${metricLabel('water_quality', m)} `, h('strong', null, text));
    }),
  );
}

function siteOf(ctx: Ctx, deviceId: string): string | null {
  const device = ctx.lookup.device(deviceId);
  return device ? (ctx.lookup.siteName(device.site) ?? device.site) : deviceId;
}
