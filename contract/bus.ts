/** Event types of the in-process bus. Pure types: the bus itself lives with the composition root. */
import type { Alert } from './alert.js';
import type { RejectCode } from './codes.js';
import type { NormalizedReading } from './reading.js';
import type { RejectMessage } from './reject.js';

export interface BusEvents {
  /** Readings made durable (fsynced) by one ingest call, in the order received. */
  'readings.accepted': { deviceId: string; readings: NormalizedReading[] };
  'readings.duplicate': { deviceId: string; count: number };
  'readings.rejected': { deviceId: string; rejects: RejectMessage[] };
  'device.presence': { deviceId: string; state: 'online' | 'offline'; at: number; reason: string };
  'device.status': { deviceId: string; status: string; at: number };
  'connection.refused': { clientId: string; address: string; reason: string; at: number };
  alert: Alert;
  'registry.reloaded': { devices: number; at: number };
}

export type BusEventName = keyof BusEvents;
export type { RejectCode };
