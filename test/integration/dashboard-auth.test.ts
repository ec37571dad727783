/**
 * Dashboard access on real parts: a registry with users (scrypt hashes), the whole gateway
 * in-process, fetch for the API and socket.io-client for the live connection. Login, the cookie's
 * flags, the failed-login delay, CSRF checks, Socket.IO refused and accepted, logout, a user removed
 * by a registry reload, and a public bind without users.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse, stringify } from 'yaml';
import { hashPassword } from '../../config/secrets.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { connectLive, join, liveClient, type LiveRecorder } from '../support/live.js';
import { waitFor } from '../support/mqtt.js';
import { makeTestRegistry, writeTestRegistry, type TestRegistry } from '../support/registry.js';

const DELAY_BASE_MS = 300;
let dir: string;
let path: string;
let registry: TestRegistry;
let gw: TestGateway;
const live: LiveRecorder[] = [];

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  ms: number;
}

async function call(
  method: 'GET' | 'POST',
  route: string,
  opts: { cookie?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.cookie !== undefined) headers.cookie = opts.cookie;
  if (opts.body !== undefined) headers['content-type'] ??= 'application/json';
  const started = performance.now();
  const res = await fetch(`${gw.httpUrl}${route}`, {
    method,
    headers,
    ...(opts.body !== undefined && { body: JSON.stringify(opts.body) }),
  });
  return {
    status: res.status,
    headers: res.headers,
    body: await res.json(),
    ms: performance.now() - started,
  };
}

/** Logs in and returns `valley_session=<id>` for the Cookie header. */
async function login(id: string, password: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await call('POST', '/api/login', { body: { id, password }, headers });
  expect(res.status).toBe(200);
  const cookie = res.headers.get('set-cookie') ?? '';
  return cookie.split(';')[0]!;
}

function client(cookie?: string, headers?: Record<string, string>): LiveRecorder {
  const rec = liveClient(gw.httpUrl, cookie);
  if (headers) rec.socket.io.opts.extraHeaders = { ...rec.socket.io.opts.extraHeaders, ...headers };
  live.push(rec);
  return rec;
}

beforeAll(async () => {
  dir = await mkdtemp(joinPath(tmpdir(), 'valley-auth-'));
  registry = makeTestRegistry(
    [],
    [
      { id: 'ada', role: 'operator', password_hash: await hashPassword('ada-secret-pw') },
      { id: 'bob', role: 'viewer', password_hash: await hashPassword('bob-secret-pw') },
    ],
  );
  path = await writeTestRegistry(dir, registry);
  gw = await startTestGateway({
    registry,
    registryPath: path,
    settings: { loginDelayBaseMs: DELAY_BASE_MS, loginDelayMaxMs: 5000 },
  });
});

