/**
 * The valley map without a tile server: municipal boundaries (valmalenco-municipalities.geojson,
 * Openpolis / ISTAT, CC BY 4.0: see ATTRIBUTION.md) projected to SVG coordinates.
 *
 * Equirectangular with the longitude scaled by cos(latitude) at the middle of the area: over the
 * ~15 km of the valley the distortion against a conformal projection is well under 1 %, and the
 * arithmetic stays trivial for the browser. SVG y grows downwards, so north is up with y = top - lat.
 * Pure: the GeoJSON arrives parsed (the server or the bundle reads the file).
 */
import { z } from 'zod';

/** [lon, lat]; GeoJSON may carry an altitude as a third number, which the map ignores. */
const position = z
  .array(z.number())
  .min(2)
  .transform((p) => [p[0], p[1]] as [number, number]);
const ring = z.array(position).min(4);
const polygon = z.object({ type: z.literal('Polygon'), coordinates: z.array(ring).min(1) });
const multiPolygon = z.object({
  type: z.literal('MultiPolygon'),
  coordinates: z.array(z.array(ring).min(1)).min(1),
});

export const municipalityFeatureSchema = z.object({
  type: z.literal('Feature'),
  properties: z.object({ name: z.string(), istat_code: z.string(), in_programme: z.boolean() }),
  geometry: z.discriminatedUnion('type', [polygon, multiPolygon]),
});
export const municipalityCollectionSchema = z.object({
  type: z.literal('FeatureCollection'),
  features: z.array(municipalityFeatureSchema).min(1),
});
export type MunicipalityCollection = z.infer<typeof municipalityCollectionSchema>;
export type MunicipalityGeometry = MunicipalityCollection['features'][number]['geometry'];
export type LonLat = [number, number];
export type Ring = LonLat[];

/** Polygons of a geometry: each an outer ring followed by its holes. */
export function polygonsOf(geometry: MunicipalityGeometry): Ring[][] {
  return geometry.type === 'Polygon' ? [geometry.coordinates] : geometry.coordinates;
}

export interface Bounds {
  minLon: number;
  minLat: number;
  maxLon: number;
  maxLat: number;
}

export function boundsOf(collection: MunicipalityCollection): Bounds {
  const b: Bounds = { minLon: Infinity, minLat: Infinity, maxLon: -Infinity, maxLat: -Infinity };
  for (const f of collection.features) {
    for (const [lon, lat] of polygonsOf(f.geometry).flat(2)) {
      b.minLon = Math.min(b.minLon, lon);
      b.maxLon = Math.max(b.maxLon, lon);
      b.minLat = Math.min(b.minLat, lat);
      b.maxLat = Math.max(b.maxLat, lat);
    }
  }
  return b;
}

export interface ProjectionOptions {
  /** SVG width in user units (default 1000). */
  width?: number;
  /** SVG height; by default the one that fits the area's shape at `width`. */
  height?: number;
  /** Empty margin on every side, in user units (default 20). */
  padding?: number;
}

export interface Projection {
  width: number;
  height: number;
  /** For the `viewBox` attribute: `0 0 width height`. */
  viewBox: string;
  project(lon: number, lat: number): [number, number];
  unproject(x: number, y: number): LonLat;
}

/** Fits the bounds into the box, centred, the same scale on both axes (in metres on the ground). */
export function fitProjection(bounds: Bounds, options: ProjectionOptions = {}): Projection {
  const width = options.width ?? 1000;
  const padding = options.padding ?? 20;
  const cosLat = Math.cos((((bounds.minLat + bounds.maxLat) / 2) * Math.PI) / 180);
  const spanX = (bounds.maxLon - bounds.minLon) * cosLat;
  const spanY = bounds.maxLat - bounds.minLat;
  const byWidth = (width - 2 * padding) / spanX;
  const height = options.height ?? spanY * byWidth + 2 * padding;
  const scale = Math.min(byWidth, (height - 2 * padding) / spanY);
  const offsetX = (width - spanX * scale) / 2;
  const offsetY = (height - spanY * scale) / 2;
  return {
    width,
    height,
    viewBox: `0 0 ${round(width)} ${round(height)}`,
    project: (lon, lat) => [
      offsetX + (lon - bounds.minLon) * cosLat * scale,
      offsetY + (bounds.maxLat - lat) * scale,
    ],
    unproject: (x, y) => [
      bounds.minLon + (x - offsetX) / (cosLat * scale),
      bounds.maxLat - (y - offsetY) / scale,
    ],
  };
}

