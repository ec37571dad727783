/**
 * `GET /api/registry`: what the client needs to label and place things. Devices are copied field
 * by field (an allow-list), so a secret hash, or any secret field added later, never leaves the
 * gateway; users are not shown at all.
 */
import { Router } from 'express';
import { getKind } from '../../contract/index.js';
import type { RegistryIndex } from '../../config/registry-schema.js';
import { methodNotAllowed } from '../http-errors.js';
import type { RegistryAnswer } from '../protocol.js';

export function registryView(index: RegistryIndex): RegistryAnswer {
  const { municipalities, corridors, sites } = index.registry;
  const kinds: RegistryAnswer['kinds'] = {};
  const devices: RegistryAnswer['devices'] = [];
  for (const { device, municipality, corridor } of index.devices.values()) {
    devices.push({
      id: device.id,
      kind: device.kind,
      site: device.site,
      municipality: municipality.id,
      corridor,
      lat: device.lat,
      lon: device.lon,
      interval_s: device.interval_s,
      description: device.description ?? null,
      demo: device.demo === true,
    });
    const kind = getKind(device.kind);
    if (!kind || kinds[kind.id]) continue;
    kinds[kind.id] = {
      corridor: kind.corridor,
      label: kind.label,
      metrics: Object.fromEntries(
        Object.entries(kind.metrics).map(([name, m]) => [
          name,
          { unit: m.unit, label: m.label, counter: m.counter === true },
        ]),
      ),
    };
  }
  return { municipalities, corridors, sites, devices, kinds };
}

export function registryRoutes(registry: () => RegistryIndex): Router {
  const router = Router();
  let cached: { index: RegistryIndex; view: RegistryAnswer } | undefined;
  router
    .route('/api/registry')
    .get((_req, res) => {
      const index = registry();
      // Rebuilt only when a reload replaced the index.
      if (cached?.index !== index) cached = { index, view: registryView(index) };
      res.json(cached.view);
    })
    .all(methodNotAllowed);
  return router;
}
