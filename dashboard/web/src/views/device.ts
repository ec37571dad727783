/**
 * Device view: its state and presence (offline / stale as DESIGN defines them), the last reading
 * with its as-of, one figure and sparkline per metric, the accepted / duplicate / rejected counts
 * and the last reject with its code and message. Room `device:{id}`.
 */
import { STALE_INTERVALS } from '../../../aggregate/presence.js';
import type { DeviceData } from '../../../aggregate/schemas.js';
import { deviceRoom } from '../../../aggregate/rooms.js';
import { formatDateTime, formatMeasure, formatNumber } from '../../../i18n/index.js';
import type { Ctx, View } from '../context.js';
import { h } from '../dom.js';
import { kindLabel, metricLabel, t, tk } from '../i18n.js';
import { href } from '../router.js';
import { asOfEl, countedSinceMark, figureClass, marks } from './figure.js';
import { stateIcon } from './icons.js';
import { alertItem } from './overview.js';
import { loading } from './shell.js';
import { sparkline } from './sparkline.js';

export function deviceView(id: string): View {
  const room = deviceRoom(id);
  return {
    rooms: () => [room],
    render(ctx) {
      const snap = ctx.snapshot(room, 'device');
      const refused = ctx.refused(room);
      if (!snap && refused) {
        return h(
          'div',
          { class: 'view', 'data-testid': 'device-view' },
          h('p', { class: 'banner banner-error' }, t('error.notFound'), ` (${id})`),
        );
      }
      if (!snap) return loading('device-view');
      return render(ctx, snap.data, snap.countedSince);
    },
  };
}

function render(ctx: Ctx, data: DeviceData, countedSince: number): HTMLElement {
  const d = data.device;
  return h(
    'div',
    {
      class: 'view device-view',
      'data-testid': 'device-view',
      'data-device-id': d.id,
      'data-state': d.state,
    },
    h(
      'div',
      { class: 'device-head' },
      h(
        'div',
        null,
        h('h1', null, d.siteName, h('span', { class: 'muted' }, ` · ${kindLabel(d.kind)}`)),
        h(
          'p',
          { class: 'muted' },
          `${d.id} · ${ctx.lookup.municipalityName(d.municipality) ?? d.municipality} · ${tk(`corridor.${d.corridor}`, d.corridor)} · ${t('device.interval', { seconds: d.intervalS })}`,
        ),
        d.description ? h('p', null, d.description) : null,
      ),
      h(
        'div',
        {
          class: `state-badge state-${d.state}`,
          'data-testid': 'device-state',
          'data-state': d.state,
          title: t(`state.${d.state}.help`),
        },
        stateIcon(d.state),
        t(`state.${d.state}`),
      ),
      h(
        'a',
        {
          class: 'button',
          href: href({ name: 'history', id: d.id, range: '24h' }),
          'data-testid': 'device-history-link',
        },
        t('device.showHistory'),
      ),
    ),
    h(
      'div',
      { class: 'device-grid' },
      presenceEl(ctx, data),
      lastReadingEl(ctx, data),
      countsEl(ctx, data, countedSince),
    ),
    data.alerts.length
      ? h(
          'section',
          { class: 'panel' },
          h('h2', null, t('device.alerts')),
          h('ul', { class: 'alerts-list' }, ...data.alerts.map((a) => alertItem(ctx, a))),
        )
      : null,
    h('h2', null, t('device.metrics')),
    h('div', { class: 'metrics' }, ...data.metrics.map((m) => metricEl(ctx, d.kind, degraded(ctx, data), m))),
  );
}

/**
 * Whether the device's values are no longer current (DESIGN: offline, or stale = the newest reading
 * older than 3 reporting intervals). Worked out here too because "alert" on the map hides which.
 */
function degraded(ctx: Ctx, data: DeviceData): boolean {
  const { state, lastReadingTs, intervalS } = data.device;
  if (state === 'stale' || state === 'offline' || !data.presence.connected) return true;
  return lastReadingTs !== null && ctx.now - lastReadingTs > STALE_INTERVALS * intervalS * 1000;
}

function presenceEl(ctx: Ctx, data: DeviceData): HTMLElement {
  const p = data.presence;
  const session =
    p.session === 'offline'
      ? t('device.session.offline', { reason: p.sessionReason ?? '?' })
      : t(`device.session.${p.session}`);
  return h(
    'section',
    { class: 'panel', 'data-testid': 'device-presence', 'data-connected': String(p.connected) },
    h('h2', null, t('device.presence')),
    h(
      'p',
      null,
      session,
      p.sessionAt === null
        ? null
        : h('span', { class: 'muted' }, ` · ${formatDateTime(p.sessionAt, ctx.locale)}`),
    ),
    p.status === null
      ? null
      : h(
          'p',
          null,
          t('device.status', { status: p.status }),
          p.statusAt === null
            ? null
            : h('span', { class: 'muted' }, ` · ${formatDateTime(p.statusAt, ctx.locale)}`),
        ),
    h(
      'p',
      { 'data-testid': 'device-last-seen', 'data-value': data.device.lastSeen ?? '' },
      `${t('device.lastSeen')}: `,
      data.device.lastSeen === null ? t('time.never') : formatDateTime(data.device.lastSeen, ctx.locale),
    ),
  );
}

