/**
 * Drinking-water checks of a quality probe's latest values (../shared/valmalenco-reference.md §3).
 * pH 6.5-9.5 and turbidity <= 1 NTU: D.Lgs 18/2023 indicator parameters (turbidity as the
 * operational limit leaving the works). Free chlorine: 0.2 mg/l is the recommended residual where
 * disinfection is applied; the alarms below 0.05 and above 0.5 mg/l are the reference's practical
 * values [E], not legal limits. Bounds are inclusive: a value on a limit is within it.
 */
export const WATER_QUALITY_LIMITS = {
  free_chlorine_mg_l: { min: 0.05, max: 0.5, recommended: 0.2 },
  turbidity_ntu: { min: undefined, max: 1 },
  ph: { min: 6.5, max: 9.5 },
} as const;

export type QualityMetric = keyof typeof WATER_QUALITY_LIMITS;
export const QUALITY_METRICS = Object.keys(WATER_QUALITY_LIMITS) as QualityMetric[];

export interface Breach {
  metric: QualityMetric;
  bound: 'low' | 'high';
  value: number;
  limit: number;
}

/**
 * `chlorinated: false` is for a probe after UV-only disinfection, where no residual chlorine is
 * expected: the low-chlorine alarm would be permanent there and mean nothing (too much chlorine
 * still counts).
 */
export function qualityBreaches(
  values: Partial<Record<QualityMetric, number>>,
  chlorinated = true,
): Breach[] {
  const out: Breach[] = [];
  for (const metric of QUALITY_METRICS) {
    const value = values[metric];
    if (value === undefined) continue;
    const { min, max } = WATER_QUALITY_LIMITS[metric];
    const lowApplies = chlorinated || metric !== 'free_chlorine_mg_l';
    if (min !== undefined && lowApplies && value < min) out.push({ metric, bound: 'low', value, limit: min });
    if (value > max) out.push({ metric, bound: 'high', value, limit: max });
  }
  return out;
}
