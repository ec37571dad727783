/**
 * The closed list of reject codes a device can receive on `sensors/{id}/rejects`. A new code is
 * added here and in docs/contract.md; nothing else may reach a device. Internal failures
 * (InfluxDB down, disk full) carry their own codes in logs, alerts and metrics, never here.
 */
export const REJECT_CODES = [
  'E_JSON',
  'E_SCHEMA',
  'E_UNKNOWN_METRIC',
  'E_RANGE',
  'E_TS_FUTURE',
  'E_TS_TOO_OLD',
  'E_TS_SECONDS',
  'E_TS_NO_ZONE',
  'E_TOO_MANY_READINGS',
  'E_RATE_LIMIT',
  'E_SINK_REJECTED',
] as const;

export type RejectCode = (typeof REJECT_CODES)[number];

/** What each code means, for docs, the dashboard and `valley` output. */
export const REJECT_CODE_MEANING: Record<RejectCode, string> = {
  E_JSON: 'the payload is not valid UTF-8 JSON',
  E_SCHEMA: 'the reading does not have the shape of the contract (missing or wrongly typed field)',
  E_UNKNOWN_METRIC: "a metric name is not part of the device's kind",
  E_RANGE: 'a value is outside the range a real sensor of this kind can report',
  E_TS_FUTURE: 'the timestamp is further in the future than the allowed clock skew',
  E_TS_TOO_OLD: 'the timestamp is older than the late window',
  E_TS_SECONDS: 'the timestamp looks like epoch seconds; epoch milliseconds are required',
  E_TS_NO_ZONE: 'the ISO-8601 timestamp has no time zone',
  E_TOO_MANY_READINGS: 'the backlog array has more readings than one message may carry',
  E_RATE_LIMIT: 'the device publishes faster than its rate limit',
  E_SINK_REJECTED: 'the database refused the reading after it was accepted',
};

export function isRejectCode(value: string): value is RejectCode {
  return (REJECT_CODES as readonly string[]).includes(value);
}
