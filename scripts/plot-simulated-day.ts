/**
 * Plots one simulated day per corridor (a winter day and an August day) from the default
 * registry's devices, as inline-SVG charts rendered to PNG by headless Chromium (`npm i canvas`
 * does not build here; DESIGN). Output: docs/sim-water.png, docs/sim-energy.png,
 * docs/sim-mobility.png, referenced from docs/simulators.md.
 *
 *   node --import tsx scripts/plot-simulated-day.ts [--registry FILE] [--seed N] [--out DIR]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { loadRegistryFile } from '../config/loader.js';
import type { RegistryIndex } from '../config/registry-schema.js';
import { generatorFor } from '../simulators/generators/index.js';
import { fromLocal, localTime } from '../simulators/local-time.js';
import { chartPage, lineChart, type Series } from './svg-chart.js';

interface Day {
  label: string;
  y: number;
  m: number;
  d: number;
}
// A working day in January, a ski Saturday, and the day before Ferragosto (a Friday).
const WINTER: Day = { label: 'Wed 14 Jan 2026', y: 2026, m: 1, d: 14 };
const SKI_SATURDAY: Day = { label: 'Sat 17 Jan 2026 (ski)', y: 2026, m: 1, d: 17 };
const AUGUST: Day = { label: 'Fri 14 Aug 2026', y: 2026, m: 8, d: 14 };
const BLUE = '#1f5fbf';
const RED = '#d0452b';
const GREEN = '#2c8c4a';
const GREY = '#777';

type Registry = RegistryIndex;

/** [local hour, value] every `stepMin` minutes of the day for one metric of one device. */
function series(
  reg: Registry,
  seed: number,
  id: string,
  metric: string,
  day: Day,
  stepMin = 5,
): [number, number][] {
  const gen = generatorFor(reg, id, seed);
  const start = fromLocal(day.y, day.m, day.d);
  const end = fromLocal(day.y, day.m, day.d + 1);
  const out: [number, number][] = [];
  // Warm the generator up an interval before midnight, so the first counter-based value is honest.
  gen.next(start - stepMin * 60_000);
  for (let ts = start; ts <= end; ts += stepMin * 60_000) {
    const v = gen.next(ts)[metric];
    if (v !== undefined) out.push([ts === end ? 24 : localTime(ts).hour, v]);
  }
  return out;
}

/** Counts per interval summed to hourly totals, plotted at the middle of each hour. */
function hourly(points: [number, number][]): [number, number][] {
  const sums = new Array<number>(24).fill(0);
  for (const [h, v] of points) if (h > 0) sums[Math.min(23, Math.ceil(h) - 1)]! += v;
  return sums.map((v, h) => [h + 0.5, v]);
}

function water(reg: Registry, seed: number): string[] {
  const night = [{ from: 2, to: 5, label: 'minimum night flow' }];
  const pair = (id: string, metric: string, step = 5): Series[] => [
    { name: WINTER.label, color: BLUE, points: series(reg, seed, id, metric, WINTER, step) },
    { name: AUGUST.label, color: RED, points: series(reg, seed, id, metric, AUGUST, step) },
  ];
  return [
    lineChart({
      title: 'Chiesa: outflow of the upper tank (serves 1,500)',
      unit: 'flow l/s',
      series: pair('chiesa-wf-serbatoio-alto', 'flow_l_s'),
      yMin: 0,
      bands: night,
    }),
    lineChart({
      title: 'Chiesa centre: network pressure',
      unit: 'bar',
      series: pair('chiesa-wp-centro', 'pressure_bar'),
      yMin: 2,
      yMax: 6,
      bands: night,
      lines: [{ y: 2.5, label: 'normal service from 2.5 bar' }],
    }),
    lineChart({
      title: 'Chiesa: upper tank level (400 m³)',
      unit: 'fill %',
      series: pair('chiesa-wl-serbatoio-alto', 'level_pct'),
      yMin: 0,
      yMax: 100,
      lines: [{ y: 97, label: 'overflow', color: GREY }],
    }),
    lineChart({
      title: 'Free chlorine: tank (dosing) and Chiareggio (far end)',
      unit: 'mg/l',
      series: [
        ...pair('chiesa-wq-serbatoio-alto', 'free_chlorine_mg_l', 10),
        {
          name: 'Chiareggio, Aug',
          color: GREEN,
          points: series(reg, seed, 'chiesa-wq-chiareggio', 'free_chlorine_mg_l', AUGUST, 10),
        },
      ],
      yMin: 0,
      yMax: 0.6,
      lines: [
        { y: 0.5, label: 'high alarm 0.5' },
        { y: 0.05, label: 'low alarm 0.05', color: '#c70' },
      ],
    }),
  ];
}

