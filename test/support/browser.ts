/**
 * Headless Chromium (Debian's, driven by playwright-core) for the dashboard's browser tests and
 * the screenshot script. A missing browser is a failure with a clear message, never a skip
 * (DESIGN: a part missing in CI fails the run; `npm test`'s pretest installs it).
 *
 * Every page records its console errors and page errors; a test ends with `expectClean()`. The
 * only tolerated lines are the browser's own network log lines a test provokes on purpose, each
 * matched exactly and only while the test says it expects them: the 401 of a wrong-password
 * login, and "connection refused" while the test has taken the server away.
 */
import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type ConsoleMessage, type Locator, type Page } from 'playwright-core';
import type { IClientOptions, MqttClient } from 'mqtt';
import { z } from 'zod';
import { CATALOGUES, type Locale } from '../../dashboard/i18n/index.js';
import { closeClient, connectDevice, publishAcked } from './mqtt.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

const LAUNCH_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
];

export interface TestBrowser {
  browser: Browser;
  /** Closes the browser and removes its temp HOME (profile, caches). */
  close(): Promise<void>;
}

/** Launches Chromium with HOME and TMPDIR in a fresh temp dir, so nothing lands in the repo or ~. */
export async function launchBrowser(): Promise<TestBrowser> {
  try {
    await access(CHROMIUM_PATH, constants.X_OK);
  } catch {
    throw new Error(
      `Chromium is missing at ${CHROMIUM_PATH}: run \`bash scripts/test-setup.sh\` as root ` +
        '(npm test runs it first) or `apt-get install -y chromium`',
    );
  }
  const home = await mkdtemp(join(tmpdir(), 'valley-chromium-'));
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM_PATH,
      args: LAUNCH_ARGS,
      env: { ...process.env, HOME: home, TMPDIR: home },
    });
  } catch (error) {
    await rm(home, { recursive: true, force: true });
    throw error;
  }
  return {
    browser,
    async close() {
      await browser.close();
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** Browser noise a test provokes on purpose; each is allowed only while the test expects it. */
export type ExpectedNoise = 'login-refused' | 'server-down';

export interface WatchedPage {
  page: Page;
  /** Console errors and page errors so far, as text (with where they came from). */
  readonly problems: string[];
  /** Allows one kind of expected noise until `forbid()`; returns `forbid` for try/finally. */
  allow(noise: ExpectedNoise): () => void;
  /** Asserts that nothing was recorded (the message lists what was). */
  expectClean(): void;
  close(): Promise<void>;
}

export interface PageOptions {
  viewport?: { width: number; height: number };
  /** Default 10 s: waits on the page's own work are generous; the tests assert outcomes only. */
  timeoutMs?: number;
}

/**
 * Chromium's own log lines for failed network requests; `origin` is the dashboard's
 * `http://127.0.0.1:<port>`. A wrong password: the login POST answered 401. Server down: a
 * request or a Socket.IO WebSocket to the dashboard refused at the TCP level.
 */
function isExpected(noise: ExpectedNoise, msg: ConsoleMessage, origin: string): boolean {
  const text = msg.text();
  const url = msg.location().url;
  if (noise === 'login-refused')
    return (
      url === `${origin}/api/login` &&
      text === 'Failed to load resource: the server responded with a status of 401 (Unauthorized)'
    );
  const ws = origin.replace(/^http:/, 'ws:');
  return (
    (url.startsWith(`${origin}/`) && text === 'Failed to load resource: net::ERR_CONNECTION_REFUSED') ||
    new RegExp(
      `^WebSocket connection to '${escapeRegExp(ws)}/socket\\.io/\\?EIO=4&transport=websocket(&sid=[\\w-]+)?' ` +
        'failed: Error in connection establishment: net::ERR_CONNECTION_REFUSED$',
    ).test(text)
  );
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A new context and page (fresh cookies and storage) that records console and page errors. */
export async function openPage(
  browser: Browser,
  origin: string,
  options: PageOptions = {},
): Promise<WatchedPage> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 800 },
    // The page formats times in Europe/Rome itself; the browser's zone must not matter.
    timezoneId: 'UTC',
  });
  const page = await context.newPage();
  page.setDefaultTimeout(options.timeoutMs ?? 10_000);
  const problems: string[] = [];
  const allowed = new Set<ExpectedNoise>();
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    if ([...allowed].some((noise) => isExpected(noise, msg, origin))) return;
    problems.push(`console error: ${msg.text()} (at ${msg.location().url || 'unknown'})`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.stack ?? error.message}`));
  page.on('crash', () => problems.push('the page crashed'));
  return {
    page,
    problems,
    allow(noise) {
      allowed.add(noise);
      return () => allowed.delete(noise);
    },
    expectClean() {
      if (problems.length > 0) throw new Error(`the page logged errors:\n${problems.join('\n')}`);
    },
    async close() {
      await context.close();
    },
  };
}

/**
 * Opens a view by its hash route (`#/overview`, `#/device/t-flow-1` ...) and waits until it is
 * rendered from data: views show a placeholder with the same test id and `aria-busy` until their
 * first snapshot arrives.
 */
