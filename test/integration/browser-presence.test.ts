/**
 * The dashboard in headless Chromium (2 of 3): presence as DESIGN defines it, and a page that
 * loses its server. A device whose MQTT connection drops turns offline, one that says `offline`
 * on its status topic too; one that stays connected but stops sending turns stale (3 reporting
 * intervals; its interval here is 2 s). A page whose link drops, or whose gateway restarts on the
 * same data dir and ports, reconnects by itself and shows the whole current state again.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse, stringify } from 'yaml';
import { parseRegistryText } from '../../config/loader.js';
import {
  attributeOf,
  expectAttribute,
  expectFigure,
  launchBrowser,
  openPage,
  openView,
  Publishers,
  type TestBrowser,
  type WatchedPage,
} from '../support/browser.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/mqtt.js';
import { makeTestRegistry, TEST_DEVICES, type TestRegistry } from '../support/registry.js';

const D = TEST_DEVICES;
/** Stale after 3 × 2 s without a reading. */
const FAST_INTERVAL_S = 2;
const registry = withInterval(makeTestRegistry(), D.pressure.id, FAST_INTERVAL_S);
const SETTINGS = {
  pushIntervalMs: 200,
  // Long enough that an offline device stays "offline" for the whole file instead of turning into
  // "alert" (the device-offline system alert); the alert path has its own tests.
  offlineGraceMs: 10 * 60_000,
};

let gw: TestGateway;
let stopped = false;
let chromium: TestBrowser;
let devices: Publishers;
const pages: WatchedPage[] = [];

function withInterval(base: TestRegistry, id: string, intervalS: number): TestRegistry {
  const doc = parse(base.yaml) as { devices: { id: string; interval_s: number }[] };
  for (const device of doc.devices) if (device.id === id) device.interval_s = intervalS;
  const yaml = stringify(doc);
  return { yaml, index: parseRegistryText(yaml, 'test registry'), secrets: base.secrets };
}

async function newPage(): Promise<WatchedPage> {
  const w = await openPage(chromium.browser, gw.httpUrl);
  pages.push(w);
  return w;
}

async function state(scope: WatchedPage, testid: string): Promise<string | null> {
  return attributeOf(scope.page, testid, 'data-state');
}

async function expectState(w: WatchedPage, testid: string, expected: string, what: string): Promise<void> {
  await waitFor(async () => (await state(w, testid)) === expected, 15_000, `${what}: ${expected}`);
}