afterAll(async () => {
  for (const rec of live) rec.socket.disconnect();
  await gw?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('dashboard access with users in the registry', () => {
  it('answers only login, session and health without a session', async () => {
    expect(await call('GET', '/api/session')).toMatchObject({
      status: 200,
      body: { user: null, authRequired: true },
    });
    for (const route of [
      '/api/registry',
      '/api/status',
      '/api/geo',
      '/api/history?device=t-flow-1&metric=flow_l_s&range=1h',
    ])
      expect(await call('GET', route)).toMatchObject({
        status: 401,
        body: { error: { code: 'E_UNAUTHORIZED' } },
      });
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await fetch(`${gw.httpUrl}/readyz`)).status).toBe(200);
  });

  it('refuses a wrong password, later each time', async () => {
    const tries: Answer[] = [];
    for (let i = 0; i < 3; i++)
      tries.push(await call('POST', '/api/login', { body: { id: 'bob', password: 'guess' } }));
    for (const res of tries)
      expect(res).toMatchObject({ status: 401, body: { error: { code: 'E_LOGIN_FAILED' } } });
    // Delays 300, 600, 1200 ms (doubling per failure of this address and id); lower bounds only.
    expect(tries[0]!.ms).toBeGreaterThanOrEqual(DELAY_BASE_MS - 20);
    expect(tries[2]!.ms).toBeGreaterThanOrEqual(4 * DELAY_BASE_MS - 20);
    // An unknown id is refused the same way.
    expect(await call('POST', '/api/login', { body: { id: 'nobody', password: 'x' } })).toMatchObject({
      status: 401,
    });
    expect(await call('POST', '/api/login', { body: { id: 'bob' } })).toMatchObject({ status: 400 });
  });

  it('refuses a login that is not JSON or comes from another origin (CSRF)', async () => {
    const body = { id: 'bob', password: 'bob-secret-pw' };
    const form = await call('POST', '/api/login', { body, headers: { 'content-type': 'text/plain' } });
    expect(form).toMatchObject({ status: 415, body: { error: { code: 'E_UNSUPPORTED_MEDIA_TYPE' } } });
    const foreign = await call('POST', '/api/login', { body, headers: { origin: 'http://evil.example' } });
    expect(foreign).toMatchObject({ status: 403, body: { error: { code: 'E_CROSS_ORIGIN' } } });
    expect(foreign.headers.get('set-cookie')).toBeNull();
    const same = await call('POST', '/api/login', { body, headers: { origin: gw.httpUrl } });
    expect(same.status).toBe(200);
  });

  it('the right password sets an HttpOnly, SameSite=Strict session cookie that opens the API', async () => {
    const res = await call('POST', '/api/login', { body: { id: 'bob', password: 'bob-secret-pw' } });
    expect(res).toMatchObject({
      status: 200,
      body: { user: { id: 'bob', role: 'viewer' }, authRequired: true },
    });
    const setCookie = res.headers.get('set-cookie')!;
    expect(setCookie).toMatch(/^valley_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
    const cookie = setCookie.split(';')[0]!;
    expect(await call('GET', '/api/session', { cookie })).toMatchObject({
      body: { user: { id: 'bob', role: 'viewer' }, authRequired: true },
    });
    const reg = await call('GET', '/api/registry', { cookie });
    expect(reg.status).toBe(200);
    const text = JSON.stringify(reg.body);
    expect(text).toContain('"t-flow-1"');
    expect(text).not.toMatch(/secret_hash|password_hash|hmac-sha256|scrypt\$|"bob"|"ada"/);
    expect((await call('GET', '/api/status', { cookie })).status).toBe(200);
    // Behind a proxy that ends TLS, the cookie is Secure.
    const secure = await call('POST', '/api/login', {
      body: { id: 'bob', password: 'bob-secret-pw' },
      headers: { 'x-forwarded-proto': 'https' },
    });
    expect(secure.headers.get('set-cookie')).toMatch(/; Secure/);
  });

  it('refuses Socket.IO without the cookie or from another origin, and accepts it with the cookie', async () => {
    await expect(connectLive(client())).rejects.toThrow('E_UNAUTHORIZED');
    await expect(connectLive(client('valley_session=forged'))).rejects.toThrow('E_UNAUTHORIZED');
    const cookie = await login('bob', 'bob-secret-pw');
    await expect(connectLive(client(cookie, { origin: 'http://evil.example' }))).rejects.toThrow();
    const rec = client(cookie);
    await connectLive(rec);
    expect(rec.sessions).toEqual([{ user: { id: 'bob', role: 'viewer' } }]);
    expect(await join(rec, 'overview')).toEqual({ ok: true });
    expect(rec.snapshots).toHaveLength(1);
  });

  it('logout ends the session: the API refuses the cookie and the live connection is closed', async () => {
    const cookie = await login('bob', 'bob-secret-pw');
    const rec = client(cookie);
    await connectLive(rec);
    const out = await call('POST', '/api/logout', { cookie, body: {} });
    expect(out).toMatchObject({ status: 200, body: { user: null, authRequired: true } });
    expect(out.headers.get('set-cookie')).toMatch(/^valley_session=; Path=\/; Expires=Thu, 01 Jan 1970/);
    await waitFor(() => !rec.socket.connected, 5000, 'the socket to be closed');
    expect((await call('GET', '/api/registry', { cookie })).status).toBe(401);
    await expect(connectLive(client(cookie))).rejects.toThrow('E_UNAUTHORIZED');
  });

  it('a user removed by a registry reload loses the session at once', async () => {
    const ada = await login('ada', 'ada-secret-pw');
    const bob = await login('bob', 'bob-secret-pw');
    const rec = client(ada);
    await connectLive(rec);
    expect(rec.sessions).toEqual([{ user: { id: 'ada', role: 'operator' } }]);
    const doc = parse(registry.yaml) as { users: { id: string }[] };
    doc.users = doc.users.filter((u) => u.id !== 'ada');
    await writeFile(path, stringify(doc));
    await gw.valley.reloadRegistry();
    await waitFor(() => !gw.valley.currentRegistry.users.has('ada'), 5000, 'the reload');
    await waitFor(() => !rec.socket.connected, 5000, "ada's socket to be closed");
    expect((await call('GET', '/api/registry', { cookie: ada })).status).toBe(401);
    expect((await call('GET', '/api/registry', { cookie: bob })).status).toBe(200);
  });
});

describe('a public bind without users', () => {
  it('refuses to start, naming VALLEY_BIND and `valley user add`', async () => {
    const dataDir = await mkdtemp(joinPath(tmpdir(), 'valley-auth-bind-'));
    try {
      const start = startTestGateway({ dataDir, settings: { bind: '0.0.0.0' } });
      await expect(start).rejects.toThrow(/no users.*valley user add.*VALLEY_BIND/s);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