/** 0.1 user units: far below a screen pixel at any sane size, and a third of the path text. */
function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** SVG path data of a geometry: every ring closed; holes cut with `fill-rule="evenodd"`. */
export function geometryPath(geometry: MunicipalityGeometry, projection: Projection): string {
  return polygonsOf(geometry)
    .flat()
    .map((r) => {
      const points = r.map(([lon, lat]) => projection.project(lon, lat).map(round).join(' '));
      return `M${points.join('L')}Z`;
    })
    .join('');
}

/** Signed area and area-weighted centroid of a ring, in the units of its coordinates. */
function ringCentroid(points: readonly [number, number][]): { area: number; x: number; y: number } {
  let area = 0;
  let cx = 0;
  let cy = 0;
  for (let i = 0, j = points.length - 1; i < points.length; j = i++) {
    const [x0, y0] = points[j] as [number, number];
    const [x1, y1] = points[i] as [number, number];
    const cross = x0 * y1 - x1 * y0;
    area += cross;
    cx += (x0 + x1) * cross;
    cy += (y0 + y1) * cross;
  }
  area /= 2;
  return area === 0
    ? { area, x: points[0]?.[0] ?? 0, y: points[0]?.[1] ?? 0 }
    : { area, x: cx / (6 * area), y: cy / (6 * area) };
}

/** Where to put the name: the centroid of the largest outer ring, in SVG coordinates. */
export function labelPosition(
  geometry: MunicipalityGeometry,
  projection: Projection,
): { x: number; y: number } {
  let best = { area: 0, x: 0, y: 0 };
  for (const [outer] of polygonsOf(geometry)) {
    const c = ringCentroid((outer ?? []).map(([lon, lat]) => projection.project(lon, lat)));
    if (Math.abs(c.area) > Math.abs(best.area)) best = c;
  }
  return { x: round(best.x), y: round(best.y) };
}

/** Even-odd ray casting in lon/lat: inside an outer ring and not inside one of its holes. */
export function containsPoint(geometry: MunicipalityGeometry, lon: number, lat: number): boolean {
  let inside = false;
  for (const r of polygonsOf(geometry).flat()) {
    for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
      const [xi, yi] = r[i] as LonLat;
      const [xj, yj] = r[j] as LonLat;
      if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
    }
  }
  return inside;
}

const METRES_PER_DEGREE = 111_320;

/** Distance in metres from a point to the nearest boundary edge (local flat approximation). */
export function distanceToBoundaryM(geometry: MunicipalityGeometry, lon: number, lat: number): number {
  const k = Math.cos((lat * Math.PI) / 180);
  let best = Infinity;
  for (const r of polygonsOf(geometry).flat()) {
    for (let i = 1; i < r.length; i++) {
      const [ax, ay] = r[i - 1] as LonLat;
      const [bx, by] = r[i] as LonLat;
      const [px, py, qx, qy] = [(ax - lon) * k, ay - lat, (bx - lon) * k, by - lat];
      const [dx, dy] = [qx - px, qy - py];
      const len = dx * dx + dy * dy;
      const s = len === 0 ? 0 : Math.max(0, Math.min(1, -(px * dx + py * dy) / len));
      best = Math.min(best, Math.hypot(px + s * dx, py + s * dy));
    }
  }
  return best * METRES_PER_DEGREE;
}

export interface MapMunicipality {
  istat: string;
  name: string;
  inProgramme: boolean;
  /** SVG path data. */
  path: string;
  label: { x: number; y: number };
}

export interface ValleyMap extends Projection {
  municipalities: MapMunicipality[];
}

/** Everything the client draws, from the parsed GeoJSON: one call, plain data plus `project`. */
export function buildValleyMap(
  collection: MunicipalityCollection,
  options: ProjectionOptions = {},
): ValleyMap {
  const projection = fitProjection(boundsOf(collection), options);
  return {
    ...projection,
    municipalities: collection.features.map((f) => ({
      istat: f.properties.istat_code,
      name: f.properties.name,
      inProgramme: f.properties.in_programme,
      path: geometryPath(f.geometry, projection),
      label: labelPosition(f.geometry, projection),
    })),
  };
}
