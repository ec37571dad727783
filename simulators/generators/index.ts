/**
 * The generator for a device: its kind's model with a context derived from the registry (the
 * site's figures, its altitude, the residents behind a spring, the static head at a network site).
 * A kind without a model of its own (a corridor added later) gets a generic one that stays well
 * inside the kind's declared ranges, so the fleet still runs.
 */
import { getKind, type KindDefinition } from '../../contract/index.js';
import type { RegistryIndex, ResolvedDevice } from '../../config/registry-schema.js';
import { hashString, mix, noise, smoothNoise } from '../random.js';
import { makeGenerator, round } from './base.js';
import { energyMeterModel, heatMeterModel, indoorClimateModel, weatherModel } from './energy.js';
import { evChargerModel, parkingModel, trafficCounterModel } from './mobility.js';
import type { DeviceGenerator, GeneratorContext, KindModel } from './types.js';
import { waterFlowModel, waterLevelModel, waterPressureModel, waterQualityModel } from './water.js';

export type { DeviceGenerator, GeneratorContext, Values } from './types.js';

const MODELS: Record<string, (ctx: GeneratorContext) => KindModel> = {
  water_flow: waterFlowModel,
  water_pressure: waterPressureModel,
  water_level: waterLevelModel,
  water_quality: waterQualityModel,
  energy_meter: energyMeterModel,
  heat_meter: heatMeterModel,
  indoor_climate: indoorClimateModel,
  weather: weatherModel,
  traffic_counter: trafficCounterModel,
  parking: parkingModel,
  ev_charger: evChargerModel,
};

export const MODELLED_KINDS: readonly string[] = Object.keys(MODELS);

/** Values in the middle of each metric's range, drifting slowly; counters count up an hour at a time. */
function genericModel(ctx: GeneratorContext, kind: KindDefinition): KindModel {
  const entries = Object.entries(kind.metrics);
  return {
    sample(ts) {
      const out: Record<string, number> = {};
      entries.forEach(([name, spec], i) => {
        if (spec.counter) return;
        const span = Math.min(spec.max - spec.min, 1000);
        const mid = Math.max(spec.min, Math.min(spec.max, spec.min >= 0 ? spec.min + span / 2 : 0));
        const v = mid + 0.05 * span * smoothNoise(ctx.deviceSeed, 90 + i, ts, 3_600_000);
        const bound = spec.boundedBy ? ctx.site[spec.boundedBy] : undefined;
        const clamped = Math.max(spec.min, Math.min(spec.max, bound ?? Infinity, v));
        out[name] = spec.integer ? Math.floor(clamped) : round(clamped, 3);
      });
      return out;
    },
    counters: Object.fromEntries(
      entries
        .filter(([, spec]) => spec.counter)
        .map(([name], i) => [
          name,
          {
            initial: round(1000 * noise(ctx.deviceSeed, 99, i), 1),
            increment: (_s, t0, t1) => (t1 - t0) / 3_600_000,
          },
        ]),
    ),
  };
}

export function createGenerator(ctx: GeneratorContext): DeviceGenerator {
  const kind = getKind(ctx.kind);
  if (!kind) throw new Error(`unknown kind "${ctx.kind}"`);
  const model = MODELS[ctx.kind]?.(ctx) ?? genericModel(ctx, kind);
  return makeGenerator(ctx, model);
}

/** Residents of a municipality: the largest population of its network sites, else of any site. */
function residentsOf(registry: RegistryIndex, municipality: string): number {
  const sites = registry.registry.sites.filter(
    (s) => s.municipality === municipality && s.population !== undefined,
  );
  const networks = sites.filter((s) => s.type === 'network');
  const pool = networks.length > 0 ? networks : sites;
  return pool.reduce((max, s) => Math.max(max, s.population ?? 0), 0) || 500;
}

/** Static head at a site: from the nearest reservoir of its municipality above it, 3-6.5 bar. */
function staticHeadBar(registry: RegistryIndex, resolved: ResolvedDevice): number {
  const altitude = resolved.site.altitude_m;
  if (altitude === undefined) return 5;
  const above = registry.registry.sites
    .filter((s) => s.municipality === resolved.site.municipality && s.type === 'reservoir')
    .map((s) => (s.altitude_m ?? 0) - altitude)
    .filter((d) => d > 0);
  if (above.length === 0) return 4.5;
  return Math.min(6.5, Math.max(3, Math.min(...above) / 10.2));
}

export function generatorContext(registry: RegistryIndex, deviceId: string, seed: number): GeneratorContext {
  const resolved = registry.devices.get(deviceId);
  if (!resolved) throw new Error(`device "${deviceId}" is not in the registry`);
  const { device, site, municipality } = resolved;
  return {
    seed,
    deviceSeed: mix(seed, hashString(device.id)),
    deviceId: device.id,
    kind: device.kind,
    intervalS: device.interval_s,
    site,
    altitudeM: site.altitude_m ?? municipality.altitude_m ?? 1000,
    servedResidents: residentsOf(registry, site.municipality),
    staticHeadBar: staticHeadBar(registry, resolved),
  };
}

/** The generator of a registry device, seeded by the fleet's seed. */
export function generatorFor(registry: RegistryIndex, deviceId: string, seed: number): DeviceGenerator {
  return createGenerator(generatorContext(registry, deviceId, seed));
}
