/**
 * What `/readyz` decides, as a pure function of a status snapshot. InfluxDB down is normal
 * (DESIGN): an unreachable sink makes the gateway unready only once the backlog it leaves behind
 * passes a limit, so a short outage does not pull a healthy gateway out of a load balancer.
 */
import type { Readiness, ValleyStatus } from './status-schema.js';

export interface ReadinessLimits {
  /** settings.readyBacklogRecords (VALLEY_READY_BACKLOG). */
  backlogRecords: number;
  /** settings.readyLagMs (VALLEY_READY_LAG). */
  lagMs: number;
}

type Check = { ok: boolean; reason?: string };

const ok: Check = { ok: true };

function seconds(ms: number): string {
  return ms < 10_000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`;
}

function sinkCheck(s: ValleyStatus, limits: ReadinessLimits): Check {
  const { sink, backlog } = s;
  // 'stopped' only happens while shutting down: nothing drains any more.
  const unreachable = sink.state === 'backoff' || sink.state === 'misconfigured' || sink.state === 'stopped';
  if (!unreachable) return ok;
  const lagMs = sink.lagMs ?? 0;
  const over: string[] = [];
  if (backlog.records > limits.backlogRecords)
    over.push(`${backlog.records} readings wait (limit ${limits.backlogRecords}, VALLEY_READY_BACKLOG)`);
  if (lagMs > limits.lagMs)
    over.push(`the oldest waits for ${seconds(lagMs)} (limit ${seconds(limits.lagMs)}, VALLEY_READY_LAG)`);
  if (over.length === 0) return ok;
  const why =
    sink.state === 'misconfigured'
      ? 'InfluxDB refuses the configuration'
      : sink.state === 'stopped'
        ? 'the drainer is stopped'
        : 'InfluxDB is unreachable';
  const error = sink.lastError !== null ? ` (${sink.lastError})` : '';
  return { ok: false, reason: `${why}${error} and ${over.join(' and ')}` };
}

export function readiness(s: ValleyStatus, limits: ReadinessLimits): Readiness {
  const checks: Readiness['checks'] = {
    broker: s.broker.listening ? ok : { ok: false, reason: 'the MQTT broker is not listening' },
    outbox: ok,
  };
  if (!s.backlog.writable) {
    checks.outbox = {
      ok: false,
      reason: 'the outbox cannot write to disk: readings are not acknowledged until it can',
    };
  } else if (s.backlog.holding) {
    checks.outbox = {
      ok: false,
      reason: `outbox back-pressure: the backlog reached its cap (${s.backlog.capBytes ?? '?'} bytes, VALLEY_OUTBOX_MAX); PUBACKs are held until InfluxDB takes readings`,
    };
  }
  if (s.sink.mode !== 'local-only') checks.sink = sinkCheck(s, limits);
  const reasons = Object.values(checks).flatMap((c) => (c.ok || c.reason === undefined ? [] : [c.reason]));
  return { status: reasons.length === 0 ? 'ready' : 'not ready', reasons, checks, asOf: s.asOf };
}
