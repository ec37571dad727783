/**
 * The dashboard in headless Chromium (3 of 3): the history chart holds the points written, from
 * the local rollups and from a real InfluxDB 1.x; with users in the registry the page asks for a
 * login, refuses a wrong password, lets a viewer and an operator in, and logs out.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Locator } from 'playwright-core';
import { hashPassword } from '../../config/secrets.js';
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
import { startTestGateway, type TestGateway, type TestGatewayOptions } from '../support/gateway.js';
import { startInfluxd, type InfluxdHandle } from '../support/influxd.js';
import { waitFor } from '../support/mqtt.js';
import { makeTestRegistry, TEST_DEVICES, type TestRegistry } from '../support/registry.js';

const MIN = 60_000;
const QUARTER = 15 * MIN;
const flowId = TEST_DEVICES.flow.id;
/** A quarter-hour start 40–55 minutes ago: every reading below is inside the last hour. */
const Q = Math.floor((Date.now() - 40 * MIN) / QUARTER) * QUARTER;
/** [offset from Q in ms, flow_l_s]: minutes Q, Q+2, Q+16 (3 one-minute buckets); quarters Q, Q+15 (2). */
const READINGS: [number, number][] = [
  [10_000, 2],
  [20_000, 4],
  [50_000, 9],
  [2 * MIN + 5_000, 10],
  [16 * MIN, 7],
];
const MINUTE_BUCKETS = new Set(READINGS.map(([offset]) => Math.floor((Q + offset) / MIN))).size;
const QUARTER_BUCKETS = new Set(READINGS.map(([offset]) => Math.floor((Q + offset) / QUARTER))).size;

let chromium: TestBrowser;
const gateways: TestGateway[] = [];
const publishers: Publishers[] = [];
const pages: WatchedPage[] = [];
let influx: InfluxdHandle | undefined;

async function gateway(registry: TestRegistry, options: TestGatewayOptions = {}): Promise<TestGateway> {
  const gw = await startTestGateway({ registry, settings: { pushIntervalMs: 200 }, ...options });
  gateways.push(gw);
  return gw;
}

async function newPage(gw: TestGateway): Promise<WatchedPage> {
  const w = await openPage(chromium.browser, gw.httpUrl);
  pages.push(w);
  return w;
}

async function publishReadings(gw: TestGateway, registry: TestRegistry): Promise<void> {
  const devices = new Publishers(() => gw.mqttUrl, registry.secrets);
  publishers.push(devices);
  for (const [offset, flow] of READINGS) await devices.publish(flowId, Q + offset, { flow_l_s: flow });
}

beforeAll(async () => {
  chromium = await launchBrowser();
});

afterAll(async () => {
  for (const w of pages) await w.close();
  await chromium?.close();
  for (const p of publishers) await p.closeAll();
  for (const gw of gateways) await gw.stop();
  await influx?.stop();
});

/** The history view of the flow meter over `range`, once its flow chart has loaded. */
async function historyOf(w: WatchedPage, gw: TestGateway, range: '1h' | '24h' | '7d'): Promise<Locator> {
  const view = await openView(w, gw.httpUrl, `history/${flowId}?range=${range}`, 'history-view');
  await w.page.locator(`[data-testid="history-view"][data-range="${range}"]`).waitFor();
  await view.getByTestId('history-chart-flow_l_s').waitFor();
  return view;
}

async function expectChart(view: Locator, source: 'local' | 'influxdb', points: number): Promise<void> {
  await expectAttribute(view, 'history-chart-flow_l_s', 'data-points', String(points));
  await expectAttribute(view, 'history-source', 'data-source', source);
  // uPlot drew it: one chart with its canvas in the container.
  await view.getByTestId('history-chart-flow_l_s').locator('.uplot canvas').waitFor();
  // A metric without readings says "no data" instead of drawing zeros.
  await expectAttribute(view, 'history-chart-totaliser_m3', 'data-points', '0');
  expect(await view.getByTestId('history-chart-totaliser_m3').textContent()).toBe(
    translate('it', 'history.noData'),
  );
}

describe('history chart in the browser', () => {
  it('local-only: shows the points written, one per bucket, over an hour, a day and a week', async () => {
    const registry = makeTestRegistry();
    const gw = await gateway(registry);
    await publishReadings(gw, registry);
    const w = await newPage(gw);
    await expectChart(await historyOf(w, gw, '1h'), 'local', MINUTE_BUCKETS);
    await expectChart(await historyOf(w, gw, '24h'), 'local', MINUTE_BUCKETS);
    // The range switch in the page leads to the week, in 15-minute buckets.
    await w.page.getByTestId('history-range-7d').click();
    await expectChart(await historyOf(w, gw, '7d'), 'local', QUARTER_BUCKETS);
    w.expectClean();
  });

  it('with InfluxDB: the same points, read with InfluxQL', async () => {
    influx = await startInfluxd();
    await influx.createDatabase('valley');
    const registry = makeTestRegistry();
    const gw = await gateway(registry, { sink: { mode: 'v1', url: influx.url, db: 'valley' } });
    await publishReadings(gw, registry);
    await waitFor(
      async () => (await influx!.count('valley', 'water_flow')) === READINGS.length,
      10_000,
      'the points in InfluxDB',
    );
    const w = await newPage(gw);
    await expectChart(await historyOf(w, gw, '1h'), 'influxdb', MINUTE_BUCKETS);
    await expectChart(await historyOf(w, gw, '7d'), 'influxdb', QUARTER_BUCKETS);
    w.expectClean();
  });
});

