/**
 * Map of the valley without a tile server: the municipal boundaries (GET /api/geo, CC BY 4.0 with
 * the attribution drawn on the map) and every device at its coordinates, its state shown by shape
 * and colour, with a legend. Beside it the same devices as a list: full-size touch targets where
 * the markers of a village are small and close. Room `map`.
 */
import type { DeviceSummary, MapData } from '../../../aggregate/schemas.js';
import { MAP_STATES } from '../../../aggregate/schemas.js';
import { MAP } from '../../../aggregate/rooms.js';
import {
  buildValleyMap,
  containsPoint,
  type MunicipalityCollection,
  type ValleyMap,
} from '../../../geo/projection.js';
import { api } from '../api.js';
import type { Ctx, View } from '../context.js';
import { h, s } from '../dom.js';
import { kindLabel, locale, t } from '../i18n.js';
import { stateIcon, stateShape } from './icons.js';
import { placeLabel, spreadMarkers, type Placed } from './map-layout.js';
import { loading } from './shell.js';

const MARKER_R = 9;
const GAP = 24;

type Geo = { map: ValleyMap; boundaries: MunicipalityCollection; attribution: { it: string; en: string } };
type Layout = { markers: Placed[]; labels: { x: number; y: number }[] };
let geo: Geo | null = null;
let geoError: string | null = null;
let geoLoading = false;

function loadGeo(ctx: Ctx): void {
  if (geo || geoLoading) return;
  geoLoading = true;
  api
    .geo()
    .then((g) => {
      geo = {
        map: buildValleyMap(g.boundaries, { width: 1000, padding: 30 }),
        boundaries: g.boundaries,
        attribution: g.attribution,
      };
      geoError = null;
    })
    .catch((err: unknown) => {
      geoError = err instanceof Error ? err.message : String(err);
    })
    .finally(() => {
      geoLoading = false;
      ctx.refresh();
    });
}

export function mapView(): View {
  let layoutKey = '';
  let layout: Layout = { markers: [], labels: [] };
  const place = (valley: Geo, devices: DeviceSummary[]): Layout => {
    const key = devices.map((d) => `${d.id}@${d.lon},${d.lat}`).join('|');
    if (key !== layoutKey) {
      layoutKey = key;
      layout = layoutOf(valley, devices);
    }
    return layout;
  };

  return {
    rooms: () => [MAP],
    render(ctx) {
      loadGeo(ctx);
      const snap = ctx.snapshot(MAP, 'map');
      if (!snap) return loading('map-view');
      if (!geo) {
        return h(
          'div',
          { class: 'view', 'data-testid': 'map-view' },
          geoError
            ? h('p', { class: 'banner banner-error' }, t('error.generic'), ' ', geoError)
            : loading('map-loading'),
        );
      }
      return h(
        'div',
        { class: 'view map-view', 'data-testid': 'map-view' },
        h(
          'figure',
          { class: 'map' },
          svgMap(geo, snap.data, place(geo, snap.data.devices)),
          legend(snap.data),
        ),
        deviceList(ctx, snap.data.devices),
      );
    },
  };
}

/** Markers spread apart, then each municipality's name moved off them (both computed once). */
function layoutOf(valley: Geo, devices: DeviceSummary[]): Layout {
  const { map, boundaries } = valley;
  const markers = spreadMarkers(
    devices.map((d) => {
      const [x, y] = map.project(d.lon, d.lat);
      return { id: d.id, x, y };
    }),
    GAP,
  );
  const labels = map.municipalities.map((m, i) => {
    const feature = boundaries.features[i];
    if (!feature) return m.label;
    const inside = (x: number, y: number) => {
      const [lon, lat] = map.unproject(x, y);
      return containsPoint(feature.geometry, lon, lat);
    };
    const size = m.inProgramme ? 24 : 20;
    const box = { ...m.label, width: m.name.length * size * 0.58, height: size * 1.1 };
    return placeLabel(box, inside, markers, GAP);
  });
  return { markers, labels };
}