export async function openView(
  w: WatchedPage,
  origin: string,
  route: string,
  testid: string,
): Promise<Locator> {
  const url = `${origin}/#/${route}`;
  if (w.page.url() === 'about:blank') await w.page.goto(url);
  else await w.page.evaluate(`location.hash = ${JSON.stringify(`#/${route}`)}`);
  const view = w.page.locator(`[data-testid="${testid}"]:not([aria-busy])`);
  await view.waitFor();
  return view;
}

/**
 * The number a `fig-*` element shows (`data-value`, the raw float), or null for "no data". Waits
 * for the element; `scope` narrows a test id used in several places (a card, a view).
 */
export async function figure(scope: Page | Locator, testid: string): Promise<number | null> {
  const raw = await scope.getByTestId(testid).getAttribute('data-value');
  if (raw === null) throw new Error(`${testid} has no data-value attribute`);
  if (raw === '') return null;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`${testid} has data-value "${raw}", not a number`);
  return value;
}

/**
 * Waits until the figure shows `expected` (null: "no data") within `tolerance`; on timeout fails
 * naming what it shows instead. Outcomes only: how long it took is never asserted.
 */
export async function expectFigure(
  scope: Page | Locator,
  testid: string,
  expected: number | null,
  { tolerance = 1e-9, timeoutMs = 10_000 } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let shown: string = 'nothing (no such element)';
  for (;;) {
    const locator = scope.getByTestId(testid);
    const count = await locator.count();
    if (count === 1) {
      const value = await figure(scope, testid);
      if (expected === null ? value === null : value !== null && Math.abs(value - expected) <= tolerance)
        return;
      shown = value === null ? 'no data' : String(value);
    } else if (count > 1) shown = `${count} elements with this test id`;
    if (Date.now() > deadline)
      throw new Error(`${testid}: expected ${expected === null ? 'no data' : expected}, shows ${shown}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A `data-*` attribute of the one element with this test id, or null while there is none. */
export async function attributeOf(
  scope: Page | Locator,
  testid: string,
  name: string,
): Promise<string | null> {
  const locator = scope.getByTestId(testid);
  if ((await locator.count()) !== 1) return null;
  return locator.getAttribute(name);
}

const textsSchema = z.array(z.string());

/**
 * Every text a person can read on the page: each visible text node as written (not `innerText`,
 * which applies CSS `text-transform`), the tooltips and accessible labels of visible elements
 * (`title`, `aria-label`, `alt`, `placeholder`, `label`, SVG `<title>`), and the document title.
 * Collected in the page from a string, because this project's TypeScript has no DOM types outside
 * the web client.
 */
export async function readableTexts(page: Page): Promise<string[]> {
  const texts = await page.evaluate(`(() => {
    const visible = (el) => el !== null && el.checkVisibility({ visibilityProperty: true });
    const out = [document.title];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const parent = node.parentElement;
      if (parent === null || ['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(parent.tagName)) continue;
      if (parent.tagName === 'title' || parent.tagName === 'OPTION' || visible(parent)) out.push(node.nodeValue);
    }
    for (const el of document.body.querySelectorAll('*')) {
      if (!visible(el)) continue;
      for (const name of ['title', 'aria-label', 'alt', 'placeholder', 'label'])
        if (el.hasAttribute(name)) out.push(el.getAttribute(name));
    }
    return out.map((s) => (s || '').trim()).filter((s) => s.length > 0);
  })()`);
  return textsSchema.parse(texts);
}

export interface ForeignString {
  key: string;
  /** The catalogue string of the other language. */
  value: string;
  /** The page text it was found in. */
  text: string;
}

/**
 * Strings of the other language's catalogue found in texts rendered in `locale`. Only strings
 * that belong to that language alone count: a value equal to any value of `locale`'s own
 * catalogue ("Password", "pH", the app title) is shared, not a leftover. A `{param}` matches any
 * text; a string must stand as whole words ("Map" is not found in "Mappa").
 */
export function foreignCatalogueStrings(texts: readonly string[], locale: Locale): ForeignString[] {
  const own = CATALOGUES[locale];
  const other = CATALOGUES[locale === 'it' ? 'en' : 'it'];
  const ownValues = new Set<string>(Object.values(own));
  const found: ForeignString[] = [];
  for (const [key, value] of Object.entries(other)) {
    if (key.startsWith('format.') || ownValues.has(value)) continue;
    const pattern = catalogueRegExp(value);
    if (!pattern) continue;
    const text = texts.find((t) => pattern.test(t));
    if (text !== undefined) found.push({ key, value, text });
  }
  return found;
}

/** A catalogue string as a pattern; null when its fixed text has no word to look for. */
function catalogueRegExp(value: string): RegExp | null {
  const fixed = value.split(/\{\w+\}/);
  if (!fixed.some((part) => /\p{L}{2,}/u.test(part))) return null;
  const body = fixed.map(escapeRegExp).join('.+?');
  const start = /^\p{L}/u.test(value) ? '(?<![\\p{L}\\p{N}])' : '';
  const end = /\p{L}$/u.test(value) ? '(?![\\p{L}\\p{N}])' : '';
  return new RegExp(`${start}${body}${end}`, 'u');
}

/**
 * The test's devices over real MQTT, one connection per device id (made on first use), so a
 * browser test can say "t-flow-1 read 4.5 l/s at ts" in one line and close them all at the end.
 */
export class Publishers {
  private readonly clients = new Map<string, Promise<MqttClient>>();

  constructor(
    private readonly mqttUrl: () => string,
    private readonly secrets: Readonly<Record<string, string>>,
  ) {}

  /** The device's connection; `options` apply when this call makes it (a last will, say). */
  client(id: string, options: IClientOptions = {}): Promise<MqttClient> {
    let client = this.clients.get(id);
    if (!client) {
      const secret = this.secrets[id];
      if (secret === undefined) throw new Error(`no secret for ${id}`);
      this.clients.set(id, (client = connectDevice(this.mqttUrl(), id, secret, options)));
    }
    return client;
  }

  /** Publishes one reading at QoS 1 and resolves on the PUBACK (the reading is durable). */
  async publish(id: string, ts: number, values: Record<string, number>): Promise<void> {
    await publishAcked(await this.client(id), `sensors/${id}/readings`, JSON.stringify({ ts, values }));
  }

  /** Ends one device's connection (a clean disconnect unless it is already gone). */
  async close(id: string): Promise<void> {
    const client = this.clients.get(id);
    this.clients.delete(id);
    // A connection that never came up has nothing to close (its test failed on it already).
    const connected = await client?.catch(() => undefined);
    if (connected) await closeClient(connected);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.clients.keys()].map((id) => this.close(id)));
  }
}

/**
 * Waits until the `data-*` attribute of the element with this test id equals `expected` (views
 * render after their snapshot arrives), and fails naming what it last saw.
 */
export async function expectAttribute(
  scope: Page | Locator,
  testid: string,
  name: string,
  expected: string,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: string | null = null;
  while (Date.now() < deadline) {
    seen = await attributeOf(scope, testid, name);
    if (seen === expected) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `${testid} ${name}: expected "${expected}", last seen ${seen === null ? 'nothing' : `"${seen}"`}`,
  );
}
