/**
 * The mobility card of one municipality: car-park occupancy from the site capacity, traffic
 * counters as vehicles per hour, EV connectors in use. Totals only cover devices with data: an
 * unknown car park is neither full nor empty, an unknown charger is not "free".
 */
import { combine, combineParts, derive, single, total, weightedPercent, type Part } from './figure.js';
import type { MobilityCard } from './schemas.js';
import { ofKind, ref, type DeviceView } from './view.js';

export function mobilityCard(municipality: string, views: readonly DeviceView[]): MobilityCard {
  const parks = ofKind(views, 'parking').map((v) => {
    const capacity = v.resolved.site.capacity ?? 0;
    const part = v.part('occupied_spaces');
    return { view: v, capacity, part: part && { ...part, weight: capacity } };
  });
  const chargers = ofKind(views, 'ev_charger').map((v) => ({
    view: v,
    connectors: v.resolved.site.connectors ?? 0,
    part: v.part('connectors_in_use'),
  }));
  return {
    corridor: 'mobility',
    municipality,
    carParks: parks.map(({ view, capacity, part }) => {
      const occupied = single(part);
      return {
        ...ref(view),
        capacity,
        occupied,
        occupancy_pct: capacity > 0 ? derive(occupied, (n) => (n / capacity) * 100) : single(null),
        // Clamped: a counting drift above capacity must not show negative free spaces.
        freeSpaces: derive(occupied, (n) => Math.max(0, capacity - n)),
      };
    }),
    occupancy_pct: combineParts(
      parks.map((p) => p.part),
      weightedPercent,
    ),
    freeSpaces: combine(
      parks.map((p) => p.part && { ...p.part, value: Math.max(0, p.capacity - p.part.value) }),
      total,
    ),
    counters: ofKind(views, 'traffic_counter').map((v) => ({
      ...ref(v),
      vehiclesPerHour: single(vehiclesPerHour(v)),
      meanSpeed_km_h: single(v.part('average_speed_km_h')),
    })),
    chargers: chargers.map(({ view, connectors, part }) => ({
      ...ref(view),
      connectors,
      connectorsInUse: single(part),
    })),
    connectorsInUse: combine(
      chargers.map((c) => c.part),
      total,
    ),
    connectorsAvailable: combine(
      chargers.map((c) => c.part && { ...c.part, value: c.connectors }),
      total,
    ),
  };
}

/**
 * Vehicles in the latest counting interval scaled to an hour. The interval is the one the reading
 * carries (`interval_s`, when sent with the count) or else the device's reporting interval.
 */
function vehiclesPerHour(view: DeviceView): Part | null {
  const count = view.part('vehicles_count');
  if (count === null) return null;
  const interval = view.part('interval_s');
  const seconds =
    interval !== null && interval.asOf === count.asOf ? interval.value : view.resolved.device.interval_s;
  return { ...count, value: (count.value * 3600) / seconds };
}
