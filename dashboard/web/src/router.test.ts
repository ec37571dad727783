import { describe, expect, test } from '@jest/globals';
import { href, parseHash, type Route } from './router.js';

describe('hash routes', () => {
  test.each<[string, Route]>([
    ['', { name: 'overview' }],
    ['#/overview', { name: 'overview' }],
    ['#/nowhere', { name: 'overview' }],
    ['#/map', { name: 'map' }],
    ['#/device/chiesa-wf-primolo', { name: 'device', id: 'chiesa-wf-primolo' }],
    ['#/device/', { name: 'map' }],
    ['#/history', { name: 'history', id: null, range: '24h' }],
    ['#/history/x-1?range=7d', { name: 'history', id: 'x-1', range: '7d' }],
    ['#/history/x-1?range=1y', { name: 'history', id: 'x-1', range: '24h' }],
    ['#/quality', { name: 'quality' }],
  ])('%s', (hash, route) => {
    expect(parseHash(hash)).toEqual(route);
  });

  test('href and parseHash round-trip, ids escaped', () => {
    const routes: Route[] = [
      { name: 'device', id: 'a b/c' },
      { name: 'history', id: 'd-1', range: '1h' },
      { name: 'history', id: null, range: '24h' },
      { name: 'quality' },
    ];
    for (const route of routes) expect(parseHash(href(route))).toEqual(route);
  });
});
