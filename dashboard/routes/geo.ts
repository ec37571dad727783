/**
 * `GET /api/geo`: the municipal boundaries for the offline map (dashboard/geo/, Openpolis / ISTAT,
 * CC BY 4.0) with the attribution the map must show, in both languages. Read and checked once at
 * start (loadGeo): a damaged file stops the start instead of showing an empty map.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Router } from 'express';
import { municipalityCollectionSchema } from '../geo/projection.js';
import { en, it } from '../i18n/index.js';
import { methodNotAllowed } from '../http-errors.js';
import { PROJECT_ROOT } from '../../config/project-root.js';

export const GEOJSON_FILE = join(PROJECT_ROOT, 'dashboard', 'geo', 'valmalenco-municipalities.geojson');

export interface GeoAnswer {
  boundaries: unknown;
  attribution: { it: string; en: string };
}

export async function loadGeo(file = GEOJSON_FILE): Promise<GeoAnswer> {
  const boundaries: unknown = JSON.parse(await readFile(file, 'utf8'));
  const checked = municipalityCollectionSchema.safeParse(boundaries);
  if (!checked.success) throw new Error(`${file} is not the boundaries' GeoJSON: ${checked.error.message}`);
  // The file as it is (not the parsed copy, which drops altitudes): the client projects it itself.
  return { boundaries, attribution: { it: it['map.attribution'], en: en['map.attribution'] } };
}

export function geoRoutes(geo: GeoAnswer): Router {
  const router = Router();
  router
    .route('/api/geo')
    .get((_req, res) => {
      res.json(geo);
    })
    .all(methodNotAllowed);
  return router;
}
