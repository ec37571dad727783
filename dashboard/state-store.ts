/**
 * The dashboard's state across gateway restarts, in `<data-dir>/dashboard/state.json`.
 *
 * Why: "volume today" and "energy today" come from totalisers, whose day total needs the reading
 * the day started from; the last hour's counts and the sparklines need what came before. A
 * restart used to start them empty, so after it the page undercounted the day until midnight.
 *
 * How: the engine's state (everything but presence and alerts, which a restart resets anyway) is
 * saved every `SAVE_INTERVAL_MS` and at shutdown, by writing a temporary file and renaming it.
 * At start it is read back, and then the readings the outbox still holds that arrived after it
 * was saved are replayed (DashboardAggregator.replay). With a sink the outbox keeps only what
 * InfluxDB has not confirmed yet; after a crash (SIGKILL, power loss) the readings of the last
 * interval that were already sent are missing from the sparklines and the last hour's counts,
 * while the day totals stay right: a totaliser's next reading carries the whole increment.
 *
 * The file is a cache, never a source of truth: a missing, torn or foreign file is logged and
 * ignored, and the page then says since when it counts (`countedSince`). Its size is about the
 * engine's memory (docs/decisions.md): some 10-15 KB per device as JSON.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { normalizedReadingSchema, REJECT_CODES } from '../contract/index.js';
import type { SavedDashboard } from './aggregate/engine.js';
import type { Logger } from '../gateway/logger.js';

export const STATE_VERSION = 1;
/** How often the state is saved while running (and once more at shutdown). */
export const SAVE_INTERVAL_MS = 60_000;

const num = z.number().finite();
const point = z.object({ ts: num, sum: num });
const day = z.object({
  start: num,
  blindStart: z.boolean().optional(),
  base: point,
  last: point,
  profile: z.array(num.nullable()).nullable(),
});
const counts = z.object({
  accepted: z.number().int().nonnegative(),
  duplicate: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
});
const record = z.object({
  kind: z.string(),
  latest: z.array(z.tuple([z.string(), z.object({ value: num, ts: num })])),
  series: z.array(z.tuple([z.string(), z.array(z.tuple([num, num]))])),
  counters: z.array(
    z.tuple([
      z.string(),
      z.object({ last: point.nullable(), lastRaw: num, today: day.nullable(), yesterday: day.nullable() }),
    ]),
  ),
  buckets: z.array(
    counts.extend({
      minute: z.number().int(),
      codes: z.record(z.string(), z.number().int().nonnegative()),
    }),
  ),
  totals: counts,
  lastReading: normalizedReadingSchema.nullable(),
  lastReject: z
    .object({ code: z.enum(REJECT_CODES), message: z.string(), path: z.string().nullable(), at: num })
    .nullable(),
  lastSeen: num.nullable(),
});
const fileSchema = z.object({
  version: z.literal(STATE_VERSION),
  savedAt: num,
  countedSince: num,
  devices: z.array(z.tuple([z.string(), record])),
});

export class DashboardStateStore {
  private readonly dir: string;
  private readonly log: Logger;

  constructor(dataDir: string, logger: Logger) {
    this.dir = join(dataDir, 'dashboard');
    this.log = logger.child({ module: 'dashboard-state' });
  }

  get path(): string {
    return join(this.dir, 'state.json');
  }

  /** The saved state, or undefined (none yet, or unusable: logged, never thrown). */
  async load(): Promise<SavedDashboard | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn({ err: error, path: this.path }, 'dashboard state unreadable; counting starts now');
      return undefined;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.log.warn({ path: this.path }, 'dashboard state is not JSON (torn write?); counting starts now');
      return undefined;
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.log.warn(
        { path: this.path, at: issue?.path.join('.'), problem: issue?.message },
        'dashboard state does not match this version; counting starts now',
      );
      return undefined;
    }
    const { version: _version, ...state } = parsed.data;
    return state;
  }

  /** Writes the state atomically (temporary file, then rename). Rejects on I/O errors. */
  async save(state: SavedDashboard): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const tmp = `${this.path}.tmp`;
    await writeFile(tmp, stateJson(state));
    await rename(tmp, this.path);
  }
}

/**
 * The file's text, the same as one `JSON.stringify`, made a few hundred devices at a time with a
 * turn of the event loop between. One stringify of the whole state (10-15 KB per device) held the
 * event loop for tens of milliseconds per thousand devices, once a minute, and every PUBACK and
 * dashboard push waited behind it (docs/decisions.md). The state itself is a copy taken at one
 * instant (engine.save), so what changes meanwhile is not in it: `savedAt` stays exact.
 */
export async function* stateJson(state: SavedDashboard, devicesPerChunk = 200): AsyncGenerator<string> {
  const { devices, ...head } = state;
  // `{"version":1,"savedAt":…,"countedSince":…` and the devices after it: the key order of the
  // single stringify this replaces.
  yield `${JSON.stringify({ version: STATE_VERSION, ...head }).slice(0, -1)},"devices":[`;
  for (let i = 0; i < devices.length; i += devicesPerChunk) {
    if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const part = devices
      .slice(i, i + devicesPerChunk)
      .map((device) => JSON.stringify(device))
      .join(',');
    yield i > 0 ? `,${part}` : part;
  }
  yield ']}';
}

/** Saves the state every `SAVE_INTERVAL_MS` and once at stop; one save at a time, failures logged. */
export class PeriodicStateSave {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: DashboardStateStore,
    private readonly state: () => SavedDashboard,
    private readonly log: Logger,
    private readonly intervalMs = SAVE_INTERVAL_MS,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.saveNow(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and writes the final state (after the broker stopped: nothing changes it). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.saveNow();
  }

  saveNow(): Promise<void> {
    this.running = this.running.then(async () => {
      try {
        await this.store.save(this.state());
      } catch (error) {
        // A cache: the next save tries again; the page says since when it counts if it is lost.
        this.log.warn({ err: error, path: this.store.path }, 'could not save the dashboard state');
      }
    });
    return this.running;
  }
}
