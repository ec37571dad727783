/**
 * An inline SVG sparkline of a metric's recent values (the device room's series, oldest first):
 * the shape of the last hours at a glance, with the lowest and highest value written beside it.
 */
import { formatMeasure, type Locale } from '../../../i18n/index.js';
import { h, s } from '../dom.js';

const W = 200;
const H = 40;

export function sparkline(
  series: readonly [number, number][],
  unit: string,
  locale: Locale,
  label: string,
): HTMLElement {
  if (series.length < 2) return h('div', { class: 'spark spark-empty', 'aria-hidden': 'true' });
  const xs = series.map(([ts]) => ts);
  const ys = series.map(([, v]) => v);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  const [lo, hi] = [Math.min(...ys), Math.max(...ys)];
  // A flat line sits in the middle rather than on an edge.
  const span = hi - lo || 1;
  const pad = 3;
  const px = (ts: number) => (x1 === x0 ? W : ((ts - x0) / (x1 - x0)) * W);
  const py = (v: number) => (hi === lo ? H / 2 : pad + (1 - (v - lo) / span) * (H - 2 * pad));
  const line = series
    .map(([ts, v], i) => `${i ? 'L' : 'M'}${px(ts).toFixed(1)} ${py(v).toFixed(1)}`)
    .join('');
  const area = `${line}L${px(x1).toFixed(1)} ${H}L${px(x0).toFixed(1)} ${H}Z`;
  const [lastTs, lastV] = series[series.length - 1] as [number, number];
  return h(
    'div',
    { class: 'spark' },
    s(
      'svg',
      { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'spark-svg' },
      s('path', { d: area, class: 'spark-area' }),
      s('path', { d: line, class: 'spark-line', 'vector-effect': 'non-scaling-stroke' }),
      s('circle', { cx: px(lastTs).toFixed(1), cy: py(lastV).toFixed(1), r: 2.5, class: 'spark-dot' }),
    ),
    h(
      'div',
      { class: 'spark-range muted' },
      h('span', null, `↑ ${formatMeasure(hi, unit, locale)}`),
      h('span', null, `↓ ${formatMeasure(lo, unit, locale)}`),
    ),
  );
}
