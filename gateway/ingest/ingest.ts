/**
 * The ingest pipeline, called by the broker's authorizePublish for every `readings` publish:
 * decode → validate each element → plausibility → dedupe → enrich → outbox append (group fsync)
 * → resolve. The broker sends the PUBACK only when the returned promise resolves, so an
 * acknowledged reading is on disk. Rejects get a dead-letter record (fsynced before the ack) and
 * a message on `sensors/{id}/rejects`.
 */
import {
  type Bus,
  type DeadLetterRecord,
  DEADLETTER_VERSION,
  getKind,
  type NormalizedReading,
  type RejectCode,
  type RejectMessage,
  topics,
} from '../../contract/index.js';
import type { RegistryIndex } from '../../config/registry-schema.js';
import { LogBudget } from '../log-budget.js';
import type { Logger } from '../logger.js';
import type { Clock, DeadLetterLog, Outbox, SignalSource } from '../types.js';
import { decodePayload } from './decode.js';
import { RecentReadings } from './dedupe.js';
import { CounterTracker, checkPlausibility } from './plausibility.js';
import { type ValidReading, validateReading } from './validate.js';

export type PublishFn = (
  topic: string,
  payload: string | Buffer,
  opts: { qos: 0 | 1; retain: boolean },
) => Promise<void>;

export interface IngestSettings {
  maxReadingsPerMessage: number;
  futureSkewMs: number;
  lateWindowMs: number;
  dedupeWindow: number;
}

export interface IngestDeps {
  registry: () => RegistryIndex;
  outbox: Outbox;
  deadLetter: DeadLetterLog;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  settings: IngestSettings;
  publish: PublishFn;
}

export interface IngestOutcome {
  accepted: number;
  duplicates: number;
  rejects: RejectMessage[];
}

export interface IngestCounts {
  messages: number;
  accepted: number;
  duplicates: number;
  rejected: Partial<Record<RejectCode, number>>;
  deadLetterDropped: number;
}

/** Reject messages published per incoming message (the dead-letter log keeps every one). */
export const MAX_REJECT_MESSAGES = 100;

/** Rejects are logged at info at most once per device per minute; every one at debug. */
const REJECT_LOG_INTERVAL_MS = 60_000;

/** The element's JSON as base64, or undefined when it cannot be serialised (nested too deep). */
function elementBase64(element: unknown): string | undefined {
  try {
    return Buffer.from(JSON.stringify(element)).toString('base64');
  } catch {
    return undefined;
  }
}

export class UnknownDeviceError extends Error {
  readonly code = 'E_UNKNOWN_DEVICE';
}

export class Ingest {
  private readonly recent: RecentReadings;
  private readonly counters = new CounterTracker();
  private readonly log: Logger;
  private readonly rejectLogBudget: LogBudget;
  private readonly publishFailureBudget: LogBudget;
  readonly counts: IngestCounts = {
    messages: 0,
    accepted: 0,
    duplicates: 0,
    rejected: {},
    deadLetterDropped: 0,
  };

  constructor(private readonly deps: IngestDeps) {
    this.recent = new RecentReadings(deps.settings.dedupeWindow);
    this.log = deps.logger.child({ module: 'ingest' });
    this.rejectLogBudget = new LogBudget(deps.clock, REJECT_LOG_INTERVAL_MS);
    this.publishFailureBudget = new LogBudget(deps.clock, REJECT_LOG_INTERVAL_MS);
  }

  /** A revoked or re-kinded device starts from a clean slate. */
  forgetDevice(deviceId: string): void {
    this.recent.forget(deviceId);
    this.counters.forget(deviceId);
  }

