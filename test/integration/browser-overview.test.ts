/**
 * The dashboard in headless Chromium (1 of 3): the whole gateway in-process, MQTT.js devices
 * publishing known readings, the page driven by playwright-core. The overview's figures are
 * compared with values computed by hand; every view renders the data without a console error;
 * the language switch leaves no string of the other language on any view.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Locator } from 'playwright-core';
import { translate } from '../../dashboard/i18n/index.js';
import {
  attributeOf,
  expectAttribute,
  expectFigure,
  foreignCatalogueStrings,
  launchBrowser,
  openPage,
  openView,
  Publishers,
  readableTexts,
  type TestBrowser,
  type WatchedPage,
} from '../support/browser.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { connectDevice, waitFor } from '../support/mqtt.js';
import { makeTestRegistry, TEST_DEVICES } from '../support/registry.js';

/** A second pressure sensor, so "lowest pressure" has something to choose from. */
const PRESSURE_2 = { id: 't-pressure-2', kind: 'water_pressure', site: 't-network' };
const registry = makeTestRegistry([PRESSURE_2]);
const D = TEST_DEVICES;
const ALL_IDS = [...Object.values(D).map((d) => d.id), PRESSURE_2.id];

let gw: TestGateway;
let chromium: TestBrowser;
let devices: Publishers;
const pages: WatchedPage[] = [];

async function newPage(): Promise<WatchedPage> {
  const w = await openPage(chromium.browser, gw.httpUrl);
  pages.push(w);
  return w;
}

// Two readings per device 10 s apart, inside the reporting interval (60 s): nothing is stale.
// (A run within 20 s after midnight in Rome would see an empty "today"; the figures say why.)
const T1 = Date.now() - 20_000;
const T2 = T1 + 10_000;
let accepted = 0;

async function publish(id: string, ts: number, values: Record<string, number>): Promise<void> {
  await devices.publish(id, ts, values);
  accepted++;
}

/** What every device sends; the figures below are computed from these by hand. */
async function publishFleet(): Promise<void> {
  const jobs: Record<string, () => Promise<void>> = {
    [D.flow.id]: async () => {
      await publish(D.flow.id, T1, { flow_l_s: 3, totaliser_m3: 1000 });
      await publish(D.flow.id, T2, { flow_l_s: 4.5, totaliser_m3: 1012.5 });
    },
    [D.flow2.id]: async () => {
      await publish(D.flow2.id, T1, { flow_l_s: 7, totaliser_m3: 500 });
      await publish(D.flow2.id, T2, { flow_l_s: 7.25, totaliser_m3: 507.25 });
    },
    [D.pressure.id]: () => publish(D.pressure.id, T2, { pressure_bar: 4.2 }),
    [PRESSURE_2.id]: () => publish(PRESSURE_2.id, T2, { pressure_bar: 3.15 }),
    [D.level.id]: () => publish(D.level.id, T2, { level_pct: 72.5, level_m: 2.9 }),
    [D.quality.id]: () => publish(D.quality.id, T2, { free_chlorine_mg_l: 0.2, turbidity_ntu: 0.3, ph: 7.4 }),
    [D.energy.id]: async () => {
      await publish(D.energy.id, T1, { active_power_kw: 10, energy_import_kwh: 5000 });
      await publish(D.energy.id, T2, { active_power_kw: 12.3, energy_import_kwh: 5004.2 });
    },
    [D.heat.id]: () => publish(D.heat.id, T2, { thermal_power_kw: 35 }),
    [D.indoor.id]: () => publish(D.indoor.id, T2, { temperature_c: 20.5 }),
    [D.weather.id]: () => publish(D.weather.id, T2, { temperature_c: -2.5 }),
    [D.traffic.id]: () =>
      publish(D.traffic.id, T2, { vehicles_count: 30, interval_s: 300, average_speed_km_h: 42 }),
    [D.parking.id]: () => publish(D.parking.id, T2, { occupied_spaces: 20 }),
    [D.charger.id]: () => publish(D.charger.id, T2, { connectors_in_use: 1 }),
  };
  await Promise.all(Object.values(jobs).map((job) => job()));
}

beforeAll(async () => {
  gw = await startTestGateway({ registry, settings: { pushIntervalMs: 200 } });
  devices = new Publishers(() => gw.mqttUrl, registry.secrets);
  chromium = await launchBrowser();
});

afterAll(async () => {
  for (const w of pages) await w.close();
  await chromium?.close();
  await devices?.closeAll();
  await gw?.stop();
});

