/** Water corridor: the network technician's sensors (flow, pressure, tanks, quality). */
import { defineKind } from './define.js';

export const waterFlow = defineKind('water_flow', 'water', 'Water flow meter', {
  // Bidirectional meters report reverse flow as negative; mains in the valley stay well below 1 m³/s.
  flow_l_s: { unit: 'l/s', min: -1000, max: 1000, label: 'Flow' },
  totaliser_m3: { unit: 'm³', min: 0, max: 1e10, counter: true, label: 'Totaliser' },
});

export const waterPressure = defineKind('water_pressure', 'water', 'Network pressure sensor', {
  pressure_bar: { unit: 'bar', min: 0, max: 25, label: 'Pressure' },
});

export const waterLevel = defineKind('water_level', 'water', 'Reservoir level sensor', {
  level_m: { unit: 'm', min: 0, max: 100, label: 'Level' },
  level_pct: { unit: '%', min: 0, max: 100, label: 'Fill' },
});

export const waterQuality = defineKind('water_quality', 'water', 'Water quality probe', {
  free_chlorine_mg_l: { unit: 'mg/l', min: 0, max: 5, label: 'Free chlorine' },
  turbidity_ntu: { unit: 'NTU', min: 0, max: 4000, label: 'Turbidity' },
  ph: { unit: 'pH', min: 0, max: 14, label: 'pH' },
  conductivity_us_cm: { unit: 'µS/cm', min: 0, max: 20000, label: 'Conductivity' },
  temperature_c: { unit: '°C', min: -5, max: 60, label: 'Water temperature' },
});
