/**
 * Recently seen reading identities (device, kind, ts) with the promise of their durability. A
 * repeat (a QoS 1 resend, a retransmitted QoS 2 publish, a device replaying its buffer) is acked
 * once the original is durable, counted as a duplicate, and not written again. Bounded per device
 * (FIFO), so memory stays flat; a repeat older than the window is written again, which InfluxDB
 * absorbs (same measurement, tags and timestamp overwrite).
 */
export class RecentReadings {
  private readonly byDevice = new Map<string, Map<string, Promise<void>>>();

  constructor(private readonly perDevice: number) {}

  /** The durability promise of an earlier reading with this identity, if remembered. */
  get(deviceId: string, kind: string, ts: number): Promise<void> | undefined {
    return this.byDevice.get(deviceId)?.get(`${kind}|${ts}`);
  }

  remember(deviceId: string, kind: string, ts: number, durable: Promise<void>): void {
    let seen = this.byDevice.get(deviceId);
    if (!seen) {
      seen = new Map();
      this.byDevice.set(deviceId, seen);
    }
    const key = `${kind}|${ts}`;
    seen.delete(key);
    seen.set(key, durable);
    // Map iteration order is insertion order: the first key is the oldest.
    while (seen.size > this.perDevice) {
      const oldest = seen.keys().next().value as string;
      seen.delete(oldest);
    }
  }

  /** A failed append must not make later resends look like duplicates of nothing. */
  forgetIf(deviceId: string, kind: string, ts: number, durable: Promise<void>): void {
    const seen = this.byDevice.get(deviceId);
    const key = `${kind}|${ts}`;
    if (seen?.get(key) === durable) seen.delete(key);
  }

  forget(deviceId: string): void {
    this.byDevice.delete(deviceId);
  }

  get size(): number {
    let n = 0;
    for (const seen of this.byDevice.values()) n += seen.size;
    return n;
  }
}
