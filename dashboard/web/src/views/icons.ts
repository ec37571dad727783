/**
 * Device states drawn as shapes, not colour alone (colour-blind technicians, sun on a tablet):
 * ok = filled circle, alert = triangle with "!", offline = square with a cross, stale = diamond
 * with a pause bar, no data yet = dashed ring. The same shapes on the map, in its legend and lists.
 */
import type { MapState } from '../../../aggregate/schemas.js';
import { s } from '../dom.js';

/** The shape centred on (0, 0) with radius `r` (user units of the enclosing SVG). */
export function stateShape(state: MapState, r: number): SVGElement {
  const cls = `shape shape-${state}`;
  switch (state) {
    case 'ok':
      return s('circle', { class: cls, r });
    case 'alert': {
      const k = r * 1.25;
      return s(
        'g',
        { class: cls },
        s('path', { d: `M0 ${-k}L${k} ${k * 0.8}L${-k} ${k * 0.8}Z` }),
        s('path', { class: 'mark', d: `M0 ${-k * 0.35}V${k * 0.25}M0 ${k * 0.45}V${k * 0.55}` }),
      );
    }
    case 'offline': {
      const k = r * 0.85;
      return s(
        'g',
        { class: cls },
        s('rect', { x: -k, y: -k, width: 2 * k, height: 2 * k }),
        s('path', {
          class: 'mark',
          d: `M${-k / 2} ${-k / 2}L${k / 2} ${k / 2}M${k / 2} ${-k / 2}L${-k / 2} ${k / 2}`,
        }),
      );
    }
    case 'stale': {
      const k = r * 1.2;
      return s(
        'g',
        { class: cls },
        s('path', { d: `M0 ${-k}L${k} 0L0 ${k}L${-k} 0Z` }),
        s('path', {
          class: 'mark',
          d: `M${-k * 0.2} ${-k * 0.3}V${k * 0.3}M${k * 0.2} ${-k * 0.3}V${k * 0.3}`,
        }),
      );
    }
    case 'nodata':
      return s('circle', { class: cls, r: r * 0.85 });
  }
}

/** A small inline icon for text: lists, badges, the legend. */
export function stateIcon(state: MapState, label?: string): SVGSVGElement {
  return s(
    'svg',
    {
      class: `state-icon state-${state}`,
      viewBox: '-10 -10 20 20',
      width: 18,
      height: 18,
      role: label ? 'img' : null,
      'aria-hidden': label ? null : 'true',
      'aria-label': label ?? null,
    },
    stateShape(state, 7),
  );
}

/** Two bars, "paused": the mark of a value that is no longer current (stale or offline source). */
export function pauseIcon(label?: string): SVGSVGElement {
  return s(
    'svg',
    {
      class: 'pause-icon',
      viewBox: '0 0 10 10',
      width: 10,
      height: 10,
      role: label ? 'img' : null,
      'aria-hidden': label ? null : 'true',
      'aria-label': label ?? null,
    },
    s('rect', { x: 1.5, y: 1, width: 2.4, height: 8, rx: 0.6 }),
    s('rect', { x: 6.1, y: 1, width: 2.4, height: 8, rx: 0.6 }),
  );
}
