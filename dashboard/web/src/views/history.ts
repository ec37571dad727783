/**
 * History: one chart per metric of a device over the last hour, day or week (GET /api/history),
 * min–mean–max per bucket; where the data comes from (InfluxDB or the local rollups) and, when the
 * sink is behind, by how much (the newest readings are then not in the chart yet). Refetched every
 * minute while shown.
 */
import { getKind } from '../../../../contract/index.js';
import { formatDuration } from '../../../i18n/index.js';
import { api } from '../api.js';
import type { Ctx, View } from '../context.js';
import { h } from '../dom.js';
import { kindLabel, locale, metricLabel, t } from '../i18n.js';
import { href } from '../router.js';
import { HISTORY_RANGES, type History, type HistoryRange } from '../schemas.js';
import { HistoryChart } from './chart.js';

const REFRESH_MS = 60_000;
/** Below this the sink is keeping up (a batch in flight is normal): no lag shown. */
const LAG_SHOWN_MS = 10_000;

type Loaded = { state: 'loading' } | { state: 'ok'; history: History } | { state: 'error'; message: string };

export function historyView(id: string | null, range: HistoryRange): View {
  const results = new Map<string, Loaded>();
  const charts = new Map<string, { chart: HistoryChart; key: string }>();
  let timer: ReturnType<typeof setInterval> | undefined;
  let started = false;

  const fetchAll = (ctx: Ctx, metrics: string[]) => {
    for (const metric of metrics) {
      if (!results.has(metric)) results.set(metric, { state: 'loading' });
      api
        .history(id ?? '', metric, range)
        .then((history) => results.set(metric, { state: 'ok', history }))
        .catch((err: unknown) =>
          results.set(metric, { state: 'error', message: err instanceof Error ? err.message : String(err) }),
        )
        .finally(() => ctx.refresh());
    }
  };

  return {
    rooms: () => [],
    render(ctx) {
      const device = id === null ? null : ctx.lookup.device(id);
      const kind = device ? getKind(device.kind) : undefined;
      const metrics = kind ? Object.keys(kind.metrics) : [];
      if (!started && kind) {
        started = true;
        fetchAll(ctx, metrics);
        timer = setInterval(() => fetchAll(ctx, metrics), REFRESH_MS);
      }
      const loaded = [...results.values()].flatMap((r) => (r.state === 'ok' ? [r.history] : []));
      const first = loaded[0];
      const lag = Math.max(0, ...loaded.map((r) => r.sinkLagMs ?? 0));
      return h(
        'div',
        {
          class: 'view history-view',
          'data-testid': 'history-view',
          'data-device-id': id ?? '',
          'data-range': range,
        },
        h(
          'div',
          { class: 'history-head' },
          h(
            'h1',
            null,
            t('history.title'),
            device
              ? h(
                  'span',
                  { class: 'muted' },
                  ` · ${ctx.lookup.siteName(device.site) ?? device.site} · ${kindLabel(device.kind)}`,
                )
              : null,
          ),
          picker(ctx, id, range),
          id === null
            ? null
            : h(
                'div',
                { class: 'segmented', role: 'group', 'aria-label': t('history.range') },
                ...HISTORY_RANGES.map((r) =>
                  h(
                    'a',
                    {
                      href: href({ name: 'history', id, range: r }),
                      'data-testid': `history-range-${r}`,
                      'aria-current': r === range ? 'true' : null,
                      class: r === range ? 'active' : null,
                    },
                    t(
                      r === '1h'
                        ? 'history.range.hour'
                        : r === '24h'
                          ? 'history.range.day'
                          : 'history.range.week',
                    ),
                  ),
                ),
              ),
        ),
        first
          ? h(
              'p',
              { class: 'muted', 'data-testid': 'history-source', 'data-source': first.source },
              t(first.source === 'influxdb' ? 'history.source.influx' : 'history.source.rollups'),
              ' · ',
              t('history.bucket', { duration: formatDuration(first.bucketMs, ctx.locale) }),
            )
          : null,
        lag > LAG_SHOWN_MS
          ? h(
              'p',
              { class: 'banner banner-warn', 'data-testid': 'history-lag', 'data-value': lag },
              t('history.sinkLag', { lag: formatDuration(lag, ctx.locale) }),
            )
          : null,
        device && !kind ? h('p', { class: 'banner banner-error' }, t('error.notFound')) : null,
        id !== null && !device && ctx.lookup.devices.length > 0
          ? h('p', { class: 'banner banner-error' }, t('error.notFound'), ` (${id})`)
          : null,
        ...metrics.map((metric) => chartSection(ctx, device?.kind ?? '', metric, results.get(metric))),
        id !== null && ctx.lookup.devices.length === 0 ? h('p', { class: 'muted' }, t('app.loading')) : null,
      );
    },
    afterRender(root, ctx) {
      for (const el of root.querySelectorAll<HTMLElement>('[data-chart]')) {
        const metric = el.dataset.chart ?? '';
        const result = results.get(metric);
        if (result?.state !== 'ok') continue;
        const key = `${ctx.locale}|${result.history.asOf}|${result.history.points.length}`;
        const existing = charts.get(metric);
        if (existing && existing.key === key && existing.chart.el === el && el.isConnected) continue;
        existing?.chart.destroy();
        el.replaceChildren();
        charts.set(metric, { chart: new HistoryChart(el, result.history, locale(), labels()), key });
      }
    },
    dispose() {
      clearInterval(timer);
      for (const { chart } of charts.values()) chart.destroy();
      charts.clear();
    },
  };
}

