import { describe, expect, it } from '@jest/globals';
import type { Request, RequestHandler, Response } from 'express';
import { isLoopbackHost, sameOrigin, type AccessMode } from './access.js';
import { authenticate, csrfGuard, requireRole, requireSession, sessionIdFrom } from './middleware.js';
import type { Principal } from './sessions.js';

interface Outcome {
  next: boolean;
  status?: number;
  code?: string;
}

/** Runs `authenticate` then `handler` on a minimal request; returns what the handler did. */
function run(
  handler: RequestHandler,
  opts: { mode: AccessMode; user?: Principal; method?: string; headers?: Record<string, string> },
): Outcome {
  const headers: Record<string, string> = { host: '127.0.0.1:3000', ...opts.headers };
  if (opts.user) headers.cookie = 'valley_session=s1';
  const req = { method: opts.method ?? 'GET', headers } as unknown as Request;
  const outcome: Outcome = { next: false };
  const res = {
    status(code: number) {
      outcome.status = code;
      return this;
    },
    json(body: { error: { code: string } }) {
      outcome.code = body.error.code;
      return this;
    },
  } as unknown as Response;
  const sessions = { get: (sid: string | undefined) => (sid === 's1' ? opts.user : undefined) };
  authenticate({ sessions, mode: () => opts.mode })(req, res, () => undefined);
  void handler(req, res, () => (outcome.next = true));
  return outcome;
}

const viewer: Principal = { id: 'bob', role: 'viewer' };
const operator: Principal = { id: 'ada', role: 'operator' };

describe("requireRole('operator')", () => {
  const guard = requireRole('operator');
  it('lets an operator through and refuses a viewer (403) and nobody (401)', () => {
    expect(run(guard, { mode: 'login', user: operator })).toEqual({ next: true });
    expect(run(guard, { mode: 'login', user: viewer })).toEqual({
      next: false,
      status: 403,
      code: 'E_FORBIDDEN',
    });
    expect(run(guard, { mode: 'login' })).toEqual({ next: false, status: 401, code: 'E_UNAUTHORIZED' });
  });
  it('on the open (loopback) dashboard everyone is an operator, but only under a loopback host name', () => {
    expect(run(guard, { mode: 'open' })).toEqual({ next: true });
    expect(run(guard, { mode: 'open', headers: { host: 'rebound.example:3000' } })).toMatchObject({
      status: 401,
    });
  });
  it('a closed dashboard (no users, public bind) lets nobody through', () => {
    expect(run(guard, { mode: 'closed' })).toMatchObject({ next: false, status: 401 });
  });
  it("requireRole('viewer') lets both roles through", () => {
    expect(run(requireRole('viewer'), { mode: 'login', user: viewer })).toEqual({ next: true });
    expect(run(requireRole('viewer'), { mode: 'login', user: operator })).toEqual({ next: true });
  });
});

describe('requireSession', () => {
  it('needs a session in login mode, a loopback host name in open mode', () => {
    expect(run(requireSession, { mode: 'login', user: viewer })).toEqual({ next: true });
    expect(run(requireSession, { mode: 'login' })).toMatchObject({ status: 401 });
    expect(run(requireSession, { mode: 'open', headers: { host: 'localhost:3000' } })).toEqual({
      next: true,
    });
    expect(run(requireSession, { mode: 'open', headers: { host: 'evil.example' } })).toMatchObject({
      status: 403,
    });
    expect(run(requireSession, { mode: 'closed' })).toMatchObject({ status: 401 });
  });
});

describe('csrfGuard', () => {
  const post = (headers: Record<string, string>) =>
    run(csrfGuard, { mode: 'login', method: 'POST', headers });
  it('passes reads; wants JSON and a same-origin Origin for state changes', () => {
    expect(run(csrfGuard, { mode: 'login' })).toEqual({ next: true });
    expect(post({ 'content-type': 'application/json; charset=utf-8' })).toEqual({ next: true });
    expect(post({ 'content-type': 'application/json', origin: 'http://127.0.0.1:3000' })).toEqual({
      next: true,
    });
    expect(post({ 'content-type': 'application/x-www-form-urlencoded' })).toMatchObject({ status: 415 });
    expect(post({})).toMatchObject({ status: 415 });
    expect(post({ 'content-type': 'application/json', origin: 'http://evil.example' })).toMatchObject({
      status: 403,
    });
    expect(post({ 'content-type': 'application/json', origin: 'null' })).toMatchObject({ status: 403 });
  });
});

describe('helpers', () => {
  it('reads the session id from a Cookie header', () => {
    expect(sessionIdFrom('a=1; valley_session=abc_-9; b=2')).toBe('abc_-9');
    expect(sessionIdFrom('valley_session=')).toBeUndefined();
    expect(sessionIdFrom(undefined)).toBeUndefined();
  });
  it('knows loopback host names and same origins', () => {
    for (const host of ['127.0.0.1:3000', 'localhost', 'LOCALHOST:80', '[::1]:3000', '127.8.9.1'])
      expect(isLoopbackHost(host)).toBe(true);
    for (const host of ['10.0.0.5:3000', 'valley.example', '127.0.0.1.nip.io', undefined])
      expect(isLoopbackHost(host)).toBe(false);
    expect(sameOrigin(undefined, 'x:1')).toBe(true);
    expect(sameOrigin('https://valley.example', 'valley.example')).toBe(true);
    expect(sameOrigin('http://valley.example:3000', 'valley.example:3000')).toBe(true);
    expect(sameOrigin('http://valley.example:3001', 'valley.example:3000')).toBe(false);
  });
});