  async ingest(
    deviceId: string,
    payload: Buffer,
    options: {
      lateWindowWaived?: boolean;
      signal?: SignalSource;
      /**
       * An operator's dead-letter replay (gateway/deadletter-replay.ts): a reject is answered to
       * the operator only. It has its record already, the device did not send anything, and the
       * data-quality figures count what devices send.
       */
      replay?: boolean;
    } = {},
  ): Promise<IngestOutcome> {
    const { deps } = this;
    const receivedAt = deps.clock.now();
    const resolved = deps.registry().devices.get(deviceId);
    const kind = resolved && getKind(resolved.device.kind);
    if (!resolved || !kind) throw new UnknownDeviceError(`device ${deviceId} is not in the registry`);
    this.counts.messages++;

    const rejects: { message: RejectMessage; element?: unknown }[] = [];
    const candidates: { reading: ValidReading; index: number }[] = [];
    const decoded = decodePayload(payload, deps.settings.maxReadingsPerMessage);
    if (!decoded.ok) {
      rejects.push({ message: { code: decoded.code, message: decoded.message, receivedAt } });
    } else {
      const window = {
        now: receivedAt,
        futureSkewMs: deps.settings.futureSkewMs,
        lateWindowMs: options.lateWindowWaived ? Number.MAX_SAFE_INTEGER : deps.settings.lateWindowMs,
      };
      decoded.elements.forEach((element, index) => {
        const at = decoded.isArray ? { index } : {};
        const result = validateReading(element, kind, window);
        if (!result.ok) {
          const { ok: _ok, ...problem } = result;
          rejects.push({ message: { ...problem, ...at, receivedAt }, element });
          return;
        }
        const implausible = checkPlausibility(result.reading, kind, resolved.site);
        if (implausible) rejects.push({ message: { ...implausible, ...at, receivedAt }, element });
        else candidates.push({ reading: result.reading, index });
      });
    }

    // Dedupe, including repeats inside this very message.
    const waits: Promise<unknown>[] = [];
    const fresh: ValidReading[] = [];
    // Only a backlog array can repeat itself; a single reading needs no set.
    const inMessage = candidates.length > 1 ? new Set<number>() : undefined;
    let duplicates = 0;
    for (const { reading } of candidates) {
      const earlier = this.recent.get(deviceId, kind.id, reading.ts);
      if (earlier || inMessage?.has(reading.ts) === true) {
        duplicates++;
        if (earlier) waits.push(earlier);
        continue;
      }
      inMessage?.add(reading.ts);
      fresh.push(reading);
    }

    const flags = this.counters.track(deviceId, kind, fresh);
    const normalized: NormalizedReading[] = fresh.map((r, i) => {
      // Literals rather than conditional spreads (a temporary object each, per reading); the keys
      // stay in the schema's order, which the outbox's read-back fast path expects.
      const { corridor } = resolved;
      const municipality = resolved.municipality.id;
      const site = resolved.site.id;
      const { ts, seq, values } = r;
      const n: NormalizedReading =
        seq === undefined
          ? { deviceId, kind: kind.id, corridor, municipality, site, ts, values, receivedAt }
          : { deviceId, kind: kind.id, corridor, municipality, site, ts, seq, values, receivedAt };
      const flagged = flags[i];
      if (flagged) n.flags = flagged;
      return n;
    });

    // Dead-letter records are built before anything is appended: nothing below may throw between
    // making accepted readings durable and answering the device.
    const readingsTopic = topics.readings(deviceId);
    const records = rejects.map(({ message, element }): DeadLetterRecord => ({
      v: DEADLETTER_VERSION,
      reject: message,
      device: deviceId,
      topic: readingsTopic,
      stage: 'ingest',
      // An element of a backlog array is kept on its own (replayable alone); a message that
      // could not be split keeps its raw bytes.
      payload:
        (element !== undefined && decoded.ok && decoded.isArray && elementBase64(element)) ||
        payload.toString('base64'),
    }));

    if (normalized.length > 0) {
      const durable = deps.outbox.append(normalized, { signal: options.signal });
      const timestamps = normalized.map((r) => r.ts);
      this.recent.remember(deviceId, kind.id, timestamps, durable);
      durable.catch(() => this.recent.forgetIf(deviceId, kind.id, timestamps, durable));
      waits.push(durable);
    }
    let deadLetter: Promise<{ written: number; dropped: number }> | undefined;
    if (records.length > 0 && options.replay !== true) {
      deadLetter = deps.deadLetter.append(records);
      waits.push(deadLetter);
    }
    if (waits.length === 1) await waits[0];
    else if (waits.length > 1) await Promise.all(waits);
    const dlResult = deadLetter ? await deadLetter : undefined;

    this.counts.accepted += normalized.length;
    this.counts.duplicates += duplicates;
    if (dlResult && dlResult.dropped > 0) this.counts.deadLetterDropped += dlResult.dropped;
    if (normalized.length > 0) deps.bus.emit('readings.accepted', { deviceId, readings: normalized });
    if (duplicates > 0) deps.bus.emit('readings.duplicate', { deviceId, count: duplicates });
    const messages = rejects.map((r) => r.message);
    if (messages.length > 0 && options.replay !== true) {
      for (const m of messages) this.counts.rejected[m.code] = (this.counts.rejected[m.code] ?? 0) + 1;
      deps.bus.emit('readings.rejected', { deviceId, rejects: messages });
      this.logRejects(deviceId, messages);
      this.sendRejects(deviceId, messages);
    }
    return { accepted: normalized.length, duplicates, rejects: messages };
  }

  /**
   * Every rejecting message at debug; at info, one line per device per minute (a device looping on
   * bad readings must not write the log at its own rate), saying how many lines were left out.
   */
  private logRejects(deviceId: string, messages: RejectMessage[]): void {
    const codes = [...new Set(messages.map((m) => m.code))];
    const fields = {
      deviceId,
      code: messages[0]!.code,
      codes,
      rejects: messages.length,
      // The rejects topic carries the first ones; the dead-letter log has them all.
      published: Math.min(messages.length, MAX_REJECT_MESSAGES),
    };
    const suppressed = this.rejectLogBudget.take(deviceId);
    if (suppressed === undefined) this.log.debug(fields, 'readings rejected');
    else
      this.log.info(
        { ...fields, linesLeftOut: suppressed },
        'readings rejected (logged at most once per device per minute; every reject is counted and in the dead-letter log)',
      );
  }

  private sendRejects(deviceId: string, messages: RejectMessage[]): void {
    const topic = topics.rejects(deviceId);
    // One message per refused reading, but a 5,000-element backlog of bad readings must not
    // become 5,000 publishes: the first ones tell the integrator what is wrong, the dead-letter
    // log has them all.
    for (const message of messages.slice(0, MAX_REJECT_MESSAGES)) {
      this.deps.publish(topic, JSON.stringify(message), { qos: 1, retain: false }).catch((error: unknown) => {
        const suppressed = this.publishFailureBudget.take(deviceId);
        if (suppressed !== undefined)
          this.log.warn(
            { deviceId, code: message.code, err: error, linesLeftOut: suppressed },
            'could not publish a reject message',
          );
      });
    }
  }
}
