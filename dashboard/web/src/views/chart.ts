/**
 * A history chart with uPlot: the mean as a line inside the min–max band of each bucket, times in
 * Europe/Rome whatever the viewer's zone, numbers with the language's separators. The chart owns
 * its container (marked `data-keep` so morph() leaves it alone) and follows its width.
 */
import uPlot from 'uplot';
import { VALLEY_TIME_ZONE } from '../../../aggregate/rome-time.js';
import { CATALOGUES, formatMeasure, formatNumber, formatTime, type Locale } from '../../../i18n/index.js';
import type { History, HistoryRange } from '../schemas.js';

const HEIGHT = 220;
const RANGE_MS: Record<HistoryRange, number> = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 };
/** Axis label width: ~7 px per character of the widest label at the chart's font size. */
const axisWidth = (values: string[] | undefined) =>
  18 + 7 * Math.max(3, ...(values ?? []).map((v) => v.length));
const MEAN = '#2b6a9a';
const BAND = 'rgba(43, 106, 154, 0.16)';
const EDGE = 'rgba(43, 106, 154, 0.45)';

export interface ChartLabels {
  time: string;
  min: string;
  mean: string;
  max: string;
}

export class HistoryChart {
  private readonly plot: uPlot;
  private readonly observer: ResizeObserver;

  constructor(
    readonly el: HTMLElement,
    history: History,
    locale: Locale,
    labels: ChartLabels,
  ) {
    const { unit, range } = history;
    const value = (_u: uPlot, v: number | null) => (v === null ? '–' : formatMeasure(v, unit, locale));
    const data: uPlot.AlignedData = [
      history.points.map((p) => p[0]),
      history.points.map((p) => p[3]),
      history.points.map((p) => p[2]),
      history.points.map((p) => p[1]),
    ];
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: HEIGHT,
      ms: 1,
      tzDate: (ts) => uPlot.tzDate(new Date(ts), VALLEY_TIME_ZONE),
      // The whole requested window, not just the span of the data: a gap at the end (sink lag,
      // a silent device) shows as a gap, and one point does not stretch into a meaningless axis.
      scales: { x: { time: true, range: () => [history.asOf - RANGE_MS[range], history.asOf] } },
      series: [
        { label: labels.time, value: (_u, v: number | null) => (v === null ? '–' : stamp(v, locale)) },
        { label: labels.max, stroke: EDGE, width: 1, value, points: { show: false } },
        // Points shown by uPlot's own rule (when they are few and far apart).
        { label: labels.mean, stroke: MEAN, width: 2, value },
        { label: labels.min, stroke: EDGE, width: 1, value, points: { show: false } },
      ],
      bands: [{ series: [1, 3], fill: BAND }],
      axes: [
        {
          values: (_u, splits) => splits.map((v) => tick(v, range, locale)),
          stroke: '#4a5568',
          grid: { stroke: '#e6eaee' },
        },
        {
          values: (_u, splits) => splits.map((v) => formatNumber(v, locale, 2)),
          size: (_u, values) => axisWidth(values),
          stroke: '#4a5568',
          grid: { stroke: '#e6eaee' },
        },
      ],
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
    };
    this.plot = new uPlot(opts, data, el);
    this.observer = new ResizeObserver(() => {
      const width = Math.max(200, el.clientWidth);
      if (width !== this.plot.width) this.plot.setSize({ width, height: HEIGHT });
    });
    this.observer.observe(el);
  }

  destroy(): void {
    this.observer.disconnect();
    this.plot.destroy();
  }
}

const formats = new Map<Locale, Intl.DateTimeFormat>();

function parts(ms: number, locale: Locale) {
  let f = formats.get(locale);
  if (!f) {
    f = new Intl.DateTimeFormat(CATALOGUES[locale]['format.locale'], {
      timeZone: VALLEY_TIME_ZONE,
      day: '2-digit',
      month: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formats.set(locale, f);
  }
  const get = (type: Intl.DateTimeFormatPartTypes) =>
    f.formatToParts(ms).find((p) => p.type === type)?.value ?? '';
  return { date: `${get('day')}/${get('month')}`, time: `${get('hour')}:${get('minute')}` };
}

/** Axis ticks: the time, or the date where a Rome day starts (and always the date over a week). */
function tick(ms: number, range: HistoryRange, locale: Locale): string {
  const p = parts(ms, locale);
  if (p.time === '00:00') return p.date;
  return range === '7d' ? `${p.date} ${p.time}` : formatTime(ms, locale);
}

function stamp(ms: number, locale: Locale): string {
  const p = parts(ms, locale);
  return `${p.date} ${p.time}`;
}
