/** The water card of one municipality: what the network technician looks at first. */
import type { Site } from '../../config/registry-schema.js';
import { combine, dayTotal, lowest, single, total, type Part } from './figure.js';
import { romeDay } from './rome-time.js';
import type { WaterCard } from './schemas.js';
import { amountPart, ofKind, ref, type DeviceView } from './view.js';
import { QUALITY_METRICS, qualityBreaches, type QualityMetric } from './water-quality.js';

/** Whether a site's water is chlorinated (see `AggregatorOptions.chlorinated`). */
export type ChlorinatedFn = (site: Site) => boolean;

export function waterCard(
  municipality: string,
  views: readonly DeviceView[],
  now: number,
  chlorinated: ChlorinatedFn = () => true,
  countedSince = 0,
): WaterCard {
  const flows = ofKind(views, 'water_flow');
  const pressures = ofKind(views, 'water_pressure').map((v) => ({
    id: v.resolved.device.id,
    part: v.part('pressure_bar'),
  }));
  const lowestPressure = combine(
    pressures.map((p) => p.part),
    lowest,
  );
  const atLowest = pressures.find((p) => p.part !== null && p.part.value === lowestPressure.value);
  return {
    corridor: 'water',
    municipality,
    // Every flow meter of the municipality adds up, as the issue asks; intake and tank outflow
    // meters on the same main would count the same water twice (a registry/metering choice).
    totalFlow_l_s: combine(
      flows.map((v) => v.part('flow_l_s')),
      total,
    ),
    volumeToday_m3: dayTotal(
      flows.map((v) => amountPart(v.counter('totaliser_m3')?.dayTotal(now) ?? null, v)),
      romeDay(now).start,
      countedSince,
    ),
    lowestPressure_bar: { ...lowestPressure, deviceId: atLowest?.id ?? null },
    reservoirs: ofKind(views, 'water_level').map((v) => ({
      ...ref(v),
      level_pct: single(v.part('level_pct')),
      level_m: single(v.part('level_m')),
      volume_m3: v.resolved.site.volume_m3 ?? null,
    })),
    quality: qualitySummary(ofKind(views, 'water_quality'), chlorinated),
  };
}

function qualitySummary(probes: readonly DeviceView[], chlorinated: ChlorinatedFn): WaterCard['quality'] {
  const rows = probes.map((v) => {
    const parts = {} as Record<QualityMetric, Part | null>;
    const values: Partial<Record<QualityMetric, number>> = {};
    const present: Part[] = [];
    for (const metric of QUALITY_METRICS) {
      const part = (parts[metric] = v.part(metric));
      if (part === null) continue;
      values[metric] = part.value;
      present.push(part);
    }
    const breaches = qualityBreaches(values, chlorinated(v.resolved.site));
    const status = present.length === 0 ? 'nodata' : breaches.length > 0 ? 'breach' : 'ok';
    return {
      ...ref(v),
      status,
      asOf: present.length ? Math.min(...present.map((p) => p.asOf)) : null,
      stale: present.some((p) => p.degraded),
      free_chlorine_mg_l: parts.free_chlorine_mg_l?.value ?? null,
      turbidity_ntu: parts.turbidity_ntu?.value ?? null,
      ph: parts.ph?.value ?? null,
      breaches,
    } satisfies WaterCard['quality']['probes'][number];
  });
  const withData = rows.filter((r) => r.status !== 'nodata');
  return {
    status: withData.length === 0 ? 'nodata' : withData.some((r) => r.status === 'breach') ? 'breach' : 'ok',
    asOf: withData.length ? Math.min(...withData.map((r) => r.asOf as number)) : null,
    probes: rows,
  };
}
