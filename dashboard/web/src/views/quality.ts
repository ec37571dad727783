/**
 * Data quality: accepted vs rejected per device and the reject codes over the last hour (room
 * `quality`), the outbox backlog and its age, the sink's state, and the active system alerts
 * (the room's, merged with /api/status, polled every 5 s while this view is shown).
 */
import type { Alert } from '../../../../contract/index.js';
import type { QualityData } from '../../../aggregate/schemas.js';
import { QUALITY } from '../../../aggregate/rooms.js';
import { formatAsOf, formatDuration, formatNumber } from '../../../i18n/index.js';
import type { ValleyStatus } from '../../../status-schema.js';
import { api } from '../api.js';
import type { Ctx, View } from '../context.js';
import { h } from '../dom.js';
import { kindLabel, t, tk } from '../i18n.js';
import { countedSinceMark, shortAsOf } from './figure.js';
import { stateIcon } from './icons.js';
import { alertItem } from './overview.js';
import { loading } from './shell.js';

const POLL_MS = 5_000;
const COLUMNS = [
  'quality.device',
  'quality.state',
  'quality.accepted',
  'quality.duplicate',
  'quality.rejected',
  'quality.codes',
  'device.lastReject',
] as const;
type Counts = QualityData['lastHour'];

export function qualityView(): View {
  let status: ValleyStatus | null = null;
  let statusError: string | null = null;
  let timer: ReturnType<typeof setInterval> | undefined;
  const poll = (ctx: Ctx) => {
    api
      .status()
      .then((s) => ((status = s), (statusError = null)))
      .catch((err: unknown) => (statusError = err instanceof Error ? err.message : String(err)))
      .finally(() => ctx.refresh());
  };
  return {
    rooms: () => [QUALITY],
    render(ctx) {
      if (!timer) {
        poll(ctx);
        timer = setInterval(() => poll(ctx), POLL_MS);
      }
      const snap = ctx.snapshot(QUALITY, 'quality');
      if (!snap) return loading('quality-view');
      const { data } = snap;
      return h(
        'div',
        { class: 'view quality-view', 'data-testid': 'quality-view' },
        h('h1', null, t('quality.title')),
        h(
          'div',
          { class: 'panels' },
          lastHourEl(ctx, data.lastHour, snap.countedSince),
          codesEl(ctx, data.lastHour),
          refusalsEl(ctx, status),
          outboxEl(ctx, status, statusError),
          sinkEl(ctx, status),
        ),
        alertsEl(ctx, mergeAlerts(data.alerts, status?.alerts ?? [])),
        devicesEl(ctx, data),
      );
    },
    dispose() {
      clearInterval(timer);
    },
  };
}

function lastHourEl(ctx: Ctx, c: Counts, countedSince: number): HTMLElement {
  const all = c.accepted + c.rejected;
  const item = (name: keyof Omit<Counts, 'codes'>) =>
    h(
      'div',
      { class: `stat stat-${name}`, 'data-testid': `quality-hour-${name}`, 'data-value': c[name] },
      h('strong', null, formatNumber(c[name], ctx.locale)),
      h('span', null, t(`quality.${name}`)),
    );
  return h(
    'section',
    { class: 'panel' },
    h('h2', null, t('quality.lastHour')),
    h('div', { class: 'stats' }, item('accepted'), item('duplicate'), item('rejected')),
    // The hour reaches back before the gateway started counting: say the counts are partial.
    countedSince > ctx.now - 3_600_000 ? h('p', null, countedSinceMark(countedSince, ctx)) : null,
    all > 0
      ? h(
          'p',
          { class: 'muted' },
          t('quality.rejectShare', { share: rejectShare(c.rejected, all, ctx.locale) }),
        )
      : null,
  );
}

function codesEl(ctx: Ctx, c: Counts): HTMLElement {
  const codes = Object.entries(c.codes)
    .filter((e): e is [string, number] => (e[1] ?? 0) > 0)
    .sort((a, b) => b[1] - a[1]);
  return h(
    'section',
    { class: 'panel', 'data-testid': 'quality-codes' },
    h('h2', null, t('quality.codes'), h('span', { class: 'muted' }, ` · ${t('quality.lastHour')}`)),
    codes.length === 0
      ? h('p', { class: 'muted' }, t('quality.noRejects'))
      : h(
          'ul',
          { class: 'codes' },
          ...codes.map(([code, n]) =>
            h(
              'li',
              { 'data-code': code, 'data-value': n },
              h('code', { class: 'code' }, code),
              h('strong', null, formatNumber(n, ctx.locale)),
              h('span', { class: 'muted' }, tk(`reject.${code}`, code)),
            ),
          ),
        ),
  );
}

