/**
 * Devices under load that behave like the real ones on a bad link: each keeps a few QoS 1
 * readings in flight, and a reading without a PUBACK (the connection closed, the gateway was
 * killed, a refusal at the held-appends cap) stays in the device's buffer and is sent again on
 * the next connection, to whatever gateway address is current. The end-to-end check of the fault
 * suites compares the readings PUBACKed here with the points in InfluxDB (DESIGN, Tests).
 */
import { expect } from '@jest/globals';
import type { MqttClient } from 'mqtt';
import type { InfluxdHandle } from './influxd.js';
import { connectDevice, waitFor } from './mqtt.js';

export interface DeviceLoadOptions {
  /** Device id → secret. */
  devices: Record<string, string>;
  inFlightPerDevice?: number;
  /** Stop making new readings after this many (in total). Default: no limit. */
  maxReadings?: number;
  /** Reading timestamps start here, 1 ms apart (each reading its own InfluxDB point). */
  t0?: number;
}

export class DeviceLoad {
  /** `device|ts` of every reading sent at least once. */
  readonly sent = new Set<string>();
  /** `device|ts` of every reading that got its PUBACK. */
  readonly acked = new Set<string>();
  /** Publishes whose connection ended before the PUBACK (the reading went back to the buffer). */
  failedPublishes = 0;
  private url: string | undefined;
  private generating = true;
  private stopped = false;
  private next = 0;
  private readonly t0: number;
  private readonly retry = new Map<string, number[]>();
  private readonly clients = new Set<MqttClient>();
  private loops: Promise<void>[] = [];

  constructor(private readonly options: DeviceLoadOptions) {
    this.t0 = options.t0 ?? Date.now() - 3_600_000;
  }

  /** Starts (or, after a gateway restart, redirects) every device to `url`. */
  start(url: string): void {
    this.url = url;
    if (this.loops.length > 0) return;
    for (const id of Object.keys(this.options.devices)) {
      this.retry.set(id, []);
      this.loops.push(this.runDevice(id));
    }
  }

  /** Readings sent but not acknowledged (yet). */
  get unacked(): number {
    return this.sent.size - this.acked.size;
  }

  /** Readings made so far (sent at least once). */
  get made(): number {
    return this.next;
  }

  /** No new readings from now on; buffered ones are still sent until acknowledged. */
  stopGenerating(): void {
    this.generating = false;
  }

  /** New readings again after `stopGenerating`. */
  resumeGenerating(): void {
    this.generating = true;
  }

  /** Drops every connection at once (the gateway is gone): in-flight readings go back to the buffers. */
  async dropConnections(): Promise<void> {
    await Promise.all([...this.clients].map((c) => c.endAsync(true)));
  }

  /** Ends every device; what is unacknowledged stays unacknowledged. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.dropConnections();
    await Promise.all(this.loops);
  }

  private async runDevice(id: string): Promise<void> {
    const secret = this.options.devices[id]!;
    while (!this.stopped) {
      let client: MqttClient;
      try {
        client = await connectDevice(this.url!, id, secret, { connectTimeout: 2000 });
      } catch {
        // The gateway is down or restarting: a device retries after a pause.
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      this.clients.add(client);
      // With reconnectPeriod 0 MQTT.js fails the unanswered publishes only when ended.
      client.once('close', () => void client.endAsync(true));
      const lanes = Array.from({ length: this.options.inFlightPerDevice ?? 8 }, () => this.lane(client, id));
      await Promise.all(lanes);
      await client.endAsync(true);
      this.clients.delete(client);
      // A refused or cut connection: pause before the next one, as a device's reconnect delay does.
      if (!this.stopped) await new Promise((r) => setTimeout(r, 50));
    }
  }

  private async lane(client: MqttClient, id: string): Promise<void> {
    const buffer = this.retry.get(id)!;
    while (!this.stopped && client.connected) {
      let ts = buffer.shift();
      if (ts === undefined) {
        if (!this.generating || this.next >= (this.options.maxReadings ?? Infinity)) {
          // Nothing to send now; another lane may put a reading back into the buffer.
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        ts = this.t0 + this.next++;
      }
      const key = `${id}|${ts}`;
      this.sent.add(key);
      const payload = JSON.stringify({ ts, values: { flow_l_s: ts % 100, totaliser_m3: ts - this.t0 } });
      try {
        await client.publishAsync(`sensors/${id}/readings`, payload, { qos: 1 });
        this.acked.add(key);
      } catch {
        buffer.push(ts);
        this.failedPublishes++;
        return;
      }
    }
  }
}

/** What InfluxDB holds of the load: `device|ts` per point, and InfluxQL's own COUNT. */
export async function pointsInInflux(
  influx: InfluxdHandle,
  db: string,
): Promise<{ keys: string[]; count: number }> {
  const rows = await influx.query(db, 'SELECT flow_l_s, device FROM water_flow');
  const counted = await influx.query(db, 'SELECT COUNT(flow_l_s) FROM water_flow');
  return {
    keys: rows.map((r) => `${String(r.device)}|${Number(r.time)}`),
    count: counted.length === 0 ? 0 : Number(counted[0]!.count),
  };
}

/**
 * The fault suites' end check: once every reading is acknowledged and InfluxDB holds as many
 * points, the PUBACKed set equals the sent set and the set in InfluxDB, and InfluxQL's COUNT
 * equals the distinct points (no reading twice). Call after `stopGenerating()`.
 */
export async function expectAckedOnceInInflux(
  load: DeviceLoad,
  influx: InfluxdHandle,
  db: string,
): Promise<void> {
  await waitFor(() => load.unacked === 0, 30_000, 'every reading acknowledged');
  await waitFor(
    async () => (await pointsInInflux(influx, db)).count >= load.acked.size,
    30_000,
    'every acknowledged reading in InfluxDB',
  );
  const { keys, count } = await pointsInInflux(influx, db);
  expect(new Set(keys).size).toBe(keys.length);
  expect(count).toBe(keys.length);
  expect(new Set(keys)).toEqual(load.acked);
  expect(load.acked).toEqual(load.sent);
}
