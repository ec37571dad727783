/**
 * Accepted / duplicate / rejected counts and reject codes per minute over the last hour, for the
 * data-quality view. 60 slots indexed by minute; a slot holding an older minute is cleared before
 * reuse, so memory is fixed: 60 x (3 + number of reject codes) 32-bit counters (3.4 KB) plus 60
 * minute stamps. Events older than the window are not counted in it (the totals still are).
 */
import { REJECT_CODES, type RejectCode } from '../../contract/index.js';

export const WINDOW_MINUTES = 60;
const FIELDS = 3 + REJECT_CODES.length;
const CODE_FIELD = new Map<string, number>(REJECT_CODES.map((code, i) => [code, 3 + i]));

export type CountField = 'accepted' | 'duplicate' | 'rejected';
const FIELD_INDEX: Record<CountField, number> = { accepted: 0, duplicate: 1, rejected: 2 };

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
  private readonly minutes = new Float64Array(WINDOW_MINUTES).fill(-1);
  private readonly counts = new Uint32Array(WINDOW_MINUTES * FIELDS);

  /** Counts `n` events of `field` (and of `code`, for rejects) at instant `at`. */
  add(at: number, now: number, field: CountField, n = 1, code?: RejectCode): void {
    const minute = Math.floor(Math.min(at, now) / 60_000);
    if (minute <= Math.floor(now / 60_000) - WINDOW_MINUTES) return;
    const slot = minute % WINDOW_MINUTES;
    if (this.minutes[slot] !== minute) {
      // Only a newer minute may take the slot over; an older one would erase fresher counts.
      if ((this.minutes[slot] as number) > minute) return;
      this.minutes[slot] = minute;
      this.counts.fill(0, slot * FIELDS, (slot + 1) * FIELDS);
    }
    this.counts[slot * FIELDS + FIELD_INDEX[field]]! += n;
    const codeField = code === undefined ? undefined : CODE_FIELD.get(code);
    if (codeField !== undefined) this.counts[slot * FIELDS + codeField]! += n;
  }

  /** Sums over the last `WINDOW_MINUTES` minutes ending at `now`. */
  window(now: number, into: WindowCounts = emptyCounts()): WindowCounts {
    const current = Math.floor(now / 60_000);
    for (let slot = 0; slot < WINDOW_MINUTES; slot++) {
      const minute = this.minutes[slot] as number;
      if (minute <= current - WINDOW_MINUTES || minute > current) continue;
      this.addSlot(slot, into);
    }
    return into;
  }

  /** The minutes that hold counts, for saving. */
  entries(): MinuteEntry[] {
    const out: MinuteEntry[] = [];
    for (let slot = 0; slot < WINDOW_MINUTES; slot++) {
      const minute = this.minutes[slot] as number;
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

  private addSlot(slot: number, into: WindowCounts): void {
    const base = slot * FIELDS;
    into.accepted += this.counts[base] as number;
    into.duplicate += this.counts[base + 1] as number;
    into.rejected += this.counts[base + 2] as number;
    REJECT_CODES.forEach((code, i) => {
      const n = this.counts[base + 3 + i] as number;
      if (n > 0) into.codes[code] = (into.codes[code] ?? 0) + n;
    });
  }
}
