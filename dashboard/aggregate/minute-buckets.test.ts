import { describe, expect, test } from '@jest/globals';
import { MinuteBuckets, WINDOW_MINUTES } from './minute-buckets.js';
import { t } from './fixtures.js';

const MINUTE = 60_000;
const NOW = t('2026-11-25T12:00:30+01:00');

describe('counts per minute over the last hour', () => {
  test('a device with no events has an empty window and nothing to save', () => {
    const b = new MinuteBuckets();
    expect(b.window(NOW)).toEqual({ accepted: 0, duplicate: 0, rejected: 0, codes: {} });
    expect(b.entries()).toEqual([]);
  });

  test('sums accepted, duplicates and rejects with their codes over the window', () => {
    const b = new MinuteBuckets();
    b.add(NOW - 2 * MINUTE, NOW, 'accepted', 3);
    b.add(NOW - MINUTE, NOW, 'duplicate', 2);
    b.add(NOW, NOW, 'rejected', 1, 'E_RANGE');
    b.add(NOW, NOW, 'rejected', 2, 'E_SCHEMA');
    b.add(NOW - 30 * MINUTE, NOW, 'rejected', 1, 'E_SCHEMA');
    b.add(NOW, NOW, 'rejected'); // no code: counted as rejected only
    expect(b.window(NOW)).toEqual({
      accepted: 3,
      duplicate: 2,
      rejected: 5,
      codes: { E_RANGE: 1, E_SCHEMA: 3 },
    });
  });

  test('an hour later the old minutes are out of the window, and a new minute clears the slot and its codes', () => {
    const b = new MinuteBuckets();
    b.add(NOW, NOW, 'rejected', 4, 'E_SCHEMA');
    b.add(NOW, NOW, 'accepted', 5);
    const later = NOW + WINDOW_MINUTES * MINUTE; // the same slot, one hour on
    expect(b.window(later)).toEqual({ accepted: 0, duplicate: 0, rejected: 0, codes: {} });
    b.add(later, later, 'accepted', 1);
    expect(b.window(later)).toEqual({ accepted: 1, duplicate: 0, rejected: 0, codes: {} });
  });

  test('an event older than the minute its slot holds does not erase the fresher counts', () => {
    const b = new MinuteBuckets();
    b.add(NOW, NOW, 'accepted', 7);
    // An hour older, but inside the window of a clock half an hour behind: same slot, older minute.
    b.add(NOW - WINDOW_MINUTES * MINUTE, NOW - 30 * MINUTE, 'accepted', 1);
    expect(b.window(NOW).accepted).toBe(7);
    b.add(NOW - WINDOW_MINUTES * MINUTE, NOW, 'accepted', 1); // out of the window: ignored
    expect(b.window(NOW).accepted).toBe(7);
  });

  test('events in the future count at now', () => {
    const b = new MinuteBuckets();
    b.add(NOW + 10 * MINUTE, NOW, 'accepted', 2);
    expect(b.window(NOW).accepted).toBe(2);
  });

  test('what is saved comes back the same, codes included', () => {
    const b = new MinuteBuckets();
    b.add(NOW - 5 * MINUTE, NOW, 'accepted', 10);
    b.add(NOW - 5 * MINUTE, NOW, 'rejected', 2, 'E_UNKNOWN_METRIC');
    b.add(NOW, NOW, 'duplicate', 1);
    const restored = new MinuteBuckets();
    restored.load(b.entries(), NOW);
    expect(restored.entries()).toEqual(b.entries());
    expect(restored.window(NOW)).toEqual(b.window(NOW));
  });

  test('a saved code this version does not know still counts as rejected', () => {
    const b = new MinuteBuckets();
    const minute = Math.floor(NOW / MINUTE);
    b.load([{ minute, accepted: 0, duplicate: 0, rejected: 3, codes: { E_RETIRED: 2 } as never }], NOW);
    expect(b.window(NOW)).toEqual({ accepted: 0, duplicate: 0, rejected: 3, codes: {} });
  });
});
