/**
 * Water corridor: flow at springs and tank outlets, network pressure, tank level, quality at the
 * dosing point and at the far end of the network (valmalenco-reference.md §3, ranges [E]).
 */
import { localTime } from '../local-time.js';
import { gaussian, noise, smoothNoise } from '../random.js';
import { isWetDay, summerness } from '../models/climate.js';
import { demandProfile, meanConsumption, referencePeakFlow, villageDemand } from '../models/water-demand.js';
import { clamp, round } from './base.js';
import type { GeneratorContext, KindModel } from './types.js';

const DAY_MS = 86_400_000;
const TEN_MINUTES = 600_000;

/** Residents whose water passes this site: its own population, else the municipality's. */
function residentsOf(ctx: GeneratorContext): number {
  return ctx.site.population ?? ctx.servedResidents;
}

/**
 * Spring yield: minimum in late winter, maximum at snowmelt (May-July); ~1.4x the village's
 * average need off-season, the surplus leaving by the tank's overflow.
 */
function springYield(ctx: GeneratorContext, ts: number): number {
  const lt = localTime(ts);
  const d = lt.yearDay;
  const melt = Math.exp(-(((d - 165) / 45) ** 2));
  const lateWinter = Math.exp(-(((d - 60) / 35) ** 2));
  const base = ((ctx.servedResidents * 370) / 86_400) * 1.4;
  const afterRain = isWetDay(ctx.seed, localTime(ts - DAY_MS)) ? 1.08 : 1;
  const drift = 1 + 0.03 * smoothNoise(ctx.deviceSeed, 1, ts, DAY_MS);
  return Math.max(0.3, base * (1 + 0.7 * melt - 0.25 * lateWinter) * afterRain * drift);
}

export function waterFlowModel(ctx: GeneratorContext): KindModel {
  const spring = ctx.site.type === 'spring';
  const residents = residentsOf(ctx);
  return {
    sample(ts) {
      const flow = spring
        ? springYield(ctx, ts) * (1 + 0.01 * gaussian(ctx.deviceSeed, 2, ts))
        : villageDemand(residents, ts) * (1 + 0.04 * gaussian(ctx.deviceSeed, 2, ts));
      return { flow_l_s: round(Math.max(0, flow), 2) };
    },
    counters: {
      totaliser_m3: {
        initial: round(20_000 + 180_000 * noise(ctx.deviceSeed, 3), 1),
        increment: (s, t0, t1) => ((s.flow_l_s ?? 0) * (t1 - t0)) / 1_000_000,
      },
    },
  };
}

/** Pressure falls with the square of the flow through the mains: highest at night. */
export function waterPressureModel(ctx: GeneratorContext): KindModel {
  const residents = residentsOf(ctx);
  const qRef = referencePeakFlow(residents);
  return {
    sample(ts) {
      const q = villageDemand(residents, ts);
      const drop = 0.28 * (q / qRef) ** 2;
      const jitter =
        0.03 * gaussian(ctx.deviceSeed, 4, ts) + 0.04 * smoothNoise(ctx.deviceSeed, 5, ts, DAY_MS);
      return { pressure_bar: round(clamp(ctx.staticHeadBar - drop + jitter, 0, 25), 2) };
    },
  };
}

/**
 * Tank level: the springs deliver ~10 % more than the day's mean demand at a steady rate, the
 * village draws with the diurnal profile. The tank fills at night until it overflows (a plateau at
 * the top in the early morning) and empties by day. With an overflow and no other limit, the
 * level is the top minus the largest drawdown since the tank was last full (computed over the
 * last 24 h, the cycle of the profile).
 */
export function waterLevelModel(ctx: GeneratorContext): KindModel {
  const residents = residentsOf(ctx);
  const volume = ctx.site.volume_m3 ?? 200;
  const depth = clamp(2 + volume / 400, 2, 4);
  const top = 0.97;
  const inflowRatio = 1.1;
  return {
    sample(ts) {
      const lt = localTime(ts);
      const profile = demandProfile(ts);
      // Net inflow since midnight in hours × mean consumption (negative hours: the day before).
      const net = (h: number) => profile.surplus((h + 24) % 24) + (inflowRatio - 1) * h;
      let best = -Infinity;
      for (let k = 0; k <= 24 * 6; k++) best = Math.max(best, net(lt.hour - k / 6));
      const litresPerSecond = meanConsumption(residents, ts);
      const drawdownM3 = (best - net(lt.hour)) * litresPerSecond * 3.6;
      const fill = clamp(top - drawdownM3 / volume + 0.002 * gaussian(ctx.deviceSeed, 6, ts), 0.04, 0.99);
      return { level_m: round(fill * depth, 3), level_pct: round(fill * 100, 1) };
    },
  };
}

const UV = /(^|[^a-z])uv([^a-z]|$)/i;

/**
 * Quality inside drinking-water limits: chlorine 0.2-0.3 mg/l at a hypochlorite dosing point,
 * lower at the far end of the network (longer at night, when water stands in the pipes), ~0 where
 * only UV disinfects; serpentinite springs (pH ~8, 200-300 µS/cm); turbidity below 1 NTU with a
 * rise at snowmelt and after rain.
 */
export function waterQualityModel(ctx: GeneratorContext): KindModel {
  const uvOnly = UV.test(ctx.site.id) || UV.test(ctx.site.name);
  const farEnd = ctx.site.type === 'network';
  return {
    sample(ts) {
      const lt = localTime(ts);
      const slot = Math.floor(ts / TEN_MINUTES);
      const s = summerness(lt.yearDay);
      const melt = Math.exp(-(((lt.yearDay - 150) / 30) ** 2));
      let chlorine: number;
      if (uvOnly) chlorine = 0.01 + 0.005 * Math.abs(gaussian(ctx.deviceSeed, 7, slot));
      else if (farEnd) {
        const turnover = clamp(demandProfile(ts).at(lt.hour), 0.3, 1.6);
        chlorine = 0.08 + 0.05 * turnover + 0.008 * gaussian(ctx.deviceSeed, 7, slot) - 0.02 * s;
      } else
        chlorine =
          0.25 +
          0.02 * smoothNoise(ctx.deviceSeed, 8, ts, DAY_MS / 3) +
          0.01 * gaussian(ctx.deviceSeed, 7, slot);
      const rain = isWetDay(ctx.seed, lt) ? 0.25 : 0;
      const turbidity = (0.12 + 0.2 * melt + rain) * Math.exp(0.15 * gaussian(ctx.deviceSeed, 9, slot));
      const temperature =
        (farEnd ? 5.5 + 7 * s : 5.5 + 2.5 * s) + 0.15 * smoothNoise(ctx.deviceSeed, 10, ts, DAY_MS);
      return {
        free_chlorine_mg_l: round(clamp(chlorine, 0, 5), 3),
        turbidity_ntu: round(clamp(turbidity, 0.02, 0.95), 3),
        ph: round(7.9 + 0.05 * smoothNoise(ctx.deviceSeed, 11, ts, DAY_MS) - 0.1 * melt, 2),
        conductivity_us_cm: round(250 - 70 * melt + 8 * smoothNoise(ctx.deviceSeed, 12, ts, DAY_MS), 0),
        temperature_c: round(temperature, 2),
      };
    },
  };
}
