/**
 * `POST /api/login`, `POST /api/logout`, `GET /api/session`. Passwords are checked with scrypt
 * (config/secrets.ts) through a gate that bounds how many run at once; a failed login is answered
 * late, by a delay that grows per (address, user id) and is capped (the broker's rule for
 * devices: a guesser is slowed, the real user who knows the password is never locked out), and
 * a second attempt for the same key while one is out is refused at once, so parallel guessing
 * does not escape the delay. An unknown id costs the same scrypt as a wrong password, so the
 * answer time does not tell which ids exist.
 */
import { randomBytes } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import type { User } from '../../config/registry-schema.js';
import { hashPassword, verifyPassword } from '../../config/secrets.js';
import type { Logger } from '../../gateway/logger.js';
import type { AccessMode } from '../auth/access.js';
import { BusyError, type Delays, type ScryptGate } from '../auth/limits.js';
import { authOf, clearedSessionCookie, isHttps, sessionCookie, stateChanging } from '../auth/middleware.js';
import type { SessionStore } from '../auth/sessions.js';
import { methodNotAllowed, sendError } from '../http-errors.js';
import { loginRequestSchema, type SessionAnswer } from '../protocol.js';

/** The shape of broker/login-throttle.ts's LoginThrottle; the composition root gives one its own. */
export interface LoginThrottle {
  failure(address: string, id: string): number;
  success(address: string, id: string): void;
}

export interface AuthRouteDeps {
  sessions: SessionStore;
  users: () => ReadonlyMap<string, User>;
  mode: () => AccessMode;
  throttle: LoginThrottle;
  gate: ScryptGate;
  delays: Delays;
  log: Logger;
}

let dummyHash: Promise<string> | undefined;
/** A hash no password matches in practice, made once: the cost of checking an unknown id. */
function unknownUserHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(32).toString('base64'));
  return dummyHash;
}

function answer(req: Request, mode: AccessMode): SessionAnswer {
  return { user: authOf(req).user, authRequired: mode !== 'open' };
}

export function authRoutes(deps: AuthRouteDeps): Router {
  const router = Router();
  const inFlight = new Set<string>();

  router
    .route('/api/session')
    .get((req, res) => {
      res.json(answer(req, deps.mode()));
    })
    .all(methodNotAllowed);

  router.post('/api/login', ...stateChanging, async (req: Request, res: Response) => {
    const parsed = loginRequestSchema.safeParse(req.body);
    if (!parsed.success)
      return sendError(res, 400, 'E_BAD_REQUEST', 'send {"id": "<user id>", "password": "<password>"}');
    const { id, password } = parsed.data;
    const address = req.socket.remoteAddress ?? 'unknown';
    const key = `${address}|${id}`;
    if (inFlight.has(key))
      return sendError(res, 429, 'E_TOO_MANY_REQUESTS', 'a login for this user is already being checked');
    inFlight.add(key);
    try {
      const user = deps.mode() === 'login' ? deps.users().get(id) : undefined;
      let ok: boolean;
      try {
        const hash = user?.password_hash ?? (await unknownUserHash());
        ok = (await deps.gate.run(() => verifyPassword(password, hash))) && user !== undefined;
      } catch (error) {
        if (!(error instanceof BusyError)) throw error;
        res.setHeader('retry-after', '1');
        return sendError(res, 503, 'E_BUSY', 'too many logins at once; try again in a moment');
      }
      if (!ok || !user) {
        const delayMs = deps.throttle.failure(address, id);
        deps.log.info({ user: id, address, delayMs }, 'dashboard login failed');
        await deps.delays.wait(delayMs);
        return sendError(res, 401, 'E_LOGIN_FAILED', 'wrong user id or password');
      }
      deps.throttle.success(address, id);
      // A new id at every login (never the one the browser came with): no session fixation.
      deps.sessions.destroy(authOf(req).sid);
      const sid = deps.sessions.create(user);
      deps.log.info({ user: id, role: user.role, address }, 'dashboard login');
      res.setHeader('set-cookie', sessionCookie(sid, isHttps(req)));
      res.json({ user: { id: user.id, role: user.role }, authRequired: true } satisfies SessionAnswer);
    } finally {
      inFlight.delete(key);
    }
  });
  router.all('/api/login', methodNotAllowedPost);

  router.post('/api/logout', ...stateChanging, (req, res) => {
    const { sid, user } = authOf(req);
    deps.sessions.destroy(sid);
    if (user) deps.log.info({ user: user.id }, 'dashboard logout');
    res.setHeader('set-cookie', clearedSessionCookie(isHttps(req)));
    res.json({ user: null, authRequired: deps.mode() !== 'open' } satisfies SessionAnswer);
  });
  router.all('/api/logout', methodNotAllowedPost);

  return router;
}

function methodNotAllowedPost(req: Request, res: Response): void {
  res.setHeader('allow', 'POST');
  sendError(res, 405, 'E_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}`);
}
