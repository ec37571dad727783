/**
 * Stable codes for everything the broker refuses: CONNECTs, ACL denials, packet-size guard drops
 * and rate-limited messages. Logs carry them as `code` and /metrics as the `reason` label; the
 * human wording in /api/status (`connectionsRefused`) may change, these may not.
 */
export const REFUSAL_CODES = [
  'client_id_mismatch',
  'bad_secret',
  'unknown_id',
  'bad_password',
  'viewer_role',
  'auth_busy',
  'auth_error',
  'acl_publish',
  'acl_subscribe',
  'packet_too_large',
  'malformed_length',
  'rate_limited',
  // A PUBLISH topic with a wildcard, empty, or deeper than Aedes' maxTopicLevels (refused by Aedes).
  'invalid_topic',
] as const;

export type RefusalCode = (typeof REFUSAL_CODES)[number];
