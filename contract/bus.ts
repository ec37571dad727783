/** Event types of the in-process bus. Pure types: the bus itself lives with the composition root. */
import type { Alert } from './alert.js';

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

type Listener<E extends BusEventName> = (event: BusEvents[E]) => void;

/**
 * The typed in-process bus. A listener that throws is reported through `onListenerError` and the
 * others still run (zigbee2mqtt's rule): a dashboard bug must not stop ingest.
 */
export class Bus {
  private readonly listeners = new Map<BusEventName, Set<Listener<never>>>();

  constructor(private readonly onListenerError: (event: BusEventName, error: unknown) => void = () => {}) {}

  on<E extends BusEventName>(event: E, listener: Listener<E>): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<E extends BusEventName>(event: E, payload: BusEvents[E]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of set) {
      try {
        (listener as Listener<E>)(payload);
      } catch (error) {
        this.onListenerError(event, error);
      }
    }
  }

  listenerCount(event: BusEventName): number {
    return this.listeners.get(event)?.size ?? 0;
  }
}
