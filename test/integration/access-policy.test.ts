/**
 * The access table (dashboard/auth/policy.ts) against a real gateway with users: every route ×
 * every role, CSRF (a cross-origin state change, by Origin and by Referer), Socket.IO from another
 * origin, a room that needs a higher role, and the login throttle (ordering, never durations).
 */
import { readFile } from 'node:fs/promises';
import { join as joinPath } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { hashPassword } from '../../config/secrets.js';
import { allows, HTTP_ACCESS, LIVE_ACCESS, ROOM_ACCESS, type Access } from '../../dashboard/auth/policy.js';
import { liveDeadLetterSchema, type LiveDeadLetter } from '../../dashboard/protocol.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { connectLive, join, liveClient, type LiveRecorder } from '../support/live.js';
import { closeClient, connectDevice, publishAcked, waitFor } from '../support/mqtt.js';
import { makeTestRegistry } from '../support/registry.js';

const PASSWORDS = { ada: 'ada-secret-pw', bob: 'bob-secret-pw', cy: 'cy-secret-pw', dee: 'dee-secret-pw' };
/** Big enough that the order of two delayed answers does not depend on scheduling noise. */
const DELAY_BASE_MS = 300;
let gw: TestGateway;
const live: LiveRecorder[] = [];

async function post(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${gw.httpUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

async function login(id: keyof typeof PASSWORDS): Promise<string> {
  const res = await post('/api/login', { id, password: PASSWORDS[id] });
  expect(res.status).toBe(200);
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

/** A fresh session per request: the table includes logout, which ends the one it is sent with. */
async function cookieOf(role: Access): Promise<Record<string, string>> {
  if (role === 'anonymous') return {};
  return { cookie: await login(role === 'operator' ? 'ada' : 'bob') };
}

function client(cookie?: string, headers?: Record<string, string>): LiveRecorder {
  const rec = liveClient(gw.httpUrl, cookie);
  if (headers) rec.socket.io.opts.extraHeaders = { ...rec.socket.io.opts.extraHeaders, ...headers };
  live.push(rec);
  return rec;
}

beforeAll(async () => {
  const user = async (id: keyof typeof PASSWORDS, role: 'viewer' | 'operator') => ({
    id,
    role,
    password_hash: await hashPassword(PASSWORDS[id]),
  });
  const registry = makeTestRegistry(
    [],
    [
      await user('ada', 'operator'),
      await user('bob', 'viewer'),
      await user('cy', 'viewer'),
      await user('dee', 'viewer'),
    ],
  );
  gw = await startTestGateway({
    registry,
    settings: { loginDelayBaseMs: DELAY_BASE_MS, loginDelayMaxMs: 20 * DELAY_BASE_MS, pushIntervalMs: 50 },
  });
});

afterAll(async () => {
  for (const rec of live) rec.socket.disconnect();
  await gw?.stop();
});

describe('the access table', () => {
  const roles: Access[] = ['anonymous', 'viewer', 'operator'];
  const cases = HTTP_ACCESS.flatMap((rule) => roles.map((role) => ({ ...rule, role })));

  it.each(cases)(
    '$method $path as $role (needs $access)',
    async ({ method, path, access, example, role }) => {
      const headers = await cookieOf(role);
      const url = `${gw.httpUrl}${path}${example?.query === undefined ? '' : `?${example.query}`}`;
      const res =
        method === 'GET'
          ? await fetch(url, { headers })
          : await fetch(url, {
              method,
              headers: { ...headers, 'content-type': 'application/json' },
              body: JSON.stringify(example?.body ?? {}),
            });
      // The page itself (`GET /`) is HTML once the web client is built; errors are always JSON.
      const json = res.headers.get('content-type')?.includes('application/json') ?? false;
      const body = (json ? await res.json() : {}) as { error?: { code: string } };
      if (allows(role === 'anonymous' ? null : role, access)) {
        expect([401, 403]).not.toContain(res.status);
        // The example requests are answerable: a 2xx, or (login, logout, a web client not built
        // yet) a 4xx that is about the request, not about access.
        if (example !== undefined) expect(res.status).toBe(200);
      } else if (role === 'anonymous') {
        expect(res.status).toBe(401);
        expect(body.error?.code).toBe('E_UNAUTHORIZED');
      } else {
        expect(res.status).toBe(403);
        expect(body.error?.code).toBe('E_FORBIDDEN');
      }
    },
  );

  it('is the table of docs/http-api.md, row for row', async () => {
    const doc = await readFile(joinPath(import.meta.dirname, '..', '..', 'docs', 'http-api.md'), 'utf8');
    for (const { method, path, access } of HTTP_ACCESS)
      expect(doc).toMatch(
        new RegExp(`\\|\\s*\`${method} ${path.replace(/[/]/g, '\\/')}\`\\s*\\|\\s*${access}\\s*\\|`),
      );
    for (const { event, access } of LIVE_ACCESS)
      expect(doc).toMatch(new RegExp(`\\|\\s*\`${event}\`\\s*\\|\\s*${access}\\s*\\|`));
    for (const [room, role] of Object.entries(ROOM_ACCESS))
      expect(doc).toMatch(new RegExp(`\\|\\s*\`${room}[^\`]*\`[^|]*\\|\\s*${role}\\s*\\|`));
  });

  it('fails closed for an /api path the table does not list', async () => {
    const res = await fetch(`${gw.httpUrl}/api/not-in-the-table`);
    expect(res.status).toBe(401);
  });
});

describe('CSRF', () => {
  it('refuses a state change from another origin, named by Origin or by Referer, on any route', async () => {
    const { cookie } = (await cookieOf('operator')) as { cookie: string };
    const body = { ids: ['1-0-00000000'] };
    const foreign: Record<string, string>[] = [
      { origin: 'http://evil.example' },
      { referer: 'http://evil.example/page' },
      { origin: 'null' },
    ];
    for (const headers of foreign) {
      const res = await post('/api/deadletter/replay', body, { cookie, ...headers });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: { code: 'E_CROSS_ORIGIN' } });
    }
    // Not only the routes that change state: any non-GET request.
    const stray = await post('/api/status', {}, { cookie, origin: 'http://evil.example' });
    expect(stray.status).toBe(403);
    // The same request from the dashboard's own page passes.
    const own = await post('/api/deadletter/replay', body, {
      cookie,
      origin: gw.httpUrl,
      referer: `${gw.httpUrl}/`,
    });
    expect(own.status).toBe(200);
    // A form post (not JSON) is refused even from the same origin.
    const form = await fetch(`${gw.httpUrl}/api/deadletter/replay`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'ids=1-0-00000000',
    });
    expect(form.status).toBe(415);
  });
});

