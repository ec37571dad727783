/**
 * Express middleware of the dashboard's access rules (see access.ts for the modes):
 * `authenticate` reads the session cookie once per request, `requireSession` guards the API,
 * `requireRole('operator')` guards operator-only routes, `stateChanging` (the CSRF guard and the
 * JSON body) goes before every state-changing route's handler.
 *
 * CSRF: the session cookie is SameSite=Strict, so a browser never sends it with a request that
 * another site starts, and a forged POST arrives logged out. Two cheap checks close what is left:
 * a state-changing request must be `Content-Type: application/json` (an HTML form cannot send
 * that, and a cross-site `fetch` with it needs a CORS preflight we never grant), and an `Origin`
 * header, when the browser sends one, must name this server. Together they also stop a login
 * CSRF (logging the victim in as the attacker), where there is no cookie yet to protect.
 */
import express, { type Request, type RequestHandler } from 'express';
import { parse as parseCookies, serialize } from 'cookie';
import { sendError } from '../http-errors.js';
import { isLoopbackHost, sameOrigin, type AccessMode } from './access.js';
import type { Principal, Role, SessionStore } from './sessions.js';

export const SESSION_COOKIE = 'valley_session';

export interface RequestAuth {
  mode: AccessMode;
  /** The logged-in user; null when logged out and always in open mode. */
  user: Principal | null;
  /** The session id from the cookie, when it names a live session. */
  sid: string | undefined;
}

const auths = new WeakMap<Request, RequestAuth>();

/** What `authenticate` found for this request (logged out when it did not run). */
export function authOf(req: Request): RequestAuth {
  return auths.get(req) ?? { mode: 'closed', user: null, sid: undefined };
}

export function sessionIdFrom(cookieHeader: string | undefined): string | undefined {
  if (cookieHeader === undefined) return undefined;
  const value = parseCookies(cookieHeader)[SESSION_COOKIE];
  return value === undefined || value === '' ? undefined : value;
}

export interface AuthDeps {
  sessions: Pick<SessionStore, 'get'>;
  mode: () => AccessMode;
}

export function authenticate(deps: AuthDeps): RequestHandler {
  return (req, _res, next) => {
    const mode = deps.mode();
    const sid = sessionIdFrom(req.headers.cookie);
    const user = mode === 'login' ? (deps.sessions.get(sid) ?? null) : null;
    auths.set(req, { mode, user, sid: user ? sid : undefined });
    next();
  };
}

/** The open dashboard answers loopback host names only (see isLoopbackHost). */
function openAllowed(req: Request): boolean {
  return isLoopbackHost(req.headers.host);
}

export const requireSession: RequestHandler = (req, res, next) => {
  const { mode, user } = authOf(req);
  if (mode === 'open') {
    if (openAllowed(req)) return next();
    return sendError(res, 403, 'E_FORBIDDEN', 'the dashboard without users answers on loopback names only');
  }
  if (user) return next();
  if (mode === 'closed')
    return sendError(res, 401, 'E_UNAUTHORIZED', 'the registry has no users: add one with `valley user add`');
  sendError(res, 401, 'E_UNAUTHORIZED', 'log in first: POST /api/login');
};

const RANK: Record<Role, number> = { viewer: 0, operator: 1 };

/** Operators may do what viewers may; on the open (loopback) dashboard everyone is an operator. */
export function requireRole(role: Role): RequestHandler {
  return (req, res, next) => {
    const { mode, user } = authOf(req);
    if (mode === 'open' && openAllowed(req)) return next();
    if (!user) return sendError(res, 401, 'E_UNAUTHORIZED', 'log in first: POST /api/login');
    if (RANK[user.role] < RANK[role])
      return sendError(res, 403, 'E_FORBIDDEN', `this needs the ${role} role; ${user.id} is a ${user.role}`);
    next();
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A state-changing request names this server in `Origin`, or, when a browser sent none (some do
 * not on same-origin requests), in `Referer`. Neither: not a browser's cross-site request (curl,
 * the CLI). Runs for every route (server.ts), so no POST handler can be added without it.
 */
export const originGuard: RequestHandler = (req, res, next) => {
  if (SAFE_METHODS.has(req.method)) return next();
  const origin = req.headers.origin ?? refererOrigin(req.headers.referer);
  if (!sameOrigin(origin, req.headers.host))
    return sendError(res, 403, 'E_CROSS_ORIGIN', 'a request from another origin is refused');
  next();
};

function refererOrigin(referer: string | undefined): string | undefined {
  if (referer === undefined) return undefined;
  try {
    return new URL(referer).origin;
  } catch {
    return 'null'; // unparsable: never the same origin
  }
}

export const csrfGuard: RequestHandler = (req, res, next) => {
  if (SAFE_METHODS.has(req.method)) return next();
  if (!sameOrigin(req.headers.origin ?? refererOrigin(req.headers.referer), req.headers.host))
    return sendError(res, 403, 'E_CROSS_ORIGIN', 'a request from another origin is refused');
  // The header itself, not req.is(): that answers null for a request without a body (logout).
  const type = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json')
    return sendError(
      res,
      415,
      'E_UNSUPPORTED_MEDIA_TYPE',
      'send the request as Content-Type: application/json',
    );
  next();
};

/** HTTPS directly, or through a proxy that ends TLS and says so. */
export function isHttps(req: Request): boolean {
  const forwarded = req.headers['x-forwarded-proto'];
  const proto = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
  // Trusting the header only decides the Secure flag: a client lying about it hurts itself alone.
  return req.secure || proto === 'https';
}

/** No Max-Age: a browser session cookie; the server ends the session after the idle time anyway. */
export function sessionCookie(sid: string, secure: boolean): string {
  return serialize(SESSION_COOKIE, sid, { httpOnly: true, sameSite: 'strict', path: '/', secure });
}

export function clearedSessionCookie(secure: boolean): string {
  return serialize(SESSION_COOKIE, '', {
    httpOnly: true,
    sameSite: 'strict',
    path: '/',
    secure,
    expires: new Date(0),
  });
}

/**
 * What every state-changing route puts before its handler (`router.post(path, ...stateChanging,
 * handler)`): the CSRF checks, then the JSON body. Per route rather than for all of /api, so a
 * wrong method on a read-only route still answers 405.
 */
export const stateChanging: RequestHandler[] = [csrfGuard, express.json({ limit: '16kb' })];
