/** Messages between the bench and its load-generator processes (publishers, dashboard viewers). */

export interface DeviceSpec {
  id: string;
  /** Absent for the bare brokers (no authentication). */
  secret?: string;
}

export interface PublishJob {
  url: string;
  devices: DeviceSpec[];
  qos: 0 | 1;
  mode: 'window' | 'rate' | 'interval';
  /** window: messages in flight per device. */
  inflightPerDevice: number;
  /** rate: messages per second over all of this process's devices. */
  ratePerSecond: number;
  /** interval: one message per device this often. */
  intervalMs: number;
  /** CONNECTs in flight at once. */
  connectConcurrency: number;
  /** `now`: reading time = send time (latency to InfluxDB); `past`: an hour ago, counting up. */
  tsMode: 'now' | 'past';
  /** The process exits after this long whatever happens. */
  maxLifetimeMs: number;
}

export interface PublisherReport {
  sent: number;
  acked: number;
  failed: number;
  elapsedMs: number;
  /** CPU time the publisher process used while publishing. */
  cpuMs: number;
  /** LatencyHistogram entries: PUBACK latency of every QoS 1 message. */
  latency: [number, number][];
  /** The publisher process's own event-loop delay p99 during the window. */
  lagP99Ms: number;
}

export type ParentMessage =
  | { type: 'job'; job: PublishJob }
  /** `ratePerSecond` (rate mode): this window's rate for this process, instead of the job's. */
  | { type: 'go'; durationMs: number; ratePerSecond?: number }
  /** Ends the current window now (what is in flight still completes). */
  | { type: 'stop' }
  | { type: 'close' };

export type ChildMessage =
  | { type: 'connected'; connectMs: number }
  | { type: 'done'; report: PublisherReport }
  | { type: 'error'; error: string };