/**
 * What the broker refused since start (wrong secrets, unknown ids, ACL denials, oversize packets,
 * rate limits), from the polled /api/status: none of these reach ingest, so the reject codes
 * above cannot show them (rate-limited messages appear there too, as E_RATE_LIMIT).
 */
function refusalsEl(ctx: Ctx, status: ValleyStatus | null): HTMLElement {
  const refusals = Object.entries(status?.broker.refusals ?? {})
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  const total = refusals.reduce((sum, [, n]) => sum + n, 0);
  return h(
    'section',
    { class: 'panel', 'data-testid': 'quality-refusals', 'data-value': status ? total : '' },
    // Broker counts start with the process (they are not part of the saved dashboard state).
    h('h2', null, t('quality.refusals'), h('span', { class: 'muted' }, ` · ${t('quality.sinceStart')}`)),
    !status
      ? h('p', { class: 'muted' }, t('app.loading'))
      : refusals.length === 0
        ? h('p', { class: 'muted' }, t('quality.noRefusals'))
        : h(
            'ul',
            { class: 'codes' },
            ...refusals.map(([reason, n]) =>
              h(
                'li',
                { 'data-reason': reason, 'data-value': n },
                h('code', { class: 'code' }, reason),
                h('strong', null, formatNumber(n, ctx.locale)),
                h('span', { class: 'muted' }, tk(`refusal.${reason}`, reason)),
              ),
            ),
          ),
  );
}

function outboxEl(ctx: Ctx, status: ValleyStatus | null, error: string | null): HTMLElement {
  if (!status) {
    return h(
      'section',
      { class: 'panel', 'data-testid': 'quality-backlog' },
      h('h2', null, t('quality.outbox')),
      h('p', { class: 'muted' }, error ? `${t('quality.statusUnavailable')} (${error})` : t('app.loading')),
    );
  }
  const b = status.backlog;
  return h(
    'section',
    {
      class: `panel${b.holding ? ' panel-alert' : ''}`,
      'data-testid': 'quality-backlog',
      'data-value': b.records,
      'data-age': b.ageMs ?? '',
    },
    h('h2', null, t('quality.outbox')),
    h(
      'p',
      { class: 'big' },
      // Local-only mode: the outbox is the store; its readings are kept, not waiting for anything.
      b.records === 0
        ? t('quality.outboxEmpty')
        : t(status.sink.mode === 'local-only' ? 'quality.outboxKept' : 'quality.outboxBacklog', {
            count: b.records,
          }),
    ),
    b.ageMs === null || b.records === 0
      ? null
      : h('p', null, t('quality.outboxAge', { age: formatDuration(b.ageMs, ctx.locale) })),
    b.holding ? h('p', { class: 'banner banner-error' }, t('quality.outboxHolding')) : null,
    h(
      'p',
      { class: 'muted' },
      error
        ? `${t('quality.statusUnavailable')} (${error})`
        : t('quality.polled', { when: formatAsOf(status.asOf, ctx.now, ctx.locale) }),
    ),
  );
}

function sinkEl(ctx: Ctx, status: ValleyStatus | null): HTMLElement {
  if (!status)
    return h(
      'section',
      { class: 'panel', 'data-testid': 'quality-sink' },
      h('h2', null, t('quality.sink')),
      h('p', { class: 'muted' }, '–'),
    );
  const sink = status.sink;
  const health =
    sink.mode === 'local-only' ? 'none' : ['idle', 'writing'].includes(sink.state) ? 'ok' : 'down';
  return h(
    'section',
    {
      class: `panel sink-${health}`,
      'data-testid': 'quality-sink',
      'data-state': sink.state,
      'data-health': health,
    },
    h('h2', null, t('quality.sink')),
    h('p', { class: 'big' }, t(`quality.sink.${health}`)),
    health === 'none'
      ? null
      : h(
          'p',
          null,
          t(`quality.sinkState.${sink.state}`),
          h('span', { class: 'muted' }, ` · ${sink.mode} · ${sink.description}`),
        ),
    sink.lagMs === null
      ? null
      : h(
          'p',
          { 'data-testid': 'quality-sink-lag', 'data-value': sink.lagMs },
          t('quality.sink.lag', { lag: formatDuration(sink.lagMs, ctx.locale) }),
        ),
    sink.lastWriteAt === null
      ? null
      : h(
          'p',
          { class: 'muted' },
          t('quality.sink.lastWrite', { when: formatAsOf(sink.lastWriteAt, ctx.now, ctx.locale) }),
        ),
    sink.lastError === null
      ? null
      : h('p', { class: 'error-text' }, t('quality.sink.lastError', { error: sink.lastError })),
  );
}

