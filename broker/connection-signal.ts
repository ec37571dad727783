/**
 * One AbortSignal per MQTT connection, aborted when the connection closes (Aedes's keepalive
 * timeout, a takeover by a new connection of the same client id, a socket error, a registry
 * revocation, shutdown). Ingest passes it to the outbox, so readings held at the outbox cap
 * (gateway/backpressure.ts) are dropped when nobody is left to acknowledge them, instead of
 * staying in memory until InfluxDB drains while the device reconnects and sends them again.
 *
 * Keyed by the Aedes client: the first call for a client subscribes to its stream's `close`, every
 * later call returns the same signal. The broker hands ingest a function that calls this, so the
 * signal is made only for a connection whose reading is held (gateway/types.ts, SignalSource);
 * a client already closed by then gets a signal already aborted. Aedes destroys the stream whenever it closes a client, and a
 * destroyed stream always emits `close`.
 */
import { setMaxListeners } from 'node:events';
import type { Client } from 'aedes';

/** The abort reason of a connection's signal. */
export class ConnectionClosedError extends Error {
  readonly code = 'E_CONNECTION_CLOSED';
  constructor() {
    super('the MQTT connection closed');
  }
}

const controllers = new WeakMap<object, AbortController>();

export function connectionSignal(client: Pick<Client, 'closed' | 'conn'>): AbortSignal {
  let controller = controllers.get(client);
  if (controller === undefined) {
    const created = new AbortController();
    controller = created;
    controllers.set(client, created);
    // Every held append of the connection listens to it; their number is bounded by the held
    // appends' own cap (VALLEY_HELD_MAX), so Node's leak warning at 11 would only be noise.
    setMaxListeners(0, created.signal);
    const abort = (): void => created.abort(new ConnectionClosedError());
    if (client.closed || client.conn.destroyed) abort();
    else client.conn.once('close', abort);
  }
  return controller.signal;
}