/** A device as the demo fleet connects one: a retained `online`, and `offline` as its last will. */
async function connectWithWill(id: string): Promise<void> {
  const client = await devices.client(id, {
    will: { topic: `sensors/${id}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
  });
  await client.publishAsync(`sensors/${id}/status`, 'online', { qos: 1, retain: true });
}

beforeAll(async () => {
  gw = await startTestGateway({ registry, settings: SETTINGS });
  devices = new Publishers(() => gw.mqttUrl, registry.secrets);
  chromium = await launchBrowser();
});

afterAll(async () => {
  for (const w of pages) await w.close();
  await chromium?.close();
  await devices?.closeAll();
  if (!stopped) await gw?.stop();
});

describe('presence in the browser', () => {
  it('a device whose MQTT connection drops turns offline on the map and in its device view', async () => {
    const id = D.flow.id;
    const map = await newPage();
    await openView(map, gw.httpUrl, 'map', 'map-view');
    const view = await newPage();
    await openView(view, gw.httpUrl, `device/${id}`, 'device-view');
    expect(await state(map, `map-device-${id}`)).toBe('offline'); // never connected yet

    await connectWithWill(id);
    await devices.publish(id, Date.now(), { flow_l_s: 2.5 });
    await expectState(map, `map-device-${id}`, 'ok', 'on the map');
    await expectState(view, 'device-view', 'ok', 'in the device view');
    await expectAttribute(view.page, 'device-presence', 'data-connected', 'true');

    // The link dies: the socket is gone without a DISCONNECT (the broker sends the last will).
    (await devices.client(id)).stream.destroy();
    await expectState(map, `map-device-${id}`, 'offline', 'on the map');
    await expectState(view, 'device-view', 'offline', 'in the device view');
    await expectAttribute(view.page, 'device-presence', 'data-connected', 'false');
    // Its last value stays, marked as not current (truth rules), with its as-of.
    await expectFigure(view.page, 'fig-flow_l_s', 2.5);
    expect(await attributeOf(view.page, 'fig-flow_l_s', 'class')).toContain('is-stale');
    const overview = await openView(map, gw.httpUrl, 'overview', 'overview-view');
    await expectFigure(overview, 'fig-totalFlow', 2.5);
    await expectAttribute(overview, 'fig-totalFlow', 'data-stale', 'true');
    await devices.close(id);
    map.expectClean();
    view.expectClean();
  });

  it('a connected device that says "offline" on its status topic is offline', async () => {
    const id = D.level.id;
    const w = await newPage();
    await openView(w, gw.httpUrl, 'map', 'map-view');
    await connectWithWill(id);
    await devices.publish(id, Date.now(), { level_pct: 50 });
    await expectState(w, `map-device-${id}`, 'ok', 'on the map');
    await (
      await devices.client(id)
    ).publishAsync(`sensors/${id}/status`, 'offline', { qos: 1, retain: true });
    await expectState(w, `map-device-${id}`, 'offline', 'on the map');
    expect((await devices.client(id)).connected).toBe(true);
    w.expectClean();
  });

  it('a device that stays connected but stops sending turns stale, and ok with its next reading', async () => {
    const id = D.pressure.id;
    const map = await newPage();
    await openView(map, gw.httpUrl, 'map', 'map-view');
    const view = await newPage();
    await openView(view, gw.httpUrl, `device/${id}`, 'device-view');

    await connectWithWill(id);
    await devices.publish(id, Date.now(), { pressure_bar: 4 });
    await expectState(map, `map-device-${id}`, 'ok', 'on the map');
    // Silent for more than 3 × 2 s while connected.
    await expectState(map, `map-device-${id}`, 'stale', 'on the map');
    await expectState(view, 'device-view', 'stale', 'in the device view');
    await expectAttribute(view.page, 'device-presence', 'data-connected', 'true');
    expect((await devices.client(id)).connected).toBe(true);
    await expectFigure(view.page, 'fig-pressure_bar', 4);

    await devices.publish(id, Date.now(), { pressure_bar: 4.5 });
    await expectState(map, `map-device-${id}`, 'ok', 'on the map');
    await expectState(view, 'device-view', 'ok', 'in the device view');
    await expectFigure(view.page, 'fig-pressure_bar', 4.5);
    map.expectClean();
    view.expectClean();
  });
});

describe('a page that loses its server', () => {
  it('after its link drops, shows on reconnect the figures that changed while it was away', async () => {
    const w = await newPage();
    const overview = await openView(w, gw.httpUrl, 'overview', 'overview-view');
    const water = overview.getByTestId('card-water-chiesa');
    const mobility = overview.getByTestId('card-mobility-chiesa');
    await devices.publish(D.flow.id, Date.now(), { flow_l_s: 3 });
    await devices.publish(D.flow2.id, Date.now(), { flow_l_s: 4 });
    await devices.publish(D.parking.id, Date.now(), { occupied_spaces: 10 });
    await expectFigure(water, 'fig-totalFlow', 7);
    await expectFigure(mobility, 'fig-occupancy', 20);

    await w.page.context().setOffline(true);
    await waitFor(
      async () => (await state(w, 'connection')) === 'reconnecting',
      15_000,
      'the page to notice',
    );
    expect(await w.page.getByTestId('banner-disconnected').count()).toBe(1);
    // While it is away: total flow 5 + 6 l/s, 45 of 50 spaces taken.
    await devices.publish(D.flow.id, Date.now(), { flow_l_s: 5 });
    await devices.publish(D.flow2.id, Date.now(), { flow_l_s: 6 });
    await devices.publish(D.parking.id, Date.now(), { occupied_spaces: 45 });
    await w.page.context().setOffline(false);

    await waitFor(async () => (await state(w, 'connection')) === 'live', 15_000, 'the page to reconnect');
    await expectFigure(water, 'fig-totalFlow', 11);
    await expectFigure(mobility, 'fig-occupancy', 90);
    await expectFigure(mobility, 'fig-freeSpaces', 5);
    expect(await w.page.getByTestId('banner-disconnected').count()).toBe(0);
    w.expectClean();
  });

  it('reconnects by itself when the gateway restarts on the same data dir and ports', async () => {
    const w = await newPage();
    const overview = await openView(w, gw.httpUrl, 'overview', 'overview-view');
    const before = Date.now() - 10 * 60_000;
    await devices.publish(D.weather.id, before, { temperature_c: -3 });
    await devices.publish(D.flow.id, Date.now(), { flow_l_s: 8 });
    await expectFigure(overview, 'fig-totalFlow', 8 + 6);

    const { dataDir } = gw;
    const ports = {
      mqttPort: gw.valley.broker.mqttAddress.port,
      wsPort: gw.valley.broker.wsAddress.port,
      httpPort: gw.valley.http.address.port,
    };
    const forbid = w.allow('server-down');
    try {
      await devices.closeAll(); // MQTT clients end before the broker closes
      await gw.stop({ keepData: true });
      stopped = true;
      await waitFor(
        async () => (await state(w, 'connection')) === 'reconnecting',
        15_000,
        'the page to notice',
      );
      gw = await startTestGateway({ registry, dataDir, settings: { ...SETTINGS, ...ports } });
      stopped = false;
      await waitFor(async () => (await state(w, 'connection')) === 'live', 20_000, 'the page to reconnect');
    } finally {
      forbid();
    }

    // The devices come back and report; the page, which never reloaded, shows their figures.
    await devices.publish(D.flow.id, Date.now(), { flow_l_s: 1.5 });
    await devices.publish(D.flow2.id, Date.now(), { flow_l_s: 2 });
    await devices.publish(D.weather.id, Date.now(), { temperature_c: -1 });
    await expectFigure(overview, 'fig-totalFlow', 3.5);
    await expectAttribute(overview, 'fig-totalFlow', 'data-stale', 'false');
    // The history kept the reading from before the restart (rollups rebuilt from the outbox).
    const history = await openView(w, gw.httpUrl, `history/${D.weather.id}?range=1h`, 'history-view');
    await waitFor(
      async () => (await attributeOf(history, 'history-chart-temperature_c', 'data-points')) === '2',
      10_000,
      'two points in the chart',
    );
    w.expectClean();
  });
});
