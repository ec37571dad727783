/** The sink for the configured InfluxDB API, or none in local-only mode (the outbox is the store). */
import type { SinkConfig } from '../../config/settings.js';
import type { Sink } from '../types.js';
import type { InfluxSinkOptions, PingResult } from './http.js';
import { InfluxV1Sink } from './influx-v1.js';
import { InfluxV2Sink } from './influx-v2.js';

export type { InfluxSinkOptions, PingResult } from './http.js';
export { InfluxV1Sink } from './influx-v1.js';
export { InfluxV2Sink } from './influx-v2.js';

/** Both InfluxDB sinks also answer a ping, for /readyz and the start-up log. */
export interface InfluxSink extends Sink {
  /** `signal` abandons the ping (shutdown right after start). */
  ping(signal?: AbortSignal): Promise<PingResult>;
}

export function createSink(config: SinkConfig, opts: InfluxSinkOptions): InfluxSink | undefined {
  switch (config.mode) {
    case 'local-only':
      return undefined;
    case 'v1':
      return new InfluxV1Sink(config, opts);
    case 'v2':
      return new InfluxV2Sink(config, opts);
  }
}
