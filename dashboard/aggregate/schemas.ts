/**
 * The snapshots the dashboard pushes, one per room, as zod schemas: the server's types come from
 * here and the client validates what it receives with the same schemas. Plain JSON only (numbers,
 * strings, booleans, null, arrays, objects); times are epoch ms; "no data" is null, never 0.
 * Live updates are whole room snapshots (absolute values), so a dropped update is repaired by the
 * next one.
 */
import { z } from 'zod';
import { alertSchema, REJECT_CODES } from '../../contract/index.js';

const ms = z.number();
const count = z.number().int().nonnegative();

/**
 * One figure on a card. `value` and `asOf` are null together ("no data"). For an aggregate,
 * `asOf` is the oldest of the contributing readings, `devices` how many contributed, `expected`
 * how many could have, and `stale` says a contributor is stale or offline (its value is old).
 */
export const figureSchema = z.object({
  value: z.number().nullable(),
  asOf: ms.nullable(),
  devices: count,
  expected: count,
  stale: z.boolean(),
  /**
   * Day figures only: the gateway has counted since this instant, after the day began (see the
   * snapshot's `countedSince`), so the figure covers part of the day. Absent when it is complete.
   */
  countedSince: ms.optional(),
});
export type Figure = z.infer<typeof figureSchema>;

export const MAP_STATES = ['ok', 'alert', 'offline', 'stale', 'nodata'] as const;
export const mapStateSchema = z.enum(MAP_STATES);
export type MapState = z.infer<typeof mapStateSchema>;

const place = { site: z.string(), siteName: z.string() };
const deviceRef = { deviceId: z.string(), ...place };

const breachSchema = z.object({
  metric: z.enum(['free_chlorine_mg_l', 'turbidity_ntu', 'ph']),
  bound: z.enum(['low', 'high']),
  value: z.number(),
  limit: z.number(),
});

export const QUALITY_STATUSES = ['ok', 'breach', 'nodata'] as const;
const qualityStatus = z.enum(QUALITY_STATUSES);

export const waterCardSchema = z.object({
  corridor: z.literal('water'),
  municipality: z.string(),
  totalFlow_l_s: figureSchema,
  volumeToday_m3: figureSchema,
  lowestPressure_bar: figureSchema.extend({ deviceId: z.string().nullable() }),
  reservoirs: z.array(
    z.object({
      ...deviceRef,
      level_pct: figureSchema,
      level_m: figureSchema,
      volume_m3: z.number().nullable(),
    }),
  ),
  quality: z.object({
    status: qualityStatus,
    asOf: ms.nullable(),
    probes: z.array(
      z.object({
        ...deviceRef,
        status: qualityStatus,
        asOf: ms.nullable(),
        stale: z.boolean(),
        free_chlorine_mg_l: z.number().nullable(),
        turbidity_ntu: z.number().nullable(),
        ph: z.number().nullable(),
        breaches: z.array(breachSchema),
      }),
    ),
  }),
});

export const energyCardSchema = z.object({
  corridor: z.literal('energy'),
  municipality: z.string(),
  totalPower_kw: figureSchema,
  energyToday_kwh: figureSchema,
  /** The same meters from yesterday's midnight to the same clock time yesterday. */
  energyYesterdaySameTime_kwh: figureSchema,
  buildings: z.array(
    z.object({
      ...place,
      floorArea_m2: z.number().nullable(),
      power_kw: figureSchema,
      thermalPower_kw: figureSchema,
      energyToday_kwh: figureSchema,
      energyYesterdaySameTime_kwh: figureSchema,
      indoorTemperature_c: figureSchema,
    }),
  ),
  outdoorTemperature_c: figureSchema.extend({ deviceId: z.string().nullable() }),
});

export const mobilityCardSchema = z.object({
  corridor: z.literal('mobility'),
  municipality: z.string(),
  carParks: z.array(
    z.object({
      ...deviceRef,
      capacity: count,
      occupied: figureSchema,
      occupancy_pct: figureSchema,
      freeSpaces: figureSchema,
    }),
  ),
  /** Over the car parks with data: occupied / their capacity. */
  occupancy_pct: figureSchema,
  freeSpaces: figureSchema,
  counters: z.array(z.object({ ...deviceRef, vehiclesPerHour: figureSchema, meanSpeed_km_h: figureSchema })),
  chargers: z.array(z.object({ ...deviceRef, connectors: count, connectorsInUse: figureSchema })),
  /** Connectors in use, and the connectors of the chargers that reported (unknown ones are not "free"). */
  connectorsInUse: figureSchema,
  connectorsAvailable: figureSchema,
});

export const cardSchema = z.discriminatedUnion('corridor', [
  waterCardSchema,
  energyCardSchema,
  mobilityCardSchema,
]);
export type WaterCard = z.infer<typeof waterCardSchema>;
export type EnergyCard = z.infer<typeof energyCardSchema>;
export type MobilityCard = z.infer<typeof mobilityCardSchema>;
export type Card = z.infer<typeof cardSchema>;

