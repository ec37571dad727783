import { describe, expect, test } from '@jest/globals';
import { placeLabel, spreadMarkers } from './map-layout.js';

describe('spreadMarkers', () => {
  test('devices at one spot end up apart, near where they are', () => {
    const points = Array.from({ length: 7 }, (_, i) => ({ id: `d${i}`, x: 100, y: 100 }));
    const placed = spreadMarkers(points, 20);
    for (const a of placed) {
      expect(Math.hypot(a.x - 100, a.y - 100)).toBeLessThan(60);
      for (const b of placed) if (a !== b) expect(Math.hypot(a.x - b.x, a.y - b.y)).toBeGreaterThan(18);
    }
  });

  test('markers already apart stay exactly where they are', () => {
    const placed = spreadMarkers(
      [
        { id: 'a', x: 0, y: 0 },
        { id: 'b', x: 100, y: 0 },
      ],
      20,
    );
    expect(placed.map((p) => [Math.round(p.x), Math.round(p.y)])).toEqual([
      [0, 0],
      [100, 0],
    ]);
  });

  test('deterministic', () => {
    const points = [1, 2, 3, 4].map((i) => ({ id: String(i), x: i, y: 0 }));
    expect(spreadMarkers(points, 20)).toEqual(spreadMarkers(points, 20));
  });
});

describe('placeLabel', () => {
  const inside = (x: number, y: number) => x >= 0 && x <= 400 && y >= 0 && y <= 400;
  const start = { x: 200, y: 200, width: 100, height: 20 };

  test('stays at the centroid when no marker is in the way', () => {
    expect(placeLabel(start, inside, [{ x: 20, y: 20 }], 15)).toEqual({ x: 200, y: 200 });
  });

  test('moves off a marker, as little as it can, inside the area', () => {
    const p = placeLabel(start, inside, [{ x: 200, y: 195 }], 15);
    expect(Math.abs(p.y - 200)).toBeGreaterThan(10);
    expect(Math.abs(p.y - 200)).toBeLessThan(60);
    expect(inside(p.x, p.y)).toBe(true);
  });
});
