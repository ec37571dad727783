/** Mobility corridor: traffic counters, car parks, EV chargers. */
import { defineKind } from './define.js';

export const trafficCounter = defineKind('traffic_counter', 'mobility', 'Traffic counter', {
  vehicles_count: { unit: 'vehicles', min: 0, max: 100000, integer: true, label: 'Vehicles in interval' },
  heavy_vehicles_count: {
    unit: 'vehicles',
    min: 0,
    max: 100000,
    integer: true,
    label: 'Heavy vehicles in interval',
  },
  average_speed_km_h: { unit: 'km/h', min: 0, max: 250, label: 'Mean speed' },
  interval_s: { unit: 's', min: 1, max: 86400, label: 'Counting interval' },
});

export const parking = defineKind('parking', 'mobility', 'Car park occupancy', {
  occupied_spaces: {
    unit: 'spaces',
    min: 0,
    max: 100000,
    integer: true,
    boundedBy: 'capacity',
    label: 'Occupied spaces',
  },
});

export const evCharger = defineKind('ev_charger', 'mobility', 'EV charger', {
  power_kw: { unit: 'kW', min: 0, max: 1000, label: 'Charging power' },
  energy_kwh: { unit: 'kWh', min: 0, max: 1e12, counter: true, label: 'Energy delivered' },
  connectors_in_use: {
    unit: 'connectors',
    min: 0,
    max: 64,
    integer: true,
    boundedBy: 'connectors',
    label: 'Connectors in use',
  },
});