function lastReadingEl(ctx: Ctx, data: DeviceData): HTMLElement {
  const r = data.lastReading;
  return h(
    'section',
    { class: 'panel', 'data-testid': 'device-last-reading', 'data-ts': r?.ts ?? '' },
    h('h2', null, t('device.lastReading')),
    r === null
      ? h('p', { class: 'muted' }, t('device.noReading'))
      : [
          h(
            'p',
            null,
            asOfEl(r.ts, ctx),
            h('span', { class: 'muted' }, ` · ${formatDateTime(r.ts, ctx.locale)}`),
          ),
          h(
            'p',
            { class: 'muted' },
            t('device.receivedAt', { time: formatDateTime(r.receivedAt, ctx.locale) }),
            r.seq === null ? null : ` · ${t('device.seq', { seq: String(r.seq) })}`,
          ),
          r.flags.length
            ? h(
                'p',
                { class: 'flags' },
                ...r.flags.map((f) => h('span', { class: 'flag' }, tk(`device.flag.${f}`, f))),
              )
            : null,
          // The reading as it came: only the metrics it carried (a device may send a subset).
          h(
            'dl',
            { class: 'reading-values' },
            ...Object.entries(r.values).flatMap(([metric, value]) => [
              h('dt', null, metricLabel(data.device.kind, metric)),
              h(
                'dd',
                { 'data-metric': metric, 'data-value': value },
                formatMeasure(value, data.metrics.find((m) => m.metric === metric)?.unit ?? '', ctx.locale),
              ),
            ]),
          ),
        ],
  );
}

function countsEl(ctx: Ctx, data: DeviceData, countedSince: number): HTMLElement {
  const row = (label: string, name: 'accepted' | 'duplicate' | 'rejected') =>
    h(
      'tr',
      null,
      h('th', { scope: 'row' }, label),
      h(
        'td',
        { 'data-testid': `fig-${name}`, 'data-value': data.totals[name] },
        formatNumber(data.totals[name], ctx.locale),
      ),
      h(
        'td',
        { 'data-testid': `fig-${name}-hour`, 'data-value': data.lastHour[name] },
        formatNumber(data.lastHour[name], ctx.locale),
      ),
    );
  const reject = data.lastReject;
  return h(
    'section',
    { class: 'panel' },
    h('h2', null, t('device.counts')),
    h(
      'table',
      { class: 'counts' },
      h(
        'thead',
        null,
        h(
          'tr',
          null,
          h('td'),
          h(
            'th',
            { scope: 'col', 'data-counted-since': String(countedSince) },
            t('quality.total', { time: formatDateTime(countedSince, ctx.locale) }),
          ),
          h('th', { scope: 'col' }, t('quality.lastHour')),
        ),
      ),
      h(
        'tbody',
        null,
        row(t('device.accepted'), 'accepted'),
        row(t('device.duplicate'), 'duplicate'),
        row(t('device.rejected'), 'rejected'),
      ),
    ),
    h(
      'div',
      { class: 'last-reject', 'data-testid': 'device-last-reject', 'data-code': reject?.code ?? '' },
      h('h3', null, t('device.lastReject')),
      reject === null
        ? h('p', { class: 'muted' }, t('device.noReject'))
        : [
            h(
              'p',
              null,
              h('code', { class: 'code' }, reject.code),
              ' ',
              tk(`reject.${reject.code}`, reject.code),
            ),
            h(
              'p',
              { class: 'reject-message' },
              reject.message,
              reject.path
                ? h('span', { class: 'muted' }, ` · ${t('device.rejectPath', { path: reject.path })}`)
                : null,
            ),
            h('p', { class: 'muted' }, formatDateTime(reject.at, ctx.locale)),
          ],
    ),
  );
}

function metricEl(ctx: Ctx, kind: string, degraded: boolean, m: DeviceData['metrics'][number]): HTMLElement {
  const figure = {
    value: m.value,
    asOf: m.asOf,
    devices: m.value === null ? 0 : 1,
    expected: 1,
    stale: m.value !== null && degraded,
  };
  const label = metricLabel(kind, m.metric);
  return h(
    'div',
    {
      class: `${figureClass(figure, ctx)} metric`,
      'data-testid': `fig-${m.metric}`,
      'data-value': m.value ?? '',
      'data-metric': m.metric,
    },
    h('div', { class: 'fig-label' }, label),
    h('div', { class: 'fig-value' }, formatMeasure(m.value, m.unit, ctx.locale)),
    m.today === null
      ? null
      : h(
          'div',
          { class: 'fig-note', 'data-testid': `fig-${m.metric}-today`, 'data-value': m.today },
          t('device.today', { value: formatMeasure(m.today, m.unit, ctx.locale) }),
          m.todayCountedSince === null ? null : [' · ', countedSinceMark(m.todayCountedSince, ctx)],
        ),
    h('div', { class: 'fig-meta' }, asOfEl(m.asOf, ctx), ...marks(figure, ctx)),
    sparkline(m.series, m.unit, ctx.locale, t('device.sparkline', { count: m.series.length })),
  );
}