const labels = () => ({
  time: t('history.time'),
  min: t('history.min'),
  mean: t('history.mean'),
  max: t('history.max'),
});

function chartSection(ctx: Ctx, kind: string, metric: string, result: Loaded | undefined): HTMLElement {
  const unit = getKind(kind)?.metrics[metric]?.unit ?? '';
  const points = result?.state === 'ok' ? result.history.points.length : 0;
  return h(
    'section',
    { class: 'panel chart-panel', 'data-testid': `history-metric-${metric}` },
    h('h2', null, metricLabel(kind, metric), unit ? h('span', { class: 'muted' }, ` (${unit})`) : null),
    !result || result.state === 'loading'
      ? h('p', { class: 'muted' }, t('app.loading'))
      : result.state === 'error'
        ? h('p', { class: 'banner banner-error' }, t('history.error', { message: result.message }))
        : points === 0
          ? h(
              'p',
              { class: 'muted', 'data-testid': `history-chart-${metric}`, 'data-points': 0 },
              t('history.noData'),
            )
          : h('div', {
              class: 'chart',
              'data-keep': '',
              'data-chart': metric,
              'data-testid': `history-chart-${metric}`,
              'data-points': points,
            }),
  );
}

function picker(ctx: Ctx, id: string | null, range: HistoryRange): HTMLElement {
  const groups = new Map<string, typeof ctx.lookup.devices>();
  for (const d of ctx.lookup.devices) {
    const municipality = ctx.lookup.site(d.site)?.municipality ?? '';
    const key = ctx.lookup.municipalityName(municipality) ?? municipality;
    groups.set(key, [...(groups.get(key) ?? []), d]);
  }
  return h(
    'label',
    { class: 'picker' },
    h('span', { class: 'visually-hidden' }, t('history.pickDevice')),
    h(
      'select',
      {
        'data-testid': 'history-device',
        on: {
          change: (e) => {
            const value = (e.target as HTMLSelectElement).value;
            if (value) location.hash = href({ name: 'history', id: value, range });
          },
        },
      },
      h('option', { value: '', selected: id === null }, t('history.pickDevice')),
      ...[...groups].map(([municipality, devices]) =>
        h(
          'optgroup',
          { label: municipality },
          ...devices.map((d) =>
            h(
              'option',
              { value: d.id, selected: d.id === id },
              `${ctx.lookup.siteName(d.site) ?? d.site} · ${kindLabel(d.kind)}`,
            ),
          ),
        ),
      ),
    ),
  );
}
