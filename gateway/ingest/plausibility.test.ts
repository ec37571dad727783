import { describe, expect, it } from '@jest/globals';
import { getKind } from '../../contract/index.js';
import type { Site } from '../../config/registry-schema.js';
import { CounterTracker, checkPlausibility } from './plausibility.js';

const carPark: Site = {
  id: 'snow-eagle-park',
  municipality: 'chiesa',
  type: 'car_park',
  name: 'P',
  lat: 46,
  lon: 9,
  capacity: 300,
};
const chargers: Site = {
  id: 'ev',
  municipality: 'chiesa',
  type: 'charging_station',
  name: 'EV',
  lat: 46,
  lon: 9,
  connectors: 2,
};
const road: Site = { id: 'sp15', municipality: 'chiesa', type: 'road', name: 'SP15', lat: 46, lon: 9 };

describe('checkPlausibility', () => {
  it('bounds car-park occupancy by the site capacity', () => {
    const parking = getKind('parking')!;
    expect(checkPlausibility({ ts: 1, values: { occupied_spaces: 300 } }, parking, carPark)).toBeNull();
    expect(checkPlausibility({ ts: 1, seq: 4, values: { occupied_spaces: 301 } }, parking, carPark)).toEqual({
      code: 'E_RANGE',
      message: 'occupied_spaces 301 exceeds the capacity of site snow-eagle-park (300)',
      path: 'values.occupied_spaces',
      ts: 1,
      seq: 4,
    });
  });

  it('bounds connectors in use by the site connectors', () => {
    const ev = getKind('ev_charger')!;
    expect(checkPlausibility({ ts: 1, values: { connectors_in_use: 2 } }, ev, chargers)).toBeNull();
    expect(checkPlausibility({ ts: 1, values: { connectors_in_use: 3 } }, ev, chargers)).toMatchObject({
      code: 'E_RANGE',
    });
  });

  it('refuses more heavy vehicles than vehicles', () => {
    const traffic = getKind('traffic_counter')!;
    expect(
      checkPlausibility({ ts: 1, values: { vehicles_count: 10, heavy_vehicles_count: 10 } }, traffic, road),
    ).toBeNull();
    expect(
      checkPlausibility({ ts: 1, values: { vehicles_count: 10, heavy_vehicles_count: 11 } }, traffic, road),
    ).toMatchObject({ code: 'E_RANGE', path: 'values.heavy_vehicles_count' });
  });
});

describe('CounterTracker', () => {
  const flow = getKind('water_flow')!;

  it('flags a decrease as counter_reset, checked in timestamp order', () => {
    const t = new CounterTracker();
    expect(t.track('d', flow, [{ ts: 1, values: { totaliser_m3: 100 } }])).toEqual([undefined]);
    // Out of order in the array: sorted by ts before comparing.
    const flags = t.track('d', flow, [
      { ts: 4, values: { totaliser_m3: 5 } },
      { ts: 2, values: { totaliser_m3: 101 } },
      { ts: 3, values: { totaliser_m3: 2 } },
    ]);
    expect(flags).toEqual([undefined, undefined, ['counter_reset']]);
    // After the reset the new, lower series is the reference: no flag forever.
    expect(t.track('d', flow, [{ ts: 5, values: { totaliser_m3: 6 } }])).toEqual([undefined]);
  });

  it('does not flag a late reading by a value from its future', () => {
    const t = new CounterTracker();
    t.track('d', flow, [{ ts: 10, values: { totaliser_m3: 100 } }]);
    expect(t.track('d', flow, [{ ts: 5, values: { totaliser_m3: 50 } }])).toEqual([undefined]);
  });

  it('ignores kinds without counters and keeps devices apart', () => {
    const t = new CounterTracker();
    expect(t.track('p', getKind('water_pressure')!, [{ ts: 1, values: { pressure_bar: 3 } }])).toEqual([
      undefined,
    ]);
    t.track('a', flow, [{ ts: 1, values: { totaliser_m3: 100 } }]);
    expect(t.track('b', flow, [{ ts: 2, values: { totaliser_m3: 1 } }])).toEqual([undefined]);
  });
});
