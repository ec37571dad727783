/**
 * A bounded, time-ordered series of (ts, value) points for a sparkline. Readings usually arrive in
 * order and are appended; a backlog element older than the newest is inserted at its place, and
 * one older than everything kept is dropped once the buffer is full. At capacity the oldest point
 * goes. Plain arrays: at ~120 points a shift is cheaper than the bookkeeping of a circular buffer.
 */
export class Series {
  private readonly times: number[] = [];
  private readonly values: number[] = [];

  constructor(private readonly capacity: number) {}

  add(ts: number, value: number): void {
    const n = this.times.length;
    const newest = this.times[n - 1];
    if (newest === undefined || ts > newest) {
      this.times.push(ts);
      this.values.push(value);
    } else {
      const at = this.lowerBound(ts);
      if (this.times[at] === ts) {
        this.values[at] = value; // same instant: keep one point
        return;
      }
      if (at === 0 && n >= this.capacity) return;
      this.times.splice(at, 0, ts);
      this.values.splice(at, 0, value);
    }
    if (this.times.length > this.capacity) {
      this.times.shift();
      this.values.shift();
    }
  }

  /** [ts, value] pairs, oldest first: plain JSON. */
  points(): [number, number][] {
    return this.times.map((ts, i) => [ts, this.values[i] as number]);
  }

  /** Restores points saved with `points()` (oldest first); the capacity still applies. */
  load(points: readonly (readonly [number, number])[]): void {
    for (const [ts, value] of points) this.add(ts, value);
  }

  get length(): number {
    return this.times.length;
  }

  private lowerBound(ts: number): number {
    let lo = 0;
    let hi = this.times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.times[mid] as number) < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
