/**
 * A figure as DESIGN's truth rules want it: the value with its unit ("no data" as a word, never 0),
 * its as-of time, how many of the expected devices it is made of, a mark when a contributor is
 * stale or offline, and a mark when the page itself is not live. Test hooks: `data-testid`
 * `fig-{name}`, `data-value` = the raw number or empty for no data.
 */
import type { Figure } from '../../../aggregate/schemas.js';
import { formatAsOf, formatDateTime, formatMeasure, formatTime } from '../../../i18n/index.js';
import { romeDay } from '../../../aggregate/rome-time.js';
import type { Ctx } from '../context.js';
import { h, type Child } from '../dom.js';
import { t } from '../i18n.js';
import { pauseIcon } from './icons.js';

export interface FigureSpec {
  name: string;
  label: string;
  figure: Figure;
  unit: string;
  digits?: number;
  /** The value's text when a unit alone cannot say it ("2 of 4"); `data-value` stays the number. */
  text?: string | null;
  /** Extra line under the value (a comparison, where the minimum is). */
  note?: Child;
  size?: 'big' | 'normal';
}

export function figureClass(figure: Figure, ctx: Ctx): string {
  return [
    'fig',
    figure.value === null ? 'is-nodata' : '',
    figure.stale ? 'is-stale' : '',
    ctx.connection === 'live' ? '' : 'is-notlive',
  ]
    .filter(Boolean)
    .join(' ');
}

function dataAttrs(name: string, figure: Figure) {
  return {
    'data-testid': `fig-${name}`,
    'data-value': figure.value === null ? '' : String(figure.value),
    'data-as-of': figure.asOf === null ? '' : String(figure.asOf),
    'data-stale': String(figure.stale),
  };
}

/** The marks after the as-of: partial coverage, stale contributor, page not live. */
export function marks(figure: Figure, ctx: Ctx): Child[] {
  const out: Child[] = [];
  if (figure.value !== null && figure.devices < figure.expected) {
    out.push(
      h(
        'span',
        { class: 'mark-partial' },
        t('figure.partial', { devices: figure.devices, expected: figure.expected }),
      ),
    );
  }
  if (figure.countedSince !== undefined) out.push(countedSinceMark(figure.countedSince, ctx));
  if (figure.stale) out.push(h('span', { class: 'mark-stale' }, pauseIcon(), t('figure.stale')));
  if (ctx.connection !== 'live') out.push(h('span', { class: 'mark-notlive' }, t('connection.notLive')));
  return out;
}

/** "Partial: counted since 03:10": the gateway has no record of the day before that instant. */
export function countedSinceMark(countedSince: number, ctx: Ctx): HTMLElement {
  return h(
    'span',
    { class: 'mark-partial', 'data-counted-since': String(countedSince) },
    t('figure.countedSince', { time: shortAsOf(countedSince, ctx) }),
  );
}

export function asOfEl(asOf: number | null, ctx: Ctx): HTMLElement {
  return h(
    'time',
    {
      class: 'asof',
      datetime: asOf === null ? null : new Date(asOf).toISOString(),
      title: asOf === null ? null : formatDateTime(asOf, ctx.locale),
    },
    formatAsOf(asOf, ctx.now, ctx.locale),
  );
}

/** A headline figure: label, value, as-of and marks. */
export function figureEl(ctx: Ctx, spec: FigureSpec): HTMLElement {
  const { figure } = spec;
  return h(
    'div',
    { class: `${figureClass(figure, ctx)} fig-${spec.size ?? 'normal'}`, ...dataAttrs(spec.name, figure) },
    h('div', { class: 'fig-label' }, spec.label),
    h(
      'div',
      { class: 'fig-value' },
      spec.text ?? formatMeasure(figure.value, spec.unit, ctx.locale, spec.digits),
    ),
    spec.note ? h('div', { class: 'fig-note' }, spec.note) : null,
    // "No data" is already the value: the as-of would only repeat it.
    h(
      'div',
      { class: 'fig-meta' },
      figure.asOf === null ? null : asOfEl(figure.asOf, ctx),
      ...marks(figure, ctx),
    ),
  );
}

/** `14:05` the same Rome day, else date and time: short enough for a table cell. */
export function shortAsOf(asOf: number, ctx: Ctx): string {
  return romeDay(asOf).key === romeDay(ctx.now).key
    ? formatTime(asOf, ctx.locale)
    : formatDateTime(asOf, ctx.locale);
}

/** A figure in a list row: the value, and under it a short as-of (full one on hover) and marks. */
export function rowFigure(
  ctx: Ctx,
  name: string,
  figure: Figure,
  unit: string,
  digits?: number,
): HTMLElement {
  return h(
    'span',
    { class: `${figureClass(figure, ctx)} fig-row`, ...dataAttrs(name, figure) },
    h('span', { class: 'fig-value' }, formatMeasure(figure.value, unit, ctx.locale, digits)),
    figure.asOf === null
      ? null
      : h(
          'time',
          {
            class: 'asof',
            datetime: new Date(figure.asOf).toISOString(),
            title: formatAsOf(figure.asOf, ctx.now, ctx.locale),
          },
          shortAsOf(figure.asOf, ctx),
        ),
    figure.stale
      ? h('span', { class: 'mark-stale', title: t('figure.stale') }, pauseIcon(t('figure.stale')))
      : null,
  );
}
