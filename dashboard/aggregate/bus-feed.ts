/**
 * Wires an aggregator to the bus: one listener per event, each passing the clock's value. Kept
 * here so the server does not have to know which event feeds which method. Returns the function
 * that removes the listeners (call it in the dashboard's `stop()`).
 */
import type { Bus } from '../../contract/index.js';
import type { DashboardAggregator } from './engine.js';

export function feedFromBus(
  bus: Pick<Bus, 'on'>,
  aggregator: DashboardAggregator,
  now: () => number,
): () => void {
  const off = [
    bus.on('readings.accepted', (e) => aggregator.onAccepted(e, now())),
    bus.on('readings.duplicate', (e) => aggregator.onDuplicate(e, now())),
    bus.on('readings.rejected', (e) => aggregator.onRejected(e, now())),
    bus.on('device.presence', (e) => aggregator.onPresence(e)),
    bus.on('device.status', (e) => aggregator.onStatus(e)),
    bus.on('alert', (a) => aggregator.onAlert(a)),
  ];
  return () => off.forEach((f) => f());
}