function svgMap(valley: Geo, data: MapData, layout: Layout): SVGSVGElement {
  const placed = layout.markers;
  const { map } = valley;
  const byId = new Map(data.devices.map((d) => [d.id, d]));
  return s(
    'svg',
    { viewBox: map.viewBox, class: 'map-svg', role: 'img', 'aria-label': t('map.title') },
    s(
      'g',
      { class: 'boundaries' },
      ...map.municipalities.map((m) =>
        s('path', { d: m.path, 'fill-rule': 'evenodd', class: m.inProgramme ? 'muni' : 'muni muni-context' }),
      ),
    ),
    s(
      'g',
      { class: 'labels', 'aria-hidden': 'true' },
      ...map.municipalities.map((m, i) => {
        const at = layout.labels[i] ?? m.label;
        return s(
          'text',
          { x: r1(at.x), y: r1(at.y), class: m.inProgramme ? 'muni-label' : 'muni-label muni-label-context' },
          m.name,
          m.inProgramme
            ? null
            : s('tspan', { x: r1(at.x), dy: 22, class: 'muni-sub' }, `(${t('map.outsideProgramme')})`),
        );
      }),
    ),
    s(
      'g',
      { class: 'leaders', 'aria-hidden': 'true' },
      ...placed
        .filter((p) => Math.hypot(p.x - p.x0, p.y - p.y0) > 3)
        .flatMap((p) => [
          s('line', { x1: r1(p.x0), y1: r1(p.y0), x2: r1(p.x), y2: r1(p.y), class: 'leader' }),
          s('circle', { cx: r1(p.x0), cy: r1(p.y0), r: 2, class: 'anchor' }),
        ]),
    ),
    s(
      'g',
      { class: 'markers' },
      ...placed.flatMap((p) => {
        const d = byId.get(p.id);
        return d ? [marker(d, p)] : [];
      }),
    ),
    s(
      'text',
      {
        x: map.width - 12,
        y: map.height - 12,
        class: 'attribution',
        'text-anchor': 'end',
        'data-testid': 'map-attribution',
      },
      // CC BY 4.0 requires it on the map, in the page's language (the server sends both).
      valley.attribution[locale()],
    ),
  );
}

const r1 = (n: number) => Math.round(n * 10) / 10;

function marker(d: DeviceSummary, p: Placed): SVGElement {
  return s(
    'a',
    {
      href: `#/device/${encodeURIComponent(d.id)}`,
      class: `marker state-${d.state}`,
      'data-testid': `map-device-${d.id}`,
      'data-state': d.state,
      transform: `translate(${r1(p.x)} ${r1(p.y)})`,
      'aria-label': `${d.siteName}, ${kindLabel(d.kind)}: ${t(`state.${d.state}`)}`,
    },
    s('title', null, `${d.siteName} · ${kindLabel(d.kind)} · ${t(`state.${d.state}`)}`),
    s('circle', { class: 'hit', r: GAP / 2 }),
    stateShape(d.state, MARKER_R),
  );
}

function legend(data: MapData): HTMLElement {
  return h(
    'figcaption',
    { class: 'legend', 'data-testid': 'map-legend' },
    h('strong', null, t('map.legend')),
    h(
      'ul',
      null,
      ...MAP_STATES.map((state) =>
        h(
          'li',
          { title: t(`state.${state}.help`), 'data-state': state },
          stateIcon(state),
          h('span', null, t(`state.${state}`)),
          h('span', { class: 'count' }, String(data.states[state])),
        ),
      ),
    ),
  );
}

function deviceList(ctx: Ctx, devices: DeviceSummary[]): HTMLElement {
  const groups = new Map<string, DeviceSummary[]>();
  for (const d of devices) groups.set(d.municipality, [...(groups.get(d.municipality) ?? []), d]);
  return h(
    'nav',
    { class: 'device-list', 'aria-label': t('map.list'), 'data-testid': 'map-device-list' },
    h(
      'h2',
      null,
      t('map.list'),
      h('span', { class: 'muted' }, ` · ${t('map.devices', { count: devices.length })}`),
    ),
    ...[...groups].map(([municipality, list]) =>
      h(
        'section',
        null,
        h('h3', null, ctx.lookup.municipalityName(municipality) ?? municipality),
        h(
          'ul',
          null,
          ...list.map((d) =>
            h(
              'li',
              null,
              h(
                'a',
                {
                  href: `#/device/${encodeURIComponent(d.id)}`,
                  'data-testid': `list-device-${d.id}`,
                  'data-state': d.state,
                },
                stateIcon(d.state, t(`state.${d.state}`)),
                h('span', { class: 'list-name' }, d.siteName),
                h('span', { class: 'list-kind muted' }, kindLabel(d.kind)),
              ),
            ),
          ),
        ),
      ),
    ),
  );
}