describe('login and roles in the browser', () => {
  let gw: TestGateway;
  const USERS = { ada: 'ada-operator-pw', bob: 'bob-viewer-pw' } as const;

  beforeAll(async () => {
    const registry = makeTestRegistry(
      [],
      [
        { id: 'ada', role: 'operator', password_hash: await hashPassword(USERS.ada) },
        { id: 'bob', role: 'viewer', password_hash: await hashPassword(USERS.bob) },
      ],
    );
    gw = await gateway(registry);
    const devices = new Publishers(() => gw.mqttUrl, registry.secrets);
    publishers.push(devices);
    await devices.publish(flowId, Date.now(), { flow_l_s: 6.5 });
  });

  async function login(w: WatchedPage, id: string, password: string): Promise<void> {
    await w.page.getByTestId('login-user').fill(id);
    await w.page.getByTestId('login-password').fill(password);
    await w.page.getByTestId('login-submit').click();
  }

  it('shows the login form, refuses a wrong password, lets the right one in, and logs out', async () => {
    const w = await newPage(gw);
    await w.page.goto(`${gw.httpUrl}/#/overview`);
    await w.page.getByTestId('login-form').waitFor();
    expect(await w.page.getByTestId('overview-view').count()).toBe(0);

    const forbid = w.allow('login-refused');
    try {
      await login(w, 'bob', 'not-his-password');
      await w.page.getByTestId('login-error').waitFor();
      expect(await w.page.getByTestId('login-error').textContent()).toBe(translate('it', 'login.failed'));
    } finally {
      forbid();
    }
    expect(await w.page.getByTestId('overview-view').count()).toBe(0);

    await login(w, 'bob', USERS.bob);
    const overview = w.page.locator('[data-testid="overview-view"]:not([aria-busy])');
    await overview.waitFor();
    await expectFigure(overview, 'fig-totalFlow', 6.5);
    // The session cookie is HttpOnly: the page's scripts cannot read it.
    expect(await w.page.evaluate('document.cookie')).not.toContain('valley_session');

    await w.page.getByTestId('logout').click();
    await w.page.getByTestId('login-form').waitFor();
    expect(await w.page.getByTestId('overview-view').count()).toBe(0);
    // Logged out for real: a reload asks again.
    await w.page.reload();
    await w.page.getByTestId('login-form').waitFor();
    w.expectClean();
  });

  it('a viewer and an operator both see every view, each named with their role', async () => {
    for (const [id, role] of [
      ['bob', 'viewer'],
      ['ada', 'operator'],
    ] as const) {
      const w = await newPage(gw);
      await w.page.goto(`${gw.httpUrl}/`);
      await w.page.getByTestId('login-form').waitFor();
      await login(w, id, USERS[id]);
      const overview = await openView(w, gw.httpUrl, 'overview', 'overview-view');
      await expectFigure(overview, 'fig-totalFlow', 6.5);
      const user = w.page.getByTestId('session-user');
      expect(await user.textContent()).toBe(id);
      expect(await user.getAttribute('title')).toBe(
        translate('it', 'login.loggedInAs', { user: id, role: translate('it', `login.role.${role}`) }),
      );
      const map = await openView(w, gw.httpUrl, 'map', 'map-view');
      // The map draws its devices after the registry and the room snapshot arrive: wait for it.
      await waitFor(
        async () => (await attributeOf(map, `map-device-${flowId}`, 'data-state')) === 'ok',
        10_000,
        'the device on the map',
      );
      const device = await openView(w, gw.httpUrl, `device/${flowId}`, 'device-view');
      await expectFigure(device, 'fig-flow_l_s', 6.5);
      const history = await openView(w, gw.httpUrl, `history/${flowId}?range=1h`, 'history-view');
      await waitFor(
        async () => (await attributeOf(history, 'history-chart-flow_l_s', 'data-points')) === '1',
        10_000,
        'the chart',
      );
      const quality = await openView(w, gw.httpUrl, 'quality', 'quality-view');
      await quality.locator('[data-testid="quality-backlog"][data-value]').waitFor();
      w.expectClean();
    }
  });

  it('the login page switches language too, leaving no Italian behind', async () => {
    const w = await newPage(gw);
    await w.page.goto(`${gw.httpUrl}/`);
    await w.page.getByTestId('login-form').waitFor();
    const forbid = w.allow('login-refused');
    try {
      await login(w, 'ada', 'wrong'); // so the error message is on the page as well
      await w.page.getByTestId('login-error').waitFor();
    } finally {
      forbid();
    }
    const italian = await readableTexts(w.page);
    await w.page.getByTestId('lang-en').click();
    await w.page.locator('[data-testid="lang-switch"][data-locale="en"]').waitFor();
    const english = await readableTexts(w.page);
    expect(foreignCatalogueStrings(english, 'en')).toEqual([]);
    expect(foreignCatalogueStrings(italian, 'it')).toEqual([]);
    expect(english).toContain(translate('en', 'login.failed'));
    w.expectClean();
  });
});
