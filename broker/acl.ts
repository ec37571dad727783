/**
 * The ACL of DESIGN: a device may publish only its `readings` and `status`, and subscribe only
 * to its `rejects`; operators may subscribe to `valley/#`, `sensors/+/status`,
 * `sensors/+/rejects`; viewers use the dashboard only. Nobody else publishes: rejects, live and
 * alert topics come from the gateway itself.
 */
import { OPERATOR_FILTERS, filterWithin, parseSensorTopic, topics } from '../contract/index.js';

export type Identity =
  { type: 'device'; id: string } | { type: 'user'; id: string; role: 'viewer' | 'operator' };

export type PublishDecision = 'readings' | 'status' | 'deny';

export function publishDecision(identity: Identity, topic: string): PublishDecision {
  if (identity.type !== 'device') return 'deny';
  const parsed = parseSensorTopic(topic);
  if (!parsed || parsed.deviceId !== identity.id) return 'deny';
  if (parsed.channel === 'readings') return 'readings';
  if (parsed.channel === 'status') return 'status';
  return 'deny';
}

export function maySubscribe(identity: Identity, filter: string): boolean {
  if (identity.type === 'device') return filter === topics.rejects(identity.id);
  if (identity.role !== 'operator') return false;
  return OPERATOR_FILTERS.some((allowed) => filterWithin(filter, allowed));
}
