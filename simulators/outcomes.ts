/**
 * Bookkeeping of `valley simulate`: a label per message sent (its fault, the expected outcome,
 * what a reject for it would carry), rejects matched back to their message by ts/seq/index, and
 * the verdict per label. Everything here is pure: the runner feeds it events.
 */
import type { RejectCode, RejectMessage } from '../contract/index.js';
import { describeExpected, FAULTS, type Expected, type FaultType, type PayloadKeys } from './faults.js';

export type LabelKind = FaultType | 'valid';

export interface Label {
  id: number;
  deviceId: string;
  kind: LabelKind;
  expected: Expected;
  /** For single readings: what a reject can name it by. For arrays: one entry per index. */
  keys: PayloadKeys[];
  isArray: boolean;
  /** Valid readings this message adds to the store (0 for a duplicate resend and for faults). */
  newReadings: { ts: number; seq: number }[];
  readingCount: number;
  acked?: boolean;
  rejects: RejectMessage[];
  /** wrong_secret: the CONNACK code; foreign_topic: whether the connection closed. */
  refusedCode?: number | undefined;
  connectionClosed?: boolean;
  probeError?: string;
  mismatch?: string;
}

export const VALID_EXPECTED: Expected = { type: 'accept' };

export function expectedOf(kind: LabelKind): Expected {
  return kind === 'valid' ? VALID_EXPECTED : FAULTS[kind].expected;
}

export class Ledger {
  readonly labels: Label[] = [];
  readonly unmatched: { deviceId: string; reject: RejectMessage }[] = [];
  private readonly byDevice = new Map<string, Label[]>();

  add(label: Omit<Label, 'id' | 'rejects' | 'expected'>): Label {
    const full: Label = { ...label, id: this.labels.length, rejects: [], expected: expectedOf(label.kind) };
    this.labels.push(full);
    let list = this.byDevice.get(label.deviceId);
    if (!list) this.byDevice.set(label.deviceId, (list = []));
    list.push(full);
    return full;
  }

  /** Finds the message a reject is about: by ts (+ index), else by seq, else the message with no keys. */
  recordReject(deviceId: string, reject: RejectMessage): Label | undefined {
    const labels = this.byDevice.get(deviceId) ?? [];
    const keyOf = (l: Label): PayloadKeys | undefined =>
      l.isArray ? (reject.index === undefined ? undefined : l.keys[reject.index]) : l.keys[0];
    let candidates: Label[];
    if (reject.ts !== undefined) candidates = labels.filter((l) => keyOf(l)?.ts === reject.ts);
    else if (reject.seq !== undefined) {
      candidates = labels.filter((l) => keyOf(l)?.seq === reject.seq && keyOf(l)?.ts === undefined);
      if (candidates.length === 0) candidates = labels.filter((l) => keyOf(l)?.seq === reject.seq);
    } else
      candidates = labels.filter(
        (l) => !l.isArray && l.keys[0]?.ts === undefined && l.keys[0]?.seq === undefined,
      );
    const wants = (l: Label) => l.expected.type === 'reject' && l.expected.code === reject.code;
    const pick =
      candidates.find((l) => wants(l) && l.rejects.length === 0) ??
      candidates.find((l) => l.rejects.length === 0) ??
      candidates[0];
    if (pick) pick.rejects.push(reject);
    else this.unmatched.push({ deviceId, reject });
    return pick;
  }

  /** True when every label expecting a reject has one (the runner stops waiting then). */
  allExpectedRejectsIn(): boolean {
    return this.labels.every(
      (l) => l.expected.type !== 'reject' || l.acked === false || l.rejects.length > 0,
    );
  }
}

/** The verdict for one label; undefined when it had its expected outcome. */
export function judge(label: Label, qos: number): string | undefined {
  const e = label.expected;
  const codes = label.rejects.map((r) => r.code);
  const where = `${label.deviceId} ${label.kind}`;
  if (label.probeError !== undefined) return `${where}: ${label.probeError}`;
  switch (e.type) {
    case 'connack_refused':
      return label.refusedCode === undefined
        ? `${where}: a wrong secret was accepted (expected CONNACK refused)`
        : undefined;
    case 'connection_closed':
      return label.connectionClosed
        ? undefined
        : `${where}: the connection stayed open after publishing on another device's topic`;
    case 'accept':
      if (qos > 0 && label.acked !== true)
        return `${where}: no acknowledgement (expected ${describeExpected(e)})`;
      if (codes.length > 0) {
        const first = label.rejects[0]!;
        return `${where}: rejected with ${codes.join(', ')} (${first.message}); expected ${describeExpected(e)}`;
      }
      return undefined;
    case 'reject':
      if (qos > 0 && label.acked !== true)
        return `${where}: no acknowledgement (expected ${describeExpected(e)})`;
      if (codes.length === 0) return `${where}: no reject received (expected ${e.code})`;
      if (!codes.includes(e.code)) return `${where}: rejected with ${codes.join(', ')}, expected ${e.code}`;
      return undefined;
  }
}

export interface FaultResult {
  injected: number;
  asExpected: number;
  expected: string;
  mismatches: string[];
}

export interface Summary {
  devices: number;
  window: { from: string; to: string; speed: number };
  sent: { messages: number; readings: number };
  acknowledged: number;
  accepted: number;
  duplicates: number;
  rejected: Partial<Record<RejectCode, number>>;
  /** Per label kind ('valid' and each injected fault). */
  results: Partial<Record<LabelKind, FaultResult>>;
  mismatches: string[];
  /** Faults that could not be injected on some device (e.g. counter_reset on a kind without counters). */
  skipped: string[];
}

export function summarise(
  ledger: Ledger,
  qos: number,
  meta: { devices: number; from: number; to: number; speed: number; skipped: string[] },
): Summary {
  const results: Partial<Record<LabelKind, FaultResult>> = {};
  const mismatches: string[] = [];
  const rejected: Partial<Record<RejectCode, number>> = {};
  let messages = 0;
  let readings = 0;
  let acknowledged = 0;
  let accepted = 0;
  let duplicates = 0;
  for (const label of ledger.labels) {
    const verdict = judge(label, qos);
    label.mismatch = verdict;
    const r = (results[label.kind] ??= {
      injected: 0,
      asExpected: 0,
      expected: describeExpected(label.expected),
      mismatches: [],
    });
    r.injected++;
    if (verdict === undefined) r.asExpected++;
    else {
      r.mismatches.push(verdict);
      mismatches.push(verdict);
    }
    for (const reject of label.rejects) rejected[reject.code] = (rejected[reject.code] ?? 0) + 1;
    if (label.kind === 'wrong_secret') continue;
    messages++;
    readings += label.readingCount;
    if (label.acked) acknowledged++;
    if (label.acked && label.rejects.length === 0 && label.expected.type === 'accept') {
      if (label.kind === 'duplicate') duplicates++;
      else accepted += label.newReadings.length;
    }
  }
  for (const { deviceId, reject } of ledger.unmatched) {
    rejected[reject.code] = (rejected[reject.code] ?? 0) + 1;
    mismatches.push(`${deviceId}: reject ${reject.code} matches no message sent (${reject.message})`);
  }
  return {
    devices: meta.devices,
    window: {
      from: new Date(meta.from).toISOString(),
      to: new Date(meta.to).toISOString(),
      speed: meta.speed,
    },
    sent: { messages, readings },
    acknowledged,
    accepted,
    duplicates,
    rejected,
    results,
    mismatches,
    skipped: meta.skipped,
  };
}
