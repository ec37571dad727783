/**
 * Screenshots of the dashboard for the README: the overview, map, device, history and data-quality
 * views at 1280×800, and the overview on a 10-inch tablet held upright (800×1280), written to
 * docs/screenshots/.
 *
 * The whole gateway runs in-process (local-only, temp data dir, free ports) with the default
 * Valmalenco registry. Every demo device connects over MQTT as the demo fleet's would, and first
 * sends its last two days as backlog arrays from the demo fleet's own seeded generators, so the
 * charts and "today vs yesterday" have data; the same generators then go on live, so counters
 * continue. A few things are made to happen so every kind of state is on the pictures: one device
 * lost its link a while ago (a system alert), one just now (offline), one stays connected but has
 * stopped sending (stale), one was just installed (no data yet), and three readings are refused.
 * The page's console must stay clean: the run doubles as a smoke test of the built client.
 *
 *   npm run screenshots        (builds the web client first)
 *   node --import tsx scripts/screenshots.ts [--out DIR] [--locale it|en] [--days N] [--seed N]
 *                                            [--full-page]   (whole pages, for reviewing below the fold)
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import type { Page } from 'playwright-core';
import { Valley } from '../cli/app.js';
import { loadRegistryFile } from '../config/loader.js';
import type { RegistryIndex } from '../config/registry-schema.js';
import { defaultSettings } from '../config/settings.js';
import { silentLogger } from '../gateway/logger.js';
import { DEMO_SECRETS_PATH } from '../simulators/fleet.js';
import { generatorFor } from '../simulators/generators/index.js';
import type { DeviceGenerator } from '../simulators/generators/types.js';
import { createRandom, hashString, mix } from '../simulators/random.js';
import { loadSecretsFile } from '../simulators/secrets.js';
import { launchBrowser, openPage, openView, type WatchedPage } from '../test/support/browser.js';

const ROOT = join(import.meta.dirname, '..');
const DESKTOP = { width: 1280, height: 800 };
const TABLET = { width: 800, height: 1280 };
/** Readings per backlog message: well under the 5,000 a message may carry and the 1 MiB packet. */
const CHUNK = 1000;
/** A device offline this long raises its system alert; short, so the run need not wait a minute. */
const OFFLINE_GRACE_MS = 15_000;
const MIN = 60_000;

/** The cast of the pictures (all demo devices; the rest report normally). */
const SHOWN_DEVICE = 'chiesa-wf-serbatoio-alto'; // device and history views: flow + totaliser, a reject
const LOST_EARLY = 'lanzada-ws-campo-moro'; // link lost two hours ago: offline past the grace → alert
const LOST_NOW = 'chiesa-ic-museo'; // link lost just before the pictures: offline
const SILENT = 'chiesa-wp-chiareggio'; // connected, last reading 10 min ago at a 2-min interval: stale
const NEW_DEVICE = 'spriana-tc-accesso'; // connected, nothing sent yet (15-min interval): no data yet

interface Options {
  out: string;
  locale: 'it' | 'en';
  days: number;
  seed: number;
  fullPage: boolean;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      out: { type: 'string', default: join(ROOT, 'docs/screenshots') },
      locale: { type: 'string', default: 'it' },
      days: { type: 'string', default: '2' },
      seed: { type: 'string', default: '42' },
      'full-page': { type: 'boolean', default: false },
    },
  });
  const locale = values.locale === 'en' ? 'en' : 'it';
  const days = Number(values.days);
  if (!(days > 0 && days <= 6)) throw new Error('--days: 1 to 6 (the late window is 7 days)');
  return { out: values.out, locale, days, seed: Number(values.seed), fullPage: values['full-page'] };
}

interface SimDevice {
  id: string;
  intervalMs: number;
  gen: DeviceGenerator;
  client: MqttClient;
  seq: number;
  lastTs: number;
}

