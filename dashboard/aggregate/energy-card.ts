/**
 * The energy card of one municipality: power and energy of public buildings, indoor and outdoor
 * temperature. "Energy today" comes from the `energy_import_kwh` registers (import from the grid;
 * on-site generation shows in `active_power_kw` going negative, not here). "Same time yesterday"
 * is each meter's consumption from yesterday's midnight to the same clock time as its latest
 * reading today, interpolated from 15-minute samples (counter-day.ts); a meter without a reading
 * today is left out of both totals, so the two compare the same meters.
 */
import type { ResolvedDevice } from '../../config/registry-schema.js';
import { combine, dayTotal, mean, single, total, type Part } from './figure.js';
import { previousRomeDay, romeDay, sameTimePreviousDay } from './rome-time.js';
import type { EnergyCard } from './schemas.js';
import { amountPart, ofKind, type DeviceView } from './view.js';

const ENERGY = 'energy_import_kwh';
const BUILDING_KINDS = new Set(['energy_meter', 'heat_meter', 'indoor_climate']);

export function energyCard(
  municipality: string,
  views: readonly DeviceView[],
  now: number,
  countedSince = 0,
): EnergyCard {
  const meters = ofKind(views, 'energy_meter');
  const energy = new Map(meters.map((v) => [v, meterEnergy(v, now)]));
  const sites = new Map<string, ResolvedDevice['site']>();
  for (const v of views)
    if (BUILDING_KINDS.has(v.resolved.device.kind)) sites.set(v.resolved.site.id, v.resolved.site);
  const atSite = (list: readonly DeviceView[], site: string) =>
    list.filter((v) => v.resolved.site.id === site);
  const todayStart = romeDay(now).start;
  const todayOf = (list: readonly DeviceView[]) =>
    dayTotal(
      list.map((v) => energy.get(v)?.today ?? null),
      todayStart,
      countedSince,
    );
  const yesterdayOf = (list: readonly DeviceView[]) =>
    dayTotal(
      list.map((v) => energy.get(v)?.yesterday ?? null),
      previousRomeDay(todayStart).start,
      countedSince,
    );
  const outdoor = primaryStation(ofKind(views, 'weather'));
  return {
    corridor: 'energy',
    municipality,
    totalPower_kw: combine(
      meters.map((v) => v.part('active_power_kw')),
      total,
    ),
    energyToday_kwh: todayOf(meters),
    energyYesterdaySameTime_kwh: yesterdayOf(meters),
    buildings: [...sites.values()].map((site) => {
      const siteMeters = atSite(meters, site.id);
      return {
        site: site.id,
        siteName: site.name,
        floorArea_m2: site.floor_area_m2 ?? null,
        power_kw: combine(
          siteMeters.map((v) => v.part('active_power_kw')),
          total,
        ),
        thermalPower_kw: combine(
          atSite(ofKind(views, 'heat_meter'), site.id).map((v) => v.part('thermal_power_kw')),
          total,
        ),
        energyToday_kwh: todayOf(siteMeters),
        energyYesterdaySameTime_kwh: yesterdayOf(siteMeters),
        indoorTemperature_c: combine(
          atSite(ofKind(views, 'indoor_climate'), site.id).map((v) => v.part('temperature_c')),
          mean,
        ),
      };
    }),
    outdoorTemperature_c: {
      ...single(outdoor?.part('temperature_c') ?? null),
      deviceId: outdoor?.resolved.device.id ?? null,
    },
  };
}

function meterEnergy(view: DeviceView, now: number): { today: Part | null; yesterday: Part | null } {
  const counter = view.counter(ENERGY);
  const today = counter?.dayTotal(now) ?? null;
  if (!counter || today === null) return { today: null, yesterday: null };
  return {
    today: amountPart(today, view),
    yesterday: amountPart(counter.dayTotalUntil(sameTimePreviousDay(today.asOf)), view),
  };
}

/**
 * The station that stands for the municipality's outdoor temperature: the one nearest its centre
 * (Chiesa's valley station, not the one at 2,080 m on Alpe Palù). A temperature lapse of ~6 °C
 * makes "the first station" or an average wrong for a heating manager.
 */
function primaryStation(stations: readonly DeviceView[]): DeviceView | undefined {
  let best: DeviceView | undefined;
  let bestDistance = Infinity;
  for (const v of stations) {
    const { municipality: m, device: d } = v.resolved;
    const dx = (d.lon - m.lon) * Math.cos((m.lat * Math.PI) / 180);
    const distance = dx * dx + (d.lat - m.lat) ** 2;
    if (distance < bestDistance) [best, bestDistance] = [v, distance];
  }
  return best;
}
