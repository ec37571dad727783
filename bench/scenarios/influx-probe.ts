/**
 * Reading → InfluxDB latency: a probe device (in the bench process, not the gateway) publishes a
 * reading stamped with its send time every `everyMs`; a poller asks InfluxDB which of them have
 * landed. The poll period (25 ms) is the resolution of the figure.
 */
import type { MqttClient } from 'mqtt';
import { connectDevice } from '../../test/support/mqtt.js';
import type { InfluxdHandle } from '../../test/support/influxd.js';
import { readingPayload } from '../load/publisher.js';

const POLL_MS = 25;
const LAND_TIMEOUT_MS = 15_000;

export const PROBE_DEVICE = 'bench-probe';

export class InfluxProbe {
  private client: MqttClient | undefined;
  private readonly outstanding = new Map<number, number>();
  private readonly latencies: number[] = [];
  private lastTs = 0;
  private sender: NodeJS.Timeout | undefined;
  private poller: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly influxd: InfluxdHandle,
    private readonly db: string,
    private readonly mqttUrl: string,
    private readonly secret: string,
    private readonly everyMs = 250,
  ) {}

  async start(): Promise<void> {
    this.client = await connectDevice(this.mqttUrl, PROBE_DEVICE, this.secret);
    this.sender = setInterval(() => this.send(), this.everyMs);
    this.poller = setInterval(() => void this.poll(), POLL_MS);
  }

  /** Stops sending, waits for the outstanding probes, returns the latencies (ms) and how many never landed. */
  async stop(): Promise<{ latencies: number[]; lost: number }> {
    clearInterval(this.sender);
    const deadline = Date.now() + LAND_TIMEOUT_MS;
    while (this.outstanding.size > 0 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, POLL_MS));
    clearInterval(this.poller);
    while (this.polling) await new Promise((r) => setTimeout(r, POLL_MS));
    await this.client?.endAsync();
    const lost = this.outstanding.size;
    this.outstanding.clear();
    return { latencies: this.latencies.splice(0), lost };
  }

  private send(): void {
    const ts = (this.lastTs = Math.max(this.lastTs + 1, Date.now()));
    this.outstanding.set(ts, Date.now());
    this.client?.publish(`sensors/${PROBE_DEVICE}/readings`, readingPayload(ts), { qos: 1 });
  }

  private async poll(): Promise<void> {
    if (this.polling || this.outstanding.size === 0) return;
    this.polling = true;
    try {
      const oldest = Math.min(...this.outstanding.keys());
      const rows = await this.influxd.query(
        this.db,
        `SELECT pressure_bar FROM water_pressure WHERE device = '${PROBE_DEVICE}' AND time >= ${oldest}ms`,
      );
      const now = Date.now();
      for (const row of rows) {
        const sentAt = this.outstanding.get(Number(row.time));
        if (sentAt === undefined) continue;
        this.latencies.push(now - sentAt);
        this.outstanding.delete(Number(row.time));
      }
    } catch {
      // InfluxDB busy or stopped: the next poll asks again
    } finally {
      this.polling = false;
    }
  }
}