function mergeAlerts(room: Alert[], polled: Alert[]): Alert[] {
  const byId = new Map(room.map((a) => [a.id, a]));
  for (const a of polled) if (a.state === 'active' && !byId.has(a.id)) byId.set(a.id, a);
  return [...byId.values()];
}

function alertsEl(ctx: Ctx, alerts: Alert[]): HTMLElement {
  return h(
    'section',
    { class: 'panel', 'data-testid': 'quality-alerts', 'data-count': alerts.length },
    h('h2', null, t('quality.alerts')),
    alerts.length === 0
      ? h('p', { class: 'muted' }, t('quality.noAlerts'))
      : h('ul', { class: 'alerts-list' }, ...alerts.map((a) => alertItem(ctx, a))),
  );
}

function devicesEl(ctx: Ctx, data: QualityData): HTMLElement {
  // Devices with rejects in the last hour first: that is what someone opens this page for.
  const rows = [...data.devices].sort((a, b) => b.lastHour.rejected - a.lastHour.rejected);
  return h(
    'section',
    { class: 'panel' },
    h('h2', null, t('quality.perDevice'), h('span', { class: 'muted' }, ` · ${t('quality.lastHour')}`)),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'quality-table' },
        h('thead', null, h('tr', null, ...COLUMNS.map((k) => h('th', { scope: 'col' }, t(k))))),
        h(
          'tbody',
          null,
          ...rows.map((d) => {
            const c = d.lastHour;
            const codes = Object.entries(c.codes).filter((e) => (e[1] ?? 0) > 0);
            return h(
              'tr',
              {
                'data-testid': `quality-device-${d.id}`,
                'data-accepted': c.accepted,
                'data-duplicate': c.duplicate,
                'data-rejected': c.rejected,
                class: c.rejected > 0 ? 'has-rejects' : null,
              },
              h(
                'td',
                null,
                h('a', { href: `#/device/${encodeURIComponent(d.id)}` }, d.id),
                h(
                  'div',
                  { class: 'muted small' },
                  `${kindLabel(d.kind)} · ${ctx.lookup.municipalityName(d.municipality) ?? d.municipality}`,
                ),
              ),
              h('td', { title: t(`state.${d.state}.help`) }, stateIcon(d.state), ' ', t(`state.${d.state}`)),
              h('td', { class: 'num' }, formatNumber(c.accepted, ctx.locale), bar(c.accepted, c.rejected)),
              h('td', { class: 'num' }, formatNumber(c.duplicate, ctx.locale)),
              h('td', { class: `num${c.rejected ? ' bad' : ''}` }, formatNumber(c.rejected, ctx.locale)),
              h(
                'td',
                null,
                ...codes.map(([code, n]) =>
                  h('span', { class: 'code-chip', title: tk(`reject.${code}`, code) }, `${code} ${n ?? 0}`),
                ),
              ),
              h(
                'td',
                null,
                d.lastReject
                  ? [
                      h('code', { class: 'code', title: d.lastReject.message }, d.lastReject.code),
                      h('span', { class: 'muted small' }, ` ${shortAsOf(d.lastReject.at, ctx)}`),
                    ]
                  : '–',
              ),
            );
          }),
        ),
      ),
    ),
  );
}

/** Accepted vs rejected as one thin bar: a row with rejects stands out while scrolling. */
function bar(accepted: number, rejected: number): HTMLElement | null {
  const all = accepted + rejected;
  if (all === 0) return null;
  return h(
    'span',
    { class: 'ratio', 'aria-hidden': 'true' },
    h('span', { class: 'ratio-bad', style: `width:${((rejected / all) * 100).toFixed(1)}%` }),
  );
}

/** A few rejects among many readings must not read as "0%": below 0.1 % it says so. */
function rejectShare(rejected: number, all: number, locale: Parameters<typeof formatNumber>[1]): string {
  const pct = (rejected / all) * 100;
  if (rejected > 0 && pct < 0.1) return `< ${formatNumber(0.1, locale, 1)}%`;
  return `${formatNumber(pct, locale, 1)}%`;
}