describe('Socket.IO', () => {
  it('refuses a connection from another origin, even with a valid session', async () => {
    const { cookie } = (await cookieOf('operator')) as { cookie: string };
    await expect(connectLive(client(cookie, { origin: 'http://evil.example' }))).rejects.toThrow();
    await expect(connectLive(client())).rejects.toThrow('E_UNAUTHORIZED');
  });

  it("refuses a viewer the operators' room, and gives it to an operator", async () => {
    const viewer = client((await cookieOf('viewer')).cookie);
    await connectLive(viewer);
    expect(await join(viewer, 'overview')).toEqual({ ok: true });
    const refused = await join(viewer, 'deadletter');
    expect(refused).toMatchObject({ ok: false, error: expect.stringContaining('E_FORBIDDEN') as unknown });

    const operator = client((await cookieOf('operator')).cookie);
    const figures: LiveDeadLetter[] = [];
    operator.socket.on('deadletter', (m) => figures.push(liveDeadLetterSchema.parse(m)));
    let viewerFigures = 0;
    viewer.socket.on('deadletter', () => viewerFigures++);
    await connectLive(operator);
    expect(await join(operator, 'deadletter')).toEqual({ ok: true });
    // The join answers with the figures at once; a push tick may repeat them (absolute values).
    expect(figures.length).toBeGreaterThanOrEqual(1);
    const before = figures.at(-1)!.records;
    // A reject makes a record: the room hears of it, the viewer does not.
    const device = await connectDevice(gw.mqttUrl, 't-flow-1', gw.registry.secrets['t-flow-1']!);
    await publishAcked(device, 'sensors/t-flow-1/readings', '{"ts": 1, "values": {}}');
    await closeClient(device);
    await waitFor(() => figures.some((f) => f.records === before + 1), 10_000, 'the deadletter figures');
    expect(viewerFigures).toBe(0);
  });
});

describe('login throttle', () => {
  /** Two wrong logins at once; the order their refusals arrive in. */
  async function raceFailures(a: keyof typeof PASSWORDS, b: keyof typeof PASSWORDS): Promise<string[]> {
    const order: string[] = [];
    const attempt = async (id: string) => {
      const res = await post('/api/login', { id, password: 'guess' });
      expect(res.status).toBe(401);
      order.push(id);
    };
    await Promise.all([attempt(a), attempt(b)]);
    return order;
  }

  it('answers a repeated failure later than a first one, refuses a parallel try, and resets after success', async () => {
    // cy fails twice: its next delay is 4× the base; dee's first is 1×.
    for (let i = 0; i < 2; i++)
      expect((await post('/api/login', { id: 'cy', password: 'guess' })).status).toBe(401);
    expect(await raceFailures('cy', 'dee')).toEqual(['dee', 'cy']);

    // While a failure is being answered, another try of the same user is refused at once: parallel
    // guesses do not escape the delay.
    // (Both wrong here: whichever arrives first is the one answered late.)
    const both = await Promise.all([
      post('/api/login', { id: 'bob', password: 'guess' }),
      post('/api/login', { id: 'bob', password: 'guess2' }),
    ]);
    expect(both.map((r) => r.status).sort()).toEqual([401, 429]);

    // The right password still works (never locked out) and resets cy's delay: now cy's next
    // failure (1×) is answered before dee's second (2×).
    expect((await post('/api/login', { id: 'cy', password: PASSWORDS.cy })).status).toBe(200);
    expect(await raceFailures('dee', 'cy')).toEqual(['cy', 'dee']);
  });
});
