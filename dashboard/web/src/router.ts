/**
 * Hash routes: the server serves one page, bookmarks and the tablet's back button still work.
 *   #/overview  #/map  #/device/{id}  #/history/{id}?range=24h  #/history  #/quality
 */
import { HISTORY_RANGES, type HistoryRange } from './schemas.js';

export type Route =
  | { name: 'overview' }
  | { name: 'map' }
  | { name: 'device'; id: string }
  | { name: 'history'; id: string | null; range: HistoryRange }
  | { name: 'quality' };

export const DEFAULT_RANGE: HistoryRange = '24h';

export function parseHash(hash: string): Route {
  const [path = '', query = ''] = hash.replace(/^#\/?/, '').split('?');
  const [name, rawId] = path.split('/');
  const id = rawId ? decodeURIComponent(rawId) : null;
  switch (name) {
    case 'map':
      return { name: 'map' };
    case 'quality':
      return { name: 'quality' };
    case 'device':
      return id ? { name: 'device', id } : { name: 'map' };
    case 'history': {
      const range = new URLSearchParams(query).get('range');
      const known = HISTORY_RANGES.find((r) => r === range);
      return { name: 'history', id, range: known ?? DEFAULT_RANGE };
    }
    default:
      return { name: 'overview' };
  }
}

export function href(route: Route): string {
  switch (route.name) {
    case 'device':
      return `#/device/${encodeURIComponent(route.id)}`;
    case 'history':
      return route.id === null
        ? '#/history'
        : `#/history/${encodeURIComponent(route.id)}?range=${route.range}`;
    default:
      return `#/${route.name}`;
  }
}
