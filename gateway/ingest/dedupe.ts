/**
 * Recently seen reading identities (device, kind, ts) with the promise of their durability. A
 * repeat (a QoS 1 resend, a retransmitted QoS 2 publish, a device replaying its buffer) is acked
 * once the original is durable, counted as a duplicate, and not written again. Bounded per device
 * (FIFO), so memory stays flat; a repeat older than the window is written again, which InfluxDB
 * absorbs (same measurement, tags and timestamp overwrite).
 *
 * Memory: the window is a ring of timestamps (Float64Array) with an open-addressing index
 * (Int32Array, at most half full) per device, so a full window costs 8 + 2 × 4 to 4 × 4 bytes per
 * reading: 64 KiB per device at the default 4096, against ~100 bytes per reading (a "kind|ts"
 * string, a Map entry and a retained Promise) in a Map of strings. Both arrays start at 16
 * readings and double as a device fills them, so a device reporting every few minutes holds well
 * under 1 KiB. Only readings whose append is still in flight keep their Promise (a duplicate of
 * one must wait for the original's fsync); once it settles the reading is answered by one shared
 * resolved promise. The device's kind is held once: a device has one kind at a time, and a change
 * starts a clean window (the registry reload calls forget() anyway).
 */
const DURABLE: Promise<void> = Promise.resolve();
const EMPTY = -1;
const INITIAL_READINGS = 16;

/** One device's window: a FIFO ring of timestamps and a linear-probing index of ring slots. */
class DeviceWindow {
  private ring: Float64Array;
  private index: Int32Array;
  private head = 0; // ring slot of the oldest reading
  private used = 0; // ring slots taken, holes (forgotten readings) included
  live = 0;
  /** Readings whose append has not settled, by ts: a duplicate waits for the original. */
  readonly pending = new Map<number, Promise<void>>();

  constructor(
    readonly kind: string,
    private readonly max: number,
  ) {
    this.ring = new Float64Array(initialLength(max));
    this.index = new Int32Array(indexSize(this.ring.length)).fill(EMPTY);
  }

  has(ts: number): boolean {
    return this.find(ts) >= 0;
  }

  /** Readings the ring holds before it grows or evicts. */
  get capacity(): number {
    return this.ring.length;
  }

  add(ts: number): void {
    if (this.has(ts)) this.remove(ts);
    if (this.used === this.ring.length) {
      if (this.ring.length < this.max) this.grow();
      else this.evictOldest();
    }
    const slot = (this.head + this.used) % this.ring.length;
    this.ring[slot] = ts;
    this.used++;
    this.live++;
    this.index[this.freeIndexPosition(ts)] = slot;
  }

  remove(ts: number): void {
    const position = this.find(ts);
    if (position < 0) return;
    const slot = this.index[position]!;
    this.unindex(position);
    this.ring[slot] = NaN; // a hole; evictOldest and grow skip it
    this.live--;
  }

  /** Index position holding ts, or -1. */
  private find(ts: number): number {
    const mask = this.index.length - 1;
    for (let p = hash(ts) & mask; ; p = (p + 1) & mask) {
      const slot = this.index[p]!;
      if (slot === EMPTY) return -1;
      if (this.ring[slot] === ts) return p;
    }
  }

  private freeIndexPosition(ts: number): number {
    const mask = this.index.length - 1;
    let p = hash(ts) & mask;
    while (this.index[p] !== EMPTY) p = (p + 1) & mask;
    return p;
  }

  /** Backward-shift deletion keeps every probe chain unbroken without tombstones. */
  private unindex(position: number): void {
    const mask = this.index.length - 1;
    let hole = position;
    for (let p = (hole + 1) & mask; this.index[p] !== EMPTY; p = (p + 1) & mask) {
      const home = hash(this.ring[this.index[p]!]!) & mask;
      // Move the entry into the hole unless its home lies cyclically in (hole, p].
      const stays = hole <= p ? home > hole && home <= p : home > hole || home <= p;
      if (!stays) {
        this.index[hole] = this.index[p]!;
        hole = p;
      }
    }
    this.index[hole] = EMPTY;
  }

