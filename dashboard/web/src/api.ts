/**
 * The REST side of the dashboard (same origin, session cookie). Every answer is parsed with its
 * schema; a 401 anywhere means the session ended, which the app turns into the login page.
 */
import type { z } from 'zod';
import { statusSchema, type ValleyStatus } from '../../status-schema.js';
import { municipalityCollectionSchema, type MunicipalityCollection } from '../../geo/projection.js';
import {
  apiErrorSchema,
  geoAnswerSchema,
  historyAnswerSchema,
  registryAnswerSchema,
  sessionAnswerSchema,
  type History,
  type HistoryRange,
  type RegistryView,
  type Session,
} from './schemas.js';

export interface Geo {
  boundaries: MunicipalityCollection;
  attribution: { it: string; en: string };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
    /** Seconds from a Retry-After header (login throttling), when there is one. */
    readonly retryAfterS: number | null = null,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let onUnauthorized: () => void = () => undefined;
/** Called on any 401 except the login's own (a wrong password is not an expired session). */
export function setUnauthorizedHandler(handler: () => void): void {
  onUnauthorized = handler;
}

async function failure(res: Response): Promise<ApiError> {
  const retry = Number(res.headers.get('retry-after'));
  const retryAfterS = Number.isFinite(retry) && retry > 0 ? retry : null;
  let body: unknown = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON (a proxy's error page): the status says enough.
  }
  const parsed = apiErrorSchema.safeParse(body);
  return parsed.success
    ? new ApiError(res.status, parsed.data.error.code, parsed.data.error.message, retryAfterS)
    : new ApiError(res.status, null, `HTTP ${res.status}`, retryAfterS);
}

async function request(path: string, init: RequestInit = {}, quiet401 = false): Promise<Response> {
  const res = await fetch(path, {
    credentials: 'same-origin',
    ...init,
    headers: { accept: 'application/json', ...(init.headers ?? {}) },
  });
  if (res.ok) return res;
  const err = await failure(res);
  if (res.status === 401 && !quiet401) onUnauthorized();
  throw err;
}

async function getJson<T>(path: string, schema: z.ZodType<T>): Promise<T> {
  const res = await request(path);
  const parsed = schema.safeParse(await res.json());
  if (!parsed.success) throw new ApiError(res.status, 'E_INVALID_DATA', `${path}: ${parsed.error.message}`);
  return parsed.data;
}

export const api = {
  session: (): Promise<Session> => getJson('/api/session', sessionAnswerSchema),
  async login(id: string, password: string): Promise<void> {
    await request(
      '/api/login',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, password }),
      },
      true,
    );
  },
  async logout(): Promise<void> {
    // A JSON body, as on every state-changing request: the server's CSRF guard refuses others.
    await request(
      '/api/logout',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' },
      true,
    );
  },
  registry: (): Promise<RegistryView> => getJson('/api/registry', registryAnswerSchema),
  async geo(): Promise<Geo> {
    const answer = await getJson('/api/geo', geoAnswerSchema);
    // The envelope is checked by the protocol's schema; the GeoJSON itself by the map's own.
    const boundaries = municipalityCollectionSchema.safeParse(answer.boundaries);
    if (!boundaries.success)
      throw new ApiError(200, 'E_INVALID_DATA', `/api/geo: ${boundaries.error.message}`);
    return { boundaries: boundaries.data, attribution: answer.attribution };
  },
  status: (): Promise<ValleyStatus> => getJson('/api/status', statusSchema),
  history(device: string, metric: string, range: HistoryRange): Promise<History> {
    const q = new URLSearchParams({ device, metric, range });
    return getJson(`/api/history?${q.toString()}`, historyAnswerSchema);
  },
};
