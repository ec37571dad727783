/**
 * The dashboard's page on a real HTTP server: the web client's files with revalidation, the SPA
 * fallback, the Content-Security-Policy (everything from this server, Socket.IO's WebSocket
 * included), and the open (no users, loopback) dashboard refusing a non-loopback Host name.
 * The HttpServer is built directly over a temp folder of client files, so the real
 * dashboard/web/dist (another engineer's build output) is not needed.
 */
import { request } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LoginThrottle } from '../../broker/login-throttle.js';
import { defaultSettings } from '../../config/settings.js';
import { DashboardAggregator } from '../../dashboard/aggregate/index.js';
import { HttpServer } from '../../dashboard/server.js';
import { silentLogger } from '../../gateway/logger.js';
import { systemClock } from '../../gateway/types.js';
import { makeTestRegistry } from '../support/registry.js';

let dir: string;
const servers: HttpServer[] = [];

function server(webDir: string): HttpServer {
  const registry = makeTestRegistry().index;
  const http = new HttpServer({
    settings: defaultSettings({ httpPort: 0 }),
    status: {
      status: () => {
        throw new Error('not used here');
      },
    },
    logger: silentLogger(),
    registry: () => registry,
    aggregator: new DashboardAggregator({ registry }),
    history: { source: 'local', points: () => Promise.resolve([]), sinkLagMs: () => null },
    loginThrottle: new LoginThrottle(systemClock, 10, 100),
    webDir,
  });
  servers.push(http);
  return http;
}

let base: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-web-'));
  await writeFile(
    join(dir, 'index.html'),
    '<!doctype html><title>Valley</title><script src="/app.js"></script>',
  );
  await writeFile(join(dir, 'app.js'), 'console.log("app");');
  await writeFile(join(dir, 'app.css'), 'body{margin:0}');
  const http = server(dir);
  await http.start();
  base = http.url;
});

afterAll(async () => {
  for (const http of servers) await http.stop();
  await rm(dir, { recursive: true, force: true });
});

/**
 * A plain GET through node:http: fetch cannot set Host, and adds `Cache-Control: no-cache` to a
 * conditional request (which makes a server answer 200 instead of 304).
 */
function rawGet(path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the web client', () => {
  it('serves index.html at / with a CSP that allows this server only', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy') ?? '';
    const port = new URL(base).port;
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${port} wss://127.0.0.1:${port}`);
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).not.toMatch(/https:|http:\/\/(?!127)|upgrade-insecure-requests/);
    await res.text();
  });

  it('serves app.js and app.css for revalidation (304 when unchanged)', async () => {
    const js = await fetch(`${base}/app.js`);
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect(await js.text()).toBe('console.log("app");');
    const etag = js.headers.get('etag');
    expect(etag).toBeTruthy();
    expect(await rawGet('/app.js', { 'if-none-match': etag! })).toBe(304);
    expect((await fetch(`${base}/app.css`)).headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('answers index.html for page paths, and JSON 404s for API paths and missing files', async () => {
    const page = await fetch(`${base}/device/t-flow-1`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Valley</title>');
    for (const path of ['/api/nothing', '/missing.js']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ error: { code: 'E_NOT_FOUND' } });
    }
  });

  it('says so when the client is not built', async () => {
    const empty = server(join(dir, 'no-such-dist'));
    await empty.start();
    const res = await fetch(`${empty.url}/`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({
      error: { message: expect.stringContaining('not built') as unknown },
    });
  });
});

describe('the open dashboard (no users, loopback bind)', () => {
  it('answers the API under loopback names only (a DNS-rebinding page is refused)', async () => {
    expect(await (await fetch(`${base}/api/session`)).json()).toEqual({ user: null, authRequired: false });
    expect(await rawGet('/api/registry', { host: `localhost:${new URL(base).port}` })).toBe(200);
    expect(await rawGet('/api/registry', { host: 'rebound.example' })).toBe(403);
    expect((await fetch(`${base}/api/geo`)).status).toBe(200);
  });

  it('/api/geo gives the boundaries and their attribution in both languages', async () => {
    const geo = (await (await fetch(`${base}/api/geo`)).json()) as {
      boundaries: { type: string; features: { properties: { name: string } }[] };
      attribution: { it: string; en: string };
    };
    expect(geo.boundaries.type).toBe('FeatureCollection');
    expect(geo.boundaries.features.map((f) => f.properties.name)).toContain('Chiesa in Valmalenco');
    expect(geo.attribution.it).toBe('Confini comunali: Openpolis / ISTAT, CC BY 4.0');
    expect(geo.attribution.en).toContain('CC BY 4.0');
  });
});
