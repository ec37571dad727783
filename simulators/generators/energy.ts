/**
 * Energy corridor: electricity and heat meters of public buildings, indoor climate, weather
 * stations (valmalenco-reference.md §2 and §5, [E]).
 */
import { gaussian, noise, smoothNoise } from '../random.js';
import {
  outdoorTemperature,
  precipitationBetween,
  relativeHumidity,
  summerness,
  windSpeed,
} from '../models/climate.js';
import { clamp, round } from './base.js';
import { buildingState, heatingPowerKw, indoorTemperature, type BuildingState } from './building.js';
import type { GeneratorContext, KindModel } from './types.js';

const DAY_MS = 86_400_000;

/** Occupied electrical load per m² (lights, computers, ventilation), W. */
const OCCUPIED_W_PER_M2 = { school: 7, sports: 9, museum: 8, office: 6 } as const;

/**
 * Electricity: a base load day and night (servers, fridges, emergency lights, ~1.6 W/m²), the
 * occupied load during opening hours with a lunch dip, more light on dark winter afternoons, and
 * the heating's circulation pumps while it runs.
 */
export function energyMeterModel(ctx: GeneratorContext): KindModel {
  return {
    sample(ts) {
      const b = buildingState(ctx.seed, ctx.site, ctx.altitudeM, ts);
      const h = b.lt.hour;
      const base = b.floorAreaM2 * 0.0016;
      let occupied = 0;
      if (b.occupied) {
        const lunch = h >= 12.5 && h < 13.5 ? 0.75 : 1;
        const dark = h < 8.5 || h > 16.5 ? 1 + 0.4 * (1 - summerness(b.lt.yearDay)) : 1;
        occupied = ((b.floorAreaM2 * OCCUPIED_W_PER_M2[b.use]) / 1000) * lunch * dark;
      }
      const pumps = heatingPowerKw(b) > 0 ? b.lossKwPerK * 0.05 : 0;
      const wiggle =
        1 + 0.05 * gaussian(ctx.deviceSeed, 20, ts) + 0.04 * smoothNoise(ctx.deviceSeed, 21, ts, DAY_MS / 8);
      return { active_power_kw: round(Math.max(0.05, (base + occupied + pumps) * wiggle), 3) };
    },
    counters: {
      energy_import_kwh: {
        initial: round(50_000 + 400_000 * noise(ctx.deviceSeed, 22), 1),
        increment: (s, t0, t1) => (Math.max(0, s.active_power_kw ?? 0) * (t1 - t0)) / 3_600_000,
      },
    },
  };
}

function flowTemperature(b: BuildingState, powerKw: number): { flow: number; ret: number } {
  if (powerKw <= 0) {
    // Circulation off: the pipes settle to the boiler room's temperature.
    const room = 19 + 2 * summerness(b.lt.yearDay);
    return { flow: room + 0.5, ret: room };
  }
  const flow = clamp(32 + 1.15 * (20 - b.outdoorC), 35, 75);
  const load = clamp(powerKw / (b.lossKwPerK * 35), 0, 1);
  return { flow, ret: flow - (5 + 10 * load) };
}

/** Heat: heating power ∝ (setpoint − outdoor) while the heating season lasts; a weather-compensated flow temperature. */
export function heatMeterModel(ctx: GeneratorContext): KindModel {
  return {
    sample(ts) {
      const b = buildingState(ctx.seed, ctx.site, ctx.altitudeM, ts);
      const raw = heatingPowerKw(b);
      const power = raw > 0 ? raw * (1 + 0.03 * gaussian(ctx.deviceSeed, 30, ts)) : 0;
      const { flow, ret } = flowTemperature(b, power);
      return {
        thermal_power_kw: round(Math.max(0, power), 2),
        flow_temperature_c: round(flow + 0.3 * gaussian(ctx.deviceSeed, 31, ts), 1),
        return_temperature_c: round(ret + 0.3 * gaussian(ctx.deviceSeed, 32, ts), 1),
      };
    },
    counters: {
      heat_energy_kwh: {
        initial: round(100_000 + 900_000 * noise(ctx.deviceSeed, 33), 1),
        increment: (s, t0, t1) => ((s.thermal_power_kw ?? 0) * (t1 - t0)) / 3_600_000,
      },
    },
  };
}

/** CO₂ above outdoor air at full occupancy, ppm: a classroom gets stuffy, a museum hardly. */
const CO2_EXCESS_PPM = { school: 1100, sports: 600, museum: 250, office: 450 } as const;

/** Indoor climate: temperature from the heating schedule, dry air in winter, CO₂ from occupancy and airing. */
export function indoorClimateModel(ctx: GeneratorContext): KindModel {
  return {
    sample(ts) {
      const b = buildingState(ctx.seed, ctx.site, ctx.altitudeM, ts);
      const h = b.lt.hour;
      const excess = CO2_EXCESS_PPM[b.use];
      let co2 = 0;
      if (b.occupied) {
        // Windows open in the breaks (10:00, 12:30 in schools): CO₂ falls, then builds up again.
        const airings = b.use === 'school' ? [b.open, 10.25, 12.75] : [b.open];
        const since = h - Math.max(...airings.filter((a) => a <= h));
        const start = since === h - b.open ? 0 : 0.3;
        co2 = excess * (start + (1 - start) * (1 - Math.exp(-since / 0.75)));
      } else if (b.openToday && h >= b.close) co2 = excess * 0.9 * Math.exp(-(h - b.close) / 1.5);
      const s = summerness(b.lt.yearDay);
      const humidity = b.use === 'museum' ? 50 : 32 + 22 * s + (b.occupied ? 5 : 0);
      return {
        temperature_c: round(indoorTemperature(b, 0.15 * smoothNoise(ctx.deviceSeed, 40, ts, DAY_MS / 6)), 2),
        humidity_pct: round(clamp(humidity + 2 * smoothNoise(ctx.deviceSeed, 41, ts, DAY_MS / 4), 10, 95), 1),
        co2_ppm: round(Math.max(380, 420 + co2 + 15 * gaussian(ctx.deviceSeed, 42, ts)), 0),
      };
    },
  };
}

/** Weather station: the valley's weather at the station's altitude; a heated rain gauge's total. */
export function weatherModel(ctx: GeneratorContext): KindModel {
  return {
    sample(ts) {
      const t = outdoorTemperature(ctx.seed, ts, ctx.altitudeM) + 0.1 * gaussian(ctx.deviceSeed, 50, ts);
      return {
        temperature_c: round(t, 1),
        humidity_pct: round(relativeHumidity(ctx.seed, ts, ctx.deviceSeed), 1),
        wind_speed_m_s: round(windSpeed(ctx.seed, ts, ctx.altitudeM, ctx.deviceSeed), 1),
      };
    },
    counters: {
      precipitation_mm: {
        initial: round(2_000 + 8_000 * noise(ctx.deviceSeed, 51), 1),
        increment: (_s, t0, t1) => precipitationBetween(ctx.seed, t0, t1, ctx.altitudeM),
      },
    },
  };
}
