/**
 * Seeded randomness for the simulators. Two flavours:
 * - `createRandom(seed)`: a sequential PRNG (mulberry32) for schedules and jitter, where the order
 *   of draws is fixed by the runner;
 * - `noise(...)`: a hash of (seed, key, time) for the values themselves, so a reading depends only
 *   on its device and timestamp, not on how many readings came before (a backlog generated later
 *   or a replay at another speed gives the same values).
 * Written here rather than taken from a package: both are a dozen lines, and a package would give
 * no stronger guarantee than the tests do. Not for secrets (those use crypto.randomBytes).
 */

export type Random = () => number;

/** mulberry32: 32-bit state, full period 2^32, uniform in [0, 1). */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit hash of a string (FNV-1a), to derive per-device seeds from one fleet seed. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Mixes integers into one 32-bit value (murmur3 finaliser per step). */
export function mix(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    // Split doubles such as epoch milliseconds into two 32-bit halves so no bits are lost.
    const lo = v >>> 0;
    const hi = Math.floor(v / 4294967296) >>> 0;
    for (const part of [lo, hi]) {
      h ^= part;
      h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
      h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
      h ^= h >>> 16;
    }
  }
  return h >>> 0;
}

/** Uniform in [0, 1) from (seed, ...keys). */
export function noise(...values: number[]): number {
  return mix(...values) / 4294967296;
}

/** Standard normal from (seed, ...keys) (Box-Muller on two hashed uniforms). */
export function gaussian(...values: number[]): number {
  const u = Math.max(noise(...values, 1), 1e-12);
  const v = noise(...values, 2);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/**
 * Smooth noise in about [-1, 1]: gaussian knots every `stepMs`, cosine-interpolated, so a value
 * drifts instead of jumping from one reading to the next (weather anomalies, sensor drift).
 */
export function smoothNoise(seed: number, key: number, ts: number, stepMs: number): number {
  const x = ts / stepMs;
  const k = Math.floor(x);
  const f = (1 - Math.cos(Math.PI * (x - k))) / 2;
  const a = gaussian(seed, key, k);
  const b = gaussian(seed, key, k + 1);
  return a + (b - a) * f;
}