  private evictOldest(): void {
    const ts = this.ring[this.head]!;
    if (!Number.isNaN(ts)) {
      this.unindex(this.find(ts));
      this.pending.delete(ts);
      this.live--;
    }
    this.head = (this.head + 1) % this.ring.length;
    this.used--;
  }

  private grow(): void {
    const old = this.ring;
    const oldHead = this.head;
    const oldUsed = this.used;
    this.ring = new Float64Array(grownLength(old.length, this.max));
    this.index = new Int32Array(indexSize(this.ring.length)).fill(EMPTY);
    this.head = 0;
    // Holes move along: they keep their place in the FIFO, so the window means the same thing
    // before and after growing.
    for (let i = 0; i < oldUsed; i++) {
      const ts = old[(oldHead + i) % old.length]!;
      this.ring[i] = ts;
      if (!Number.isNaN(ts)) this.index[this.freeIndexPosition(ts)] = i;
    }
  }
}

/**
 * The reading at which a device's window reaches its full size `max` (its last doubling): from
 * then on its memory stays the same however long the device reports. The bench's soak warms up to
 * this before it measures growth.
 */
export function readingsToFullWindow(max: number): number {
  let length = initialLength(max);
  let readings = 1;
  while (length < max) {
    readings = length + 1; // the ring grows when a reading finds it full
    length = grownLength(length, max);
  }
  return readings;
}

/** The ring's first size, and its size after each growth: doubling, up to the window's bound. */
const initialLength = (max: number): number => Math.min(max, INITIAL_READINGS);
const grownLength = (length: number, max: number): number => Math.min(max, length * 2);

/** Twice the ring, rounded up to a power of two: probes stay short at a load of ≤ 0.5. */
function indexSize(readings: number): number {
  let size = 2;
  while (size < readings * 2) size *= 2;
  return size;
}

/** Timestamps are ms since 1970 (> 2^32): mix both halves, then scramble (Murmur3's finaliser). */
function hash(ts: number): number {
  let h = (ts >>> 0) ^ Math.imul((ts / 4294967296) >>> 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class RecentReadings {
  private readonly byDevice = new Map<string, DeviceWindow>();

  constructor(private readonly perDevice: number) {}

  /** The size a device's window has grown to (0: none yet); what its memory follows. */
  capacity(deviceId: string): number {
    return this.byDevice.get(deviceId)?.capacity ?? 0;
  }

  /** The durability promise of an earlier reading with this identity, if remembered. */
  get(deviceId: string, kind: string, ts: number): Promise<void> | undefined {
    const window = this.byDevice.get(deviceId);
    if (!window || window.kind !== kind || !window.has(ts)) return undefined;
    return window.pending.get(ts) ?? DURABLE;
  }

  /** The readings of one append, with its durability: one settle handler per append. */
  remember(deviceId: string, kind: string, timestamps: readonly number[], durable: Promise<void>): void {
    let window = this.byDevice.get(deviceId);
    if (!window || window.kind !== kind) {
      window = new DeviceWindow(kind, this.perDevice);
      this.byDevice.set(deviceId, window);
    }
    for (const ts of timestamps) {
      window.add(ts);
      window.pending.set(ts, durable);
    }
    const settledWindow = window;
    // Once durable, the shared resolved promise answers for them; a failure is handled by forgetIf.
    durable.then(
      () => {
        for (const ts of timestamps) {
          if (settledWindow.pending.get(ts) === durable) settledWindow.pending.delete(ts);
        }
      },
      () => {},
    );
  }

  /** A failed append must not make later resends look like duplicates of nothing. */
  forgetIf(deviceId: string, kind: string, timestamps: readonly number[], durable: Promise<void>): void {
    const window = this.byDevice.get(deviceId);
    if (!window || window.kind !== kind) return;
    for (const ts of timestamps) {
      if (window.pending.get(ts) !== durable) continue;
      window.pending.delete(ts);
      window.remove(ts);
    }
  }

  forget(deviceId: string): void {
    this.byDevice.delete(deviceId);
  }

  get size(): number {
    let n = 0;
    for (const window of this.byDevice.values()) n += window.live;
    return n;
  }
}