function energy(reg: Registry, seed: number): string[] {
  return [
    lineChart({
      title: 'Outdoor temperature: Chiesa (956 m) and Alpe Palù (2,080 m)',
      unit: '°C',
      series: [
        {
          name: 'Chiesa, Jan',
          color: BLUE,
          points: series(reg, seed, 'chiesa-ws-centro', 'temperature_c', WINTER, 10),
        },
        {
          name: 'Palù, Jan',
          color: BLUE,
          dashed: true,
          points: series(reg, seed, 'chiesa-ws-palu', 'temperature_c', WINTER, 10),
        },
        {
          name: 'Chiesa, Aug',
          color: RED,
          points: series(reg, seed, 'chiesa-ws-centro', 'temperature_c', AUGUST, 10),
        },
        {
          name: 'Palù, Aug',
          color: RED,
          dashed: true,
          points: series(reg, seed, 'chiesa-ws-palu', 'temperature_c', AUGUST, 10),
        },
      ],
    }),
    lineChart({
      title: 'Lower secondary school: heat (2,400 m², open 07:45-16:30)',
      unit: 'kW',
      series: [
        {
          name: WINTER.label,
          color: BLUE,
          points: series(reg, seed, 'chiesa-hm-scuola-media', 'thermal_power_kw', WINTER, 15),
        },
        {
          name: SKI_SATURDAY.label.replace(' (ski)', ', closed'),
          color: GREY,
          points: series(reg, seed, 'chiesa-hm-scuola-media', 'thermal_power_kw', SKI_SATURDAY, 15),
        },
        {
          name: AUGUST.label,
          color: RED,
          points: series(reg, seed, 'chiesa-hm-scuola-media', 'thermal_power_kw', AUGUST, 15),
        },
      ],
      yMin: 0,
    }),
    lineChart({
      title: 'Town hall of Chiesa: electricity (open 08:00-17:00)',
      unit: 'kW',
      series: [
        {
          name: WINTER.label,
          color: BLUE,
          points: series(reg, seed, 'chiesa-em-municipio', 'active_power_kw', WINTER),
        },
        {
          name: AUGUST.label,
          color: RED,
          points: series(reg, seed, 'chiesa-em-municipio', 'active_power_kw', AUGUST),
        },
      ],
      yMin: 0,
    }),
    lineChart({
      title: 'Classroom CO₂ and sports hall CO₂ (winter weekday)',
      unit: 'ppm',
      series: [
        {
          name: 'classroom',
          color: BLUE,
          points: series(reg, seed, 'chiesa-ic-scuola-media', 'co2_ppm', WINTER),
        },
        {
          name: 'sports hall, Caspoggio',
          color: GREEN,
          points: series(reg, seed, 'caspoggio-ic-palestra', 'co2_ppm', WINTER),
        },
      ],
      yMin: 300,
      lines: [{ y: 1000, label: '1,000 ppm: time to air', color: '#c70' }],
    }),
  ];
}

function mobility(reg: Registry, seed: number): string[] {
  const FERRAGOSTO: Day = { label: 'Sat 15 Aug 2026', y: 2026, m: 8, d: 15 };
  const days: [Day, string][] = [
    [WINTER, BLUE],
    [SKI_SATURDAY, GREEN],
    [AUGUST, RED],
    [FERRAGOSTO, '#8a3ab9'],
  ];
  const park = (id: string) =>
    days.map(([d, c]) => ({ name: d.label, color: c, points: series(reg, seed, id, 'occupied_spaces', d) }));
  return [
    lineChart({
      title: 'SP15 south of Chiesa (AADT 4,500): vehicles per hour',
      unit: 'veh/h',
      series: days.map(([d, c]) => ({
        name: d.label,
        color: c,
        points: hourly(series(reg, seed, 'chiesa-tc-sp15-sud', 'vehicles_count', d)),
      })),
      yMin: 0,
    }),
    lineChart({
      title: 'Car park at the Snow Eagle valley station',
      unit: 'occupied spaces',
      series: park('chiesa-pk-snow-eagle'),
      yMin: 0,
      lines: [{ y: 400, label: 'capacity 400' }],
    }),
    lineChart({
      title: 'Car park at Campo Moro (1,980 m, summer destination)',
      unit: 'occupied spaces',
      series: park('lanzada-pk-campo-moro'),
      yMin: 0,
      lines: [{ y: 300, label: 'capacity 300' }],
    }),
    lineChart({
      title: 'EV chargers on Fri 14 Aug: DC at Snow Eagle, AC in the piazza',
      unit: 'kW (mean per interval)',
      series: [
        {
          name: 'DC Snow Eagle (2 × 50 kW)',
          color: RED,
          points: series(reg, seed, 'chiesa-ev-dc-snow-eagle', 'power_kw', AUGUST, 1),
        },
        {
          name: 'AC piazza Chiesa (2 × 22 kW)',
          color: BLUE,
          points: series(reg, seed, 'chiesa-ev-piazza', 'power_kw', AUGUST, 1),
        },
      ],
      yMin: 0,
    }),
  ];
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      registry: { type: 'string', default: 'config/valmalenco.yaml' },
      seed: { type: 'string', default: '42' },
      out: { type: 'string', default: 'docs' },
    },
    strict: true,
  });
  const reg = await loadRegistryFile(values.registry);
  const seed = Number(values.seed);
  const note = `Simulated by simulators/generators (seed ${seed}) from ${values.registry}; all figures are estimates [E] from valmalenco-reference.md, times Europe/Rome.`;
  const pages: [string, string, string[]][] = [
    ['sim-water.png', 'Water: a simulated winter day and a day in the August peak', water(reg, seed)],
    ['sim-energy.png', 'Energy: public buildings and weather, winter and August', energy(reg, seed)],
    ['sim-mobility.png', 'Mobility: main road, car parks and chargers', mobility(reg, seed)],
  ];
  // Chromium's profile and caches go to a temp dir, never into the repository or $HOME.
  const home = await mkdtemp(join(tmpdir(), 'valley-plot-'));
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
    env: { ...process.env, HOME: home, TMPDIR: home },
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1260, height: 800 }, deviceScaleFactor: 1 });
    for (const [file, title, charts] of pages) {
      await page.setContent(chartPage(title, note, charts));
      const path = join(values.out, file);
      await page.screenshot({ path, fullPage: true });
      console.log(`wrote ${path}`);
    }
  } finally {
    await browser.close();
    await rm(home, { recursive: true, force: true });
  }
  return 0;
}

process.exitCode = await main();