export const deviceSummarySchema = z.object({
  id: z.string(),
  kind: z.string(),
  corridor: z.string(),
  municipality: z.string(),
  ...place,
  lat: z.number(),
  lon: z.number(),
  state: mapStateSchema,
  lastSeen: ms.nullable(),
  lastReadingTs: ms.nullable(),
});
export type DeviceSummary = z.infer<typeof deviceSummarySchema>;

const named = z.object({ id: z.string(), name: z.string() });
const stateCounts = z.object(
  Object.fromEntries(MAP_STATES.map((s) => [s, count])) as Record<MapState, typeof count>,
);

export const overviewSchema = z.object({
  municipalities: z.array(named),
  corridors: z.array(named),
  /** One card per corridor x municipality, corridors outermost. */
  cards: z.array(cardSchema),
  states: stateCounts,
  alerts: z.array(alertSchema),
});

export const corridorSchema = z.object({
  corridor: named,
  municipalities: z.array(named),
  cards: z.array(cardSchema),
  devices: z.array(deviceSummarySchema),
});

export const municipalitySchema = z.object({
  municipality: named,
  corridors: z.array(named),
  cards: z.array(cardSchema),
  devices: z.array(deviceSummarySchema),
});

export const mapSchema = z.object({ devices: z.array(deviceSummarySchema), states: stateCounts });

const rejectCode = z.enum(REJECT_CODES);
const lastRejectSchema = z.object({
  code: rejectCode,
  message: z.string(),
  path: z.string().nullable(),
  at: ms,
});
const windowCountsSchema = z.object({
  accepted: count,
  duplicate: count,
  rejected: count,
  codes: z.partialRecord(rejectCode, count),
});
const totalsSchema = z.object({ accepted: count, duplicate: count, rejected: count });

export const deviceSchema = z.object({
  device: deviceSummarySchema.extend({ intervalS: z.number(), description: z.string().nullable() }),
  presence: z.object({
    connected: z.boolean(),
    session: z.enum(['online', 'offline', 'unknown']),
    sessionAt: ms.nullable(),
    sessionReason: z.string().nullable(),
    status: z.string().nullable(),
    statusAt: ms.nullable(),
  }),
  lastReading: z
    .object({
      ts: ms,
      receivedAt: ms,
      seq: count.nullable(),
      values: z.record(z.string(), z.number()),
      flags: z.array(z.string()),
    })
    .nullable(),
  metrics: z.array(
    z.object({
      metric: z.string(),
      unit: z.string(),
      value: z.number().nullable(),
      asOf: ms.nullable(),
      /** Counters: consumption of the Rome day so far (see counter-day.ts); null otherwise. */
      today: z.number().nullable(),
      /** Set when `today` may miss the day's beginning: counting began then (see `countedSince`). */
      todayCountedSince: ms.nullable(),
      /** Sparkline, oldest first: [ts, value]. */
      series: z.array(z.tuple([ms, z.number()])),
    }),
  ),
  totals: totalsSchema,
  lastHour: windowCountsSchema,
  lastReject: lastRejectSchema.nullable(),
  alerts: z.array(alertSchema),
});

export const qualitySchema = z.object({
  devices: z.array(
    z.object({
      id: z.string(),
      kind: z.string(),
      corridor: z.string(),
      municipality: z.string(),
      state: mapStateSchema,
      totals: totalsSchema,
      lastHour: windowCountsSchema,
      lastReject: lastRejectSchema.nullable(),
    }),
  ),
  lastHour: windowCountsSchema,
  /** Active system alerts (device offline, sink down, back-pressure, dead-letter full). */
  alerts: z.array(alertSchema),
});

const envelope = <T extends string, S extends z.ZodType>(type: T, data: S) =>
  z.object({
    type: z.literal(type),
    room: z.string(),
    /** The clock value the snapshot was computed at. */
    at: ms,
    /** The Europe/Rome day "today" refers to, `YYYY-MM-DD`. */
    day: z.string(),
    /**
     * Since when the counts are complete: day totals, accepted/duplicate/rejected totals and the
     * last hour count only what the gateway saw from this instant on (a first start, or a data
     * directory whose saved dashboard state was lost). A day figure of a day that began before it
     * is partial, and the page says so.
     */
    countedSince: ms,
    data,
  });

export const roomSnapshotSchema = z.discriminatedUnion('type', [
  envelope('overview', overviewSchema),
  envelope('corridor', corridorSchema),
  envelope('municipality', municipalitySchema),
  envelope('device', deviceSchema),
  envelope('map', mapSchema),
  envelope('quality', qualitySchema),
]);
export type RoomSnapshot = z.infer<typeof roomSnapshotSchema>;
export type OverviewData = z.infer<typeof overviewSchema>;
export type CorridorData = z.infer<typeof corridorSchema>;
export type MunicipalityData = z.infer<typeof municipalitySchema>;
export type DeviceData = z.infer<typeof deviceSchema>;
export type MapData = z.infer<typeof mapSchema>;
export type QualityData = z.infer<typeof qualitySchema>;