describe('overview in the browser', () => {
  it('shows the figures the devices produced, computed by hand', async () => {
    const w = await newPage();
    const overview = await openView(w, gw.httpUrl, 'overview', 'overview-view');
    const water = overview.getByTestId('card-water-chiesa');
    // Nothing published yet: "no data", never 0.
    await expectFigure(water, 'fig-totalFlow', null);
    await expectFigure(water, 'fig-lowestPressure', null);

    await publishFleet();

    // Water: total flow 4.5 + 7.25; today 12.5 + 7.25 m³ from the totalisers; lowest of 4.2 and
    // 3.15 bar; the reservoir at 72.5 %; chlorine, turbidity and pH within limits.
    await expectFigure(water, 'fig-totalFlow', 11.75);
    await expectFigure(water, 'fig-volumeToday', 19.75, { tolerance: 1e-6 });
    await expectFigure(water, 'fig-lowestPressure', 3.15);
    await expectFigure(water, `fig-reservoir-${D.level.id}`, 72.5);
    await waitFor(
      async () => (await attributeOf(water, 'fig-quality', 'data-status')) === 'ok',
      10_000,
      'water quality within limits',
    );
    expect(await water.getByTestId('fig-lowestPressure').textContent()).toContain('t-network');

    // Energy: one meter at 12.3 kW, 4.2 kWh since its first reading today, no yesterday yet;
    // the town hall at 20.5 °C inside, -2.5 °C outside.
    const energy = overview.getByTestId('card-energy-chiesa');
    await expectFigure(energy, 'fig-totalPower', 12.3);
    await expectFigure(energy, 'fig-energyToday', 4.2, { tolerance: 1e-6 });
    await expectFigure(energy, 'fig-energyYesterday', null);
    await expectFigure(energy, 'fig-power-t-townhall', 12.3);
    await expectFigure(energy, 'fig-indoorTemp-t-townhall', 20.5);
    await expectFigure(energy, 'fig-outdoorTemp', -2.5);

    // Mobility: 20 of 50 spaces taken = 40 %, 30 free; 30 vehicles in 300 s = 360 vehicles/h at
    // 42 km/h; 1 of the 2 connectors in use.
    const mobility = overview.getByTestId('card-mobility-chiesa');
    await expectFigure(mobility, 'fig-occupancy', 40);
    await expectFigure(mobility, 'fig-freeSpaces', 30);
    await expectFigure(mobility, `fig-occupancy-${D.parking.id}`, 40);
    await expectFigure(mobility, `fig-free-${D.parking.id}`, 30);
    await expectFigure(mobility, `fig-vehiclesPerHour-${D.traffic.id}`, 360);
    await expectFigure(mobility, `fig-meanSpeed-${D.traffic.id}`, 42);
    await expectFigure(mobility, 'fig-chargersInUse', 1);
    expect(await mobility.getByTestId('fig-chargersInUse').textContent()).toContain(
      translate('it', 'mobility.inUseOf', { inUse: 1, available: 2 }),
    );

    // Every device connected and reporting: all of them "ok" in the fleet summary.
    await waitFor(
      async () =>
        (await overview
          .locator('[data-testid="fleet-states"] [data-state="ok"]')
          .getAttribute('data-value')) === String(ALL_IDS.length),
      10_000,
      'every device ok in the fleet summary',
    );

    // A reading outside the drinking-water limits turns the quality status to a breach.
    await publish(D.quality.id, T2 + 1000, { free_chlorine_mg_l: 0.2, turbidity_ntu: 1.5, ph: 7.4 });
    await waitFor(
      async () => (await attributeOf(water, 'fig-quality', 'data-status')) === 'breach',
      10_000,
      'the quality breach',
    );
    // The breach names the metric (a list item) besides the measured value.
    const probe = water.getByTestId(`fig-quality-${D.quality.id}`);
    expect(await probe.getAttribute('data-status')).toBe('breach');
    expect(await probe.locator('.breaches [data-metric="turbidity_ntu"]').count()).toBe(1);
    w.expectClean();
  });

  it('renders the map, device, history and quality views from the same data without a console error', async () => {
    // One reading refused (flow above the kind's range: E_RANGE), so the reject shows too.
    await devices.publish(D.flow.id, T2 + 2000, { flow_l_s: 5000 });
    // One login refused by the broker (a wrong secret): the refusals panel shows it.
    await expect(connectDevice(gw.mqttUrl, D.level.id, 'not-the-secret')).rejects.toThrow();
    const w = await newPage();

    const map = await openView(w, gw.httpUrl, 'map', 'map-view');
    for (const id of ALL_IDS)
      await waitFor(
        async () => (await attributeOf(map, `map-device-${id}`, 'data-state')) === 'ok',
        10_000,
        `${id} ok on the map`,
      );
    expect(await map.getByTestId('map-attribution').textContent()).toContain('CC BY');

    const device = await openView(w, gw.httpUrl, `device/${D.flow.id}`, 'device-view');
    expect(await device.getAttribute('data-state')).toBe('ok');
    await expectFigure(device, 'fig-flow_l_s', 4.5);
    await expectFigure(device, 'fig-totaliser_m3', 1012.5);
    await expectFigure(device, 'fig-totaliser_m3-today', 12.5);
    await expectFigure(device, 'fig-accepted', 2);
    await expectFigure(device, 'fig-rejected', 1);
    await expectAttribute(device, 'device-last-reject', 'data-code', 'E_RANGE');

    // History: T1 and T2 in one or two 1-minute buckets.
    const minutes = new Set([T1, T2].map((ts) => Math.floor(ts / 60_000))).size;
    const history = await openView(w, gw.httpUrl, `history/${D.flow.id}?range=1h`, 'history-view');
    await waitFor(
      async () => (await attributeOf(history, 'history-chart-flow_l_s', 'data-points')) === String(minutes),
      10_000,
      'the flow chart',
    );
    await expectAttribute(history, 'history-source', 'data-source', 'local');

    const quality = await openView(w, gw.httpUrl, 'quality', 'quality-view');
    await expectFigure(quality, 'quality-hour-accepted', accepted);
    await expectFigure(quality, 'quality-hour-rejected', 1);
    expect(
      await quality.locator('[data-testid="quality-codes"] [data-code="E_RANGE"]').getAttribute('data-value'),
    ).toBe('1');
    const row = quality.getByTestId(`quality-device-${D.flow.id}`);
    expect(await row.getAttribute('data-accepted')).toBe('2');
    expect(await row.getAttribute('data-rejected')).toBe('1');
    await waitFor(
      async () => (await attributeOf(quality, 'quality-backlog', 'data-value')) !== null,
      10_000,
      'the outbox panel',
    );
    await expectAttribute(quality, 'quality-sink', 'data-health', 'none'); // local-only
    await waitFor(
      async () => (await attributeOf(quality, 'quality-refusals', 'data-value')) === '1',
      10_000,
      'the refused login on the refusals panel',
    );
    expect(
      await quality
        .locator('[data-testid="quality-refusals"] [data-reason="bad_secret"]')
        .getAttribute('data-value'),
    ).toBe('1');

    await openView(w, gw.httpUrl, 'overview', 'overview-view');
    w.expectClean();
  });

  it('switching IT → EN changes every label on every view, and back', async () => {
    const w = await newPage();
    const views: [string, string][] = [
      ['overview', 'overview-view'],
      ['map', 'map-view'],
      [`device/${D.flow.id}`, 'device-view'],
      [`history/${D.flow.id}?range=24h`, 'history-view'],
      ['quality', 'quality-view'],
    ];
    for (const [route, testid] of views) {
      const view = await openView(w, gw.httpUrl, route, testid);
      await settle(view, route);
      const italian = await textsIn(w, 'it');
      const english = await textsIn(w, 'en');
      expect({ route, leftovers: foreignCatalogueStrings(english, 'en') }).toEqual({ route, leftovers: [] });
      expect({ route, leftovers: foreignCatalogueStrings(italian, 'it') }).toEqual({ route, leftovers: [] });
      // The check has teeth: read as the other language, each rendering is full of "leftovers".
      expect(foreignCatalogueStrings(italian, 'en').length).toBeGreaterThan(5);
      expect(foreignCatalogueStrings(english, 'it').length).toBeGreaterThan(5);
      await w.page.getByTestId('lang-it').click();
    }
    w.expectClean();
  });
});

/** Waits until what a view shows depends on data that arrives on its own (charts, status). */
async function settle(view: Locator, route: string): Promise<void> {
  if (route.startsWith('history/')) await view.getByTestId('history-chart-flow_l_s').waitFor();
  if (route === 'quality') await view.locator('[data-testid="quality-backlog"][data-value]').waitFor();
  if (route === 'map') await view.getByTestId('map-attribution').waitFor();
}

/** Switches the page's language and returns its readable texts once the switch has rendered. */
async function textsIn(w: WatchedPage, locale: 'it' | 'en'): Promise<string[]> {
  await w.page.getByTestId(`lang-${locale}`).click();
  await w.page.locator(`[data-testid="lang-switch"][data-locale="${locale}"]`).waitFor();
  await waitFor(
    async () => (await w.page.locator('html').getAttribute('lang')) === locale,
    5000,
    `the page in ${locale}`,
  );
  return readableTexts(w.page);
}
