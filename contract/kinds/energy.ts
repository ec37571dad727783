/** Energy-efficiency corridor: meters of public buildings, indoor climate, outdoor weather. */
import { defineKind } from './define.js';

export const energyMeter = defineKind('energy_meter', 'energy', 'Electricity meter', {
  // Negative with on-site generation (PV) exporting to the grid.
  active_power_kw: { unit: 'kW', min: -10000, max: 10000, label: 'Active power' },
  energy_import_kwh: { unit: 'kWh', min: 0, max: 1e12, counter: true, label: 'Energy imported' },
  energy_export_kwh: { unit: 'kWh', min: 0, max: 1e12, counter: true, label: 'Energy exported' },
});

export const heatMeter = defineKind('heat_meter', 'energy', 'Heat meter', {
  thermal_power_kw: { unit: 'kW', min: 0, max: 20000, label: 'Thermal power' },
  heat_energy_kwh: { unit: 'kWh', min: 0, max: 1e12, counter: true, label: 'Heat energy' },
  flow_temperature_c: { unit: '°C', min: -20, max: 150, label: 'Flow temperature' },
  return_temperature_c: { unit: '°C', min: -20, max: 150, label: 'Return temperature' },
});

export const indoorClimate = defineKind('indoor_climate', 'energy', 'Indoor climate sensor', {
  temperature_c: { unit: '°C', min: -30, max: 60, label: 'Indoor temperature' },
  humidity_pct: { unit: '%', min: 0, max: 100, label: 'Relative humidity' },
  co2_ppm: { unit: 'ppm', min: 0, max: 10000, label: 'CO₂' },
});

export const weather = defineKind('weather', 'energy', 'Weather station', {
  temperature_c: { unit: '°C', min: -60, max: 50, label: 'Outdoor temperature' },
  humidity_pct: { unit: '%', min: 0, max: 100, label: 'Relative humidity' },
  wind_speed_m_s: { unit: 'm/s', min: 0, max: 100, label: 'Wind speed' },
  precipitation_mm: { unit: 'mm', min: 0, max: 1e7, counter: true, label: 'Precipitation (total)' },
});
