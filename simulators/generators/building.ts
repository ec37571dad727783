/**
 * A public building (valmalenco-reference.md §2 and §5, [E]): opening hours and days from the
 * registry, closed on Italian public holidays (and schools in their holidays), heated to 20 °C
 * from two hours before opening and set back to 16 °C otherwise, while the day's mean outdoor
 * temperature is below 15 °C. Heat loss ∝ (indoor − outdoor): ~1.25 W/(m²·K) of floor area, an
 * old building of ~100-150 kWh/(m²·yr) in zone F.
 */
import type { Site } from '../../config/registry-schema.js';
import { localTime, parseOpeningHours, type LocalTime } from '../local-time.js';
import { dailyMeanTemperature, outdoorTemperature } from '../models/climate.js';

export const COMFORT_C = 20;
export const SETBACK_C = 16;
const HEATING_LIMIT_C = 15;
const PREHEAT_H = 2;
const LOSS_W_PER_M2_K = 1.25;

/** Fixed-date national holidays (Easter Monday moves; the simulation leaves it out). */
const HOLIDAYS = new Set(['1-1', '1-6', '4-25', '5-1', '6-2', '8-15', '11-1', '12-8', '12-25', '12-26']);

export type BuildingUse = 'school' | 'sports' | 'museum' | 'office';

export function buildingUse(site: Site): BuildingUse {
  const text = `${site.id} ${site.name}`.toLowerCase();
  if (/scuol|school/.test(text)) return 'school';
  if (/sport|palestra|gym/.test(text)) return 'sports';
  if (/muse/.test(text)) return 'museum';
  return 'office';
}

function schoolHoliday(lt: LocalTime): boolean {
  const md = lt.month * 100 + lt.day;
  return md >= 610 && md < 912;
}

export interface BuildingState {
  lt: LocalTime;
  open: number;
  close: number;
  /** The building is open today (day of week, holidays, school holidays). */
  openToday: boolean;
  occupied: boolean;
  heatingSeason: boolean;
  /** The heating is in comfort mode (pre-heat or open). */
  comfort: boolean;
  outdoorC: number;
  floorAreaM2: number;
  /** Heat loss coefficient, kW/K. */
  lossKwPerK: number;
  use: BuildingUse;
}

export function buildingState(seed: number, site: Site, altitudeM: number, ts: number): BuildingState {
  const lt = localTime(ts);
  const [open, close] = parseOpeningHours(site.opening_hours) ?? [8, 17];
  const days = site.open_days ?? [1, 2, 3, 4, 5];
  const use = buildingUse(site);
  const holiday = HOLIDAYS.has(`${lt.month}-${lt.day}`) && !days.includes(7);
  const christmasBreak =
    use === 'school' && ((lt.month === 12 && lt.day >= 23) || (lt.month === 1 && lt.day <= 6));
  const openToday =
    days.includes(lt.weekday) && !holiday && !christmasBreak && !(use === 'school' && schoolHoliday(lt));
  const heatingSeason =
    dailyMeanTemperature(seed, ts, altitudeM) < HEATING_LIMIT_C && lt.month !== 7 && lt.month !== 8;
  const floorAreaM2 = site.floor_area_m2 ?? 800;
  return {
    lt,
    open,
    close,
    openToday,
    occupied: openToday && lt.hour >= open && lt.hour < close,
    heatingSeason,
    comfort: openToday && lt.hour >= open - PREHEAT_H && lt.hour < close,
    outdoorC: outdoorTemperature(seed, ts, altitudeM),
    floorAreaM2,
    lossKwPerK: (floorAreaM2 * LOSS_W_PER_M2_K) / 1000,
    use,
  };
}

/** Hours after closing with the boiler off while the building's mass gives back its heat. */
const NIGHT_SHUTDOWN_H = 3;
/** Loss at setback relative to loss × (setback − outdoor): a cooler building and its stored heat. */
const SETBACK_FACTOR = 0.6;

/**
 * Heating power, kW: loss × (setpoint − outdoor) in comfort mode, with a boost in the first
 * pre-heat hour and the occupants' gains taken off; after closing the boiler rests, then holds
 * the setback.
 */
export function heatingPowerKw(b: BuildingState): number {
  if (!b.heatingSeason) return 0;
  const h = b.lt.hour;
  if (b.comfort) {
    const setpoint = b.use === 'sports' ? 18 : COMFORT_C;
    const boost = h < b.open - PREHEAT_H + 1 ? 1.4 : 1;
    // People, lights and computers heat the building while it is occupied.
    const gains = b.occupied ? b.floorAreaM2 * 0.004 : 0;
    const power = b.lossKwPerK * (setpoint - b.outdoorC) * boost - gains;
    return Math.min(Math.max(0, power), b.lossKwPerK * 45);
  }
  if (b.openToday && h >= b.close && h < b.close + NIGHT_SHUTDOWN_H) return 0;
  return Math.max(0, b.lossKwPerK * SETBACK_FACTOR * (SETBACK_C - b.outdoorC));
}

/** Indoor air temperature, °C: the setpoint reached with a lag, free-floating outside the season. */
export function indoorTemperature(b: BuildingState, seedNoise: number): number {
  const h = b.lt.hour;
  if (!b.heatingSeason) return Math.min(28, 21.5 + 0.25 * (b.outdoorC - 15)) + seedNoise;
  const comfort = b.use === 'sports' ? 18 : COMFORT_C;
  const start = b.open - PREHEAT_H;
  let t = SETBACK_C;
  if (b.openToday && h >= start && h < b.close)
    t = SETBACK_C + (comfort + 0.5 - SETBACK_C) * (1 - Math.exp(-(h - start) / 0.8));
  else if (b.openToday && h >= b.close)
    t = SETBACK_C + (comfort + 0.5 - SETBACK_C) * Math.exp(-(h - b.close) / 3);
  return t + seedNoise;
}
