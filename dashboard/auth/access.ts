/**
 * Who may use the dashboard (DESIGN "Secrets", issue 6 "Access"):
 * - `login`: the registry has users; every API route but login/session, and every Socket.IO
 *   connection, needs a session.
 * - `open`: no users and a loopback bind (the demo): everyone on this machine is an operator.
 * - `closed`: no users on a public bind. `valley start` refuses it (assertDashboardBind); a reload
 *   that removes the last user while bound publicly gets here and the dashboard fails closed:
 *   nobody can log in until a user is added again.
 */
import { isLoopback } from '../../config/loader.js';
import type { RegistryIndex } from '../../config/registry-schema.js';

export type AccessMode = 'login' | 'open' | 'closed';

export function accessMode(index: RegistryIndex, bind: string): AccessMode {
  if (index.users.size > 0) return 'login';
  return isLoopback(bind) ? 'open' : 'closed';
}

export class DashboardBindError extends Error {
  readonly code = 'E_DASHBOARD_BIND';
}

export function assertDashboardBind(index: RegistryIndex, bind: string): void {
  if (accessMode(index, bind) !== 'closed') return;
  throw new DashboardBindError(
    `refusing to bind ${bind}: the registry has no users, so the dashboard would be open to anyone ` +
      'who can reach it. Add a user with `valley user add <id> --role viewer|operator`, or bind a ' +
      'loopback address (127.0.0.1, ::1) with VALLEY_BIND / --bind.',
  );
}

/**
 * The host name of a `Host` header is a loopback one (localhost, 127.x, [::1]). The open dashboard
 * answers only those: a page on another site that rebinds its own DNS name to 127.0.0.1 is then
 * same-origin for the browser, but its requests still carry its own name and are refused.
 */
export function isLoopbackHost(hostHeader: string | undefined): boolean {
  if (hostHeader === undefined) return false;
  const host = hostHeader.startsWith('[')
    ? hostHeader.slice(0, hostHeader.indexOf(']') + 1)
    : hostHeader.replace(/:\d+$/, '');
  return isLoopback(host);
}

/**
 * An `Origin` header (sent by browsers on cross-origin requests, POSTs and WebSocket handshakes)
 * names the same host and port as the request. Absent: not a browser's cross-site request.
 */
export function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  if (host === undefined) return false;
  try {
    return new URL(origin).host === new URL(`http://${host}`).host;
  } catch {
    return false;
  }
}
