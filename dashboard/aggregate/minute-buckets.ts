/**
 * Accepted / duplicate / rejected counts and reject codes per minute over the last hour, for the
 * data-quality view. 60 slots indexed by minute; a slot holding an older minute is cleared before
 * reuse, so memory is fixed. Every device in the registry has one, so it is kept small: 60 x 4
 * 32-bit words (the minute and three counts, 960 bytes), and the per-code counts (60 x the number
 * of reject codes, ~2.6 KB) only once the device has had a reject. A fleet of well-behaved devices
 * never pays for the codes (5,000 devices: ~5 MiB instead of ~22). Events older than the window are
 * not counted in it (the totals still are).
 */
import { REJECT_CODES, type RejectCode } from '../../contract/index.js';

export const WINDOW_MINUTES = 60;
/** Words per slot: minute + 1 (0: never used), accepted, duplicate, rejected. */
const FIELDS = 4;
const CODES = REJECT_CODES.length;
const CODE_FIELD = new Map<string, number>(REJECT_CODES.map((code, i) => [code, i]));

export type CountField = 'accepted' | 'duplicate' | 'rejected';
const FIELD_INDEX: Record<CountField, number> = { accepted: 1, duplicate: 2, rejected: 3 };

export interface WindowCounts {
  accepted: number;
  duplicate: number;
  rejected: number;
  /** Only the codes seen in the window. */
  codes: Partial<Record<RejectCode, number>>;
}

export function emptyCounts(): WindowCounts {
  return { accepted: 0, duplicate: 0, rejected: 0, codes: {} };
}

/** One minute's counts, as saved across restarts (by code name, so a new code cannot shift them). */
export interface MinuteEntry extends WindowCounts {
  minute: number;
}

export class MinuteBuckets {
  /** Allocated at the first event: a device that never reports costs nothing but this object. */
  private slots: Uint32Array | null = null;
  /** Per-code reject counts, allocated at the first coded reject. */
  private codes: Uint32Array | null = null;

  /** Counts `n` events of `field` (and of `code`, for rejects) at instant `at`. */
  add(at: number, now: number, field: CountField, n = 1, code?: RejectCode): void {
    const minute = Math.floor(Math.min(at, now) / 60_000);
    if (minute < 0 || minute <= Math.floor(now / 60_000) - WINDOW_MINUTES) return;
    const slot = minute % WINDOW_MINUTES;
    const slots = (this.slots ??= new Uint32Array(WINDOW_MINUTES * FIELDS));
    const base = slot * FIELDS;
    const held = slots[base]! - 1;
    if (held !== minute) {
      // Only a newer minute may take the slot over; an older one would erase fresher counts.
      if (held > minute) return;
      slots.fill(0, base, base + FIELDS);
      slots[base] = minute + 1;
      this.codes?.fill(0, slot * CODES, (slot + 1) * CODES);
    }
    slots[base + FIELD_INDEX[field]]! += n;
    const codeField = code === undefined ? undefined : CODE_FIELD.get(code);
    if (codeField !== undefined) {
      const codes = (this.codes ??= new Uint32Array(WINDOW_MINUTES * CODES));
      codes[slot * CODES + codeField]! += n;
    }
  }

  /** Sums over the last `WINDOW_MINUTES` minutes ending at `now`. */
  window(now: number, into: WindowCounts = emptyCounts()): WindowCounts {
    const current = Math.floor(now / 60_000);
    for (let slot = 0; slot < WINDOW_MINUTES; slot++) {
      const minute = this.minuteAt(slot);
      if (minute < 0 || minute <= current - WINDOW_MINUTES || minute > current) continue;
      this.addSlot(slot, into);
    }
    return into;
  }

  /** The minutes that hold counts, for saving. */
  entries(): MinuteEntry[] {
    const out: MinuteEntry[] = [];
    for (let slot = 0; slot < WINDOW_MINUTES; slot++) {
      const minute = this.minuteAt(slot);
      if (minute < 0) continue;
      const counts = emptyCounts();
      this.addSlot(slot, counts);
      out.push({ minute, ...counts });
    }
    return out;
  }

  /** Restores saved minutes; those outside the window ending at `now` are dropped by `add`. */
  load(entries: readonly MinuteEntry[], now: number): void {
    for (const e of entries) {
      const at = e.minute * 60_000;
      if (e.accepted > 0) this.add(at, now, 'accepted', e.accepted);
      if (e.duplicate > 0) this.add(at, now, 'duplicate', e.duplicate);
      // Rejected per code, so the code counts come back with it; a code this version no longer
      // knows still counts as rejected.
      let coded = 0;
      for (const [code, n] of Object.entries(e.codes)) {
        if (!CODE_FIELD.has(code) || n === undefined || n <= 0) continue;
        this.add(at, now, 'rejected', n, code as RejectCode);
        coded += n;
      }
      if (e.rejected > coded) this.add(at, now, 'rejected', e.rejected - coded);
    }
  }

  /** The minute slot `slot` holds, -1 if none. */
  private minuteAt(slot: number): number {
    return this.slots === null ? -1 : this.slots[slot * FIELDS]! - 1;
  }

  private addSlot(slot: number, into: WindowCounts): void {
    const slots = this.slots!;
    const base = slot * FIELDS;
    into.accepted += slots[base + 1]!;
    into.duplicate += slots[base + 2]!;
    into.rejected += slots[base + 3]!;
    const codes = this.codes;
    if (codes === null) return;
    REJECT_CODES.forEach((code, i) => {
      const n = codes[slot * CODES + i]!;
      if (n > 0) into.codes[code] = (into.codes[code] ?? 0) + n;
    });
  }
}