async function connect(url: string, id: string, secret: string): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    clientId: id,
    username: id,
    password: secret,
    protocolVersion: 4,
    reconnectPeriod: 0,
    will: { topic: `sensors/${id}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
  });
  await client.publishAsync(`sensors/${id}/status`, 'online', { qos: 1, retain: true });
  return client;
}

/** Readings from `from` to `to` at the device's interval (±10 % jitter), sent as backlog arrays. */
async function backfill(d: SimDevice, from: number, to: number, seed: number): Promise<number> {
  const random = createRandom(mix(seed, hashString(d.id), 13));
  const readings: { ts: number; seq: number; values: Record<string, number> }[] = [];
  for (let ts = from + random() * d.intervalMs; ts <= to; ts += d.intervalMs * (0.9 + 0.2 * random())) {
    const at = Math.round(ts);
    readings.push({ ts: at, seq: d.seq++, values: d.gen.next(at) });
    d.lastTs = at;
  }
  for (let i = 0; i < readings.length; i += CHUNK)
    await d.client.publishAsync(`sensors/${d.id}/readings`, JSON.stringify(readings.slice(i, i + CHUNK)), {
      qos: 1,
    });
  return readings.length;
}

async function sendNow(d: SimDevice): Promise<void> {
  const ts = Math.max(Date.now(), d.lastTs + 1);
  d.lastTs = ts;
  const payload = { ts, seq: d.seq++, values: d.gen.next(ts) };
  await d.client.publishAsync(`sensors/${d.id}/readings`, JSON.stringify(payload), { qos: 1 });
}

/** Three refused readings, so the quality view and the device view have rejects to show. */
async function refusedReadings(devices: Map<string, SimDevice>): Promise<void> {
  const send = (id: string, payload: unknown) =>
    devices.get(id)!.client.publishAsync(`sensors/${id}/readings`, JSON.stringify(payload), { qos: 1 });
  const now = Date.now();
  await send(SHOWN_DEVICE, { ts: now - 40 * MIN, values: { flow_l_s: 4800 } }); // E_RANGE
  await send('chiesa-wp-centro', {
    ts: new Date(now).toISOString().slice(0, 19),
    values: { pressure_bar: 5.1 },
  }); // E_TS_NO_ZONE
  await send('caspoggio-pk-seggiovia', { ts: now, values: { occupied_spaces: 12, free_spaces: 88 } }); // E_UNKNOWN_METRIC
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function shoot(w: WatchedPage, path: string, fullPage: boolean): Promise<void> {
  // Let the last snapshot render and uPlot settle to its width before the picture.
  await w.page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
  await w.page.screenshot({ path, fullPage });
  console.log(`screenshots: ${path}`);
}

async function setLocale(page: Page, locale: 'it' | 'en'): Promise<void> {
  await page.getByTestId(`lang-${locale}`).click();
  await page.locator(`[data-testid="lang-switch"][data-locale="${locale}"]`).waitFor();
}

async function main(): Promise<void> {
  const opts = options();
  const registry: RegistryIndex = await loadRegistryFile(join(ROOT, 'config/valmalenco.yaml'));
  const secrets = await loadSecretsFile(DEMO_SECRETS_PATH);
  const dataDir = await mkdtemp(join(tmpdir(), 'valley-screenshots-'));
  const valley = new Valley({
    settings: defaultSettings({
      mqttPort: 0,
      wsPort: 0,
      httpPort: 0,
      dataDir,
      demoFleet: false,
      offlineGraceMs: OFFLINE_GRACE_MS,
    }),
    sink: { mode: 'local-only' },
    registry,
    logger: silentLogger(),
  });
  const devices = new Map<string, SimDevice>();
  let chromium: Awaited<ReturnType<typeof launchBrowser>> | undefined;
  await valley.start();
  try {
    const url = `mqtt://127.0.0.1:${valley.broker.mqttAddress.port}`;
    const origin = `http://127.0.0.1:${valley.http.address.port}`;
    const now = Date.now();
    const from = now - opts.days * 24 * 60 * MIN;
    const ids = registry.registry.devices.filter((d) => d.demo === true).map((d) => d.id);
    await Promise.all(
      ids.map(async (id) => {
        const resolved = registry.devices.get(id)!;
        const secret = secrets[id];
        if (secret === undefined) throw new Error(`no demo secret for ${id}`);
        devices.set(id, {
          id,
          intervalMs: resolved.device.interval_s * 1000,
          gen: generatorFor(registry, id, opts.seed),
          client: await connect(url, id, secret),
          seq: 0,
          lastTs: -Infinity,
        });
      }),
    );
    const lastReading: Record<string, number> = {
      [LOST_EARLY]: now - 2 * 60 * MIN,
      [SILENT]: now - 10 * MIN,
    };
    const counts = await Promise.all(
      [...devices.values()]
        .filter((d) => d.id !== NEW_DEVICE)
        .map((d) => backfill(d, from, lastReading[d.id] ?? now, opts.seed)),
    );
    const sent = counts.reduce((a, b) => a + b, 0);
    console.log(`screenshots: ${sent} readings of ${opts.days} days from ${devices.size} devices`);
    await devices.get(LOST_EARLY)!.client.endAsync();
    devices.delete(LOST_EARLY);
    await refusedReadings(devices);

    chromium = await launchBrowser();
    const w = await openPage(chromium.browser, origin, { viewport: DESKTOP, timeoutMs: 30_000 });
    const map = await openView(w, origin, 'map', 'map-view');
    await setLocale(w.page, opts.locale);
    await until('the lost device to raise its alert', async () => {
      const state = await map.getByTestId(`map-device-${LOST_EARLY}`).getAttribute('data-state');
      return state === 'alert';
    });
    // Now the second link goes (its last will says offline), and everyone else reports live.
    await devices.get(LOST_NOW)!.client.endAsync(true);
    devices.delete(LOST_NOW);
    await Promise.all(
      [...devices.values()].filter((d) => d.id !== SILENT && d.id !== NEW_DEVICE).map((d) => sendNow(d)),
    );
    const wanted: Record<string, string> = {
      [LOST_EARLY]: 'alert',
      [LOST_NOW]: 'offline',
      [SILENT]: 'stale',
      [NEW_DEVICE]: 'nodata',
      [SHOWN_DEVICE]: 'ok',
    };
    for (const [id, state] of Object.entries(wanted))
      await until(`${id} ${state}`, async () => {
        return (await map.getByTestId(`map-device-${id}`).getAttribute('data-state')) === state;
      });

    await mkdir(opts.out, { recursive: true });
    await shoot(w, join(opts.out, 'map.png'), opts.fullPage);

    const overview = await openView(w, origin, 'overview', 'overview-view');
    await until('the overview figures', async () => {
      const flow = await overview
        .getByTestId('card-water-chiesa')
        .getByTestId('fig-totalFlow')
        .getAttribute('data-value');
      const yesterday = await overview
        .getByTestId('card-energy-chiesa')
        .getByTestId('fig-energyYesterday')
        .getAttribute('data-value');
      return flow !== '' && yesterday !== '';
    });
    await shoot(w, join(opts.out, 'overview.png'), opts.fullPage);

    const device = await openView(w, origin, `device/${SHOWN_DEVICE}`, 'device-view');
    await device.locator('[data-testid="device-last-reject"][data-code="E_RANGE"]').waitFor();
    await shoot(w, join(opts.out, 'device.png'), opts.fullPage);

    const history = await openView(w, origin, `history/${SHOWN_DEVICE}?range=24h`, 'history-view');
    await history.locator('[data-testid="history-chart-flow_l_s"] .uplot canvas').waitFor();
    await history.locator('[data-testid="history-chart-totaliser_m3"] .uplot canvas').waitFor();
    await shoot(w, join(opts.out, 'history.png'), opts.fullPage);

    const quality = await openView(w, origin, 'quality', 'quality-view');
    await quality.locator('[data-testid="quality-backlog"][data-value]').waitFor();
    await quality.locator('[data-testid="quality-codes"] [data-code="E_UNKNOWN_METRIC"]').waitFor();
    await shoot(w, join(opts.out, 'quality.png'), opts.fullPage);
    w.expectClean();
    await w.close();

    const tablet = await openPage(chromium.browser, origin, { viewport: TABLET, timeoutMs: 30_000 });
    await openView(tablet, origin, 'overview', 'overview-view');
    await setLocale(tablet.page, opts.locale);
    await tablet.page
      .locator('[data-testid="card-water-chiesa"] [data-testid="fig-totalFlow"]:not([data-value=""])')
      .waitFor();
    await shoot(tablet, join(opts.out, 'tablet-overview.png'), opts.fullPage);
    tablet.expectClean();
    await tablet.close();
  } finally {
    await chromium?.close();
    await Promise.all([...devices.values()].map((d) => d.client.endAsync()));
    await valley.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
