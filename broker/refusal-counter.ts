/**
 * Everything the broker refuses, counted by stable code (refusals.ts), told on the bus and logged:
 * refused CONNECTs, the packet-size guard's drops, slow clients, and topics Aedes itself refuses.
 * /api/status and /metrics read `counts`; the broker only says what happened.
 */
import type { Bus } from '../contract/index.js';
import type { Logger } from '../gateway/logger.js';
import type { Clock } from '../gateway/types.js';
import { REFUSAL_CODES, type RefusalCode } from './refusals.js';
import type { GuardViolation } from './size-guard.js';

export interface BrokerCounts {
  connectionsRefused: Record<string, number>;
  aclDenied: number;
  sizeGuardDrops: number;
  /** `readings` messages refused by the per-device rate limit (acknowledged, not ingested). */
  rateLimited: number;
  /** Every refusal by a stable reason code (see RefusalCode), for /metrics. */
  refusals: Partial<Record<RefusalCode, number>>;
  lastGuardDrop?: GuardViolation & { address: string };
  /** Connections dropped because they stopped reading (their unsent output passed the limit). */
  slowClientDrops: number;
  lastSlowClientDrop?: { clientId: string; address: string; bufferedBytes: number };
}

export interface RefusalCounterDeps {
  bus: Bus;
  clock: Clock;
  log: Logger;
  maxPacketBytes: number;
  outputBufferMaxBytes: number;
}

/**
 * The errors Aedes raises itself, before any of our hooks, for a PUBLISH topic MQTT forbids
 * (wildcards, empty) or one deeper than its `maxTopicLevels`; it closes the connection. Matched by
 * wording because Aedes has no error codes: an Aedes upgrade that rewords them shows up as a
 * failing count in test/integration/bad-input.test.ts, not as a silent gap.
 */
const AEDES_TOPIC_ERRORS = [
  '# is not allowed in PUBLISH',
  '+ is not allowed in PUBLISH',
  'empty topic not allowed in PUBLISH',
  'topic has too many levels',
];

export class RefusalCounter {
  readonly counts: BrokerCounts = {
    connectionsRefused: {},
    aclDenied: 0,
    sizeGuardDrops: 0,
    rateLimited: 0,
    slowClientDrops: 0,
    // Every code present from the start: /metrics shows a series at 0 before the first refusal.
    refusals: Object.fromEntries(REFUSAL_CODES.map((code) => [code, 0])),
  };

  constructor(private readonly deps: RefusalCounterDeps) {}

  count(code: RefusalCode): void {
    this.counts.refusals[code] = (this.counts.refusals[code] ?? 0) + 1;
  }

  /** A refused CONNECT: `reason` is the human wording, `code` the stable one. */
  connection(reason: string, code: RefusalCode, clientId: string, address: string): void {
    this.counts.connectionsRefused[reason] = (this.counts.connectionsRefused[reason] ?? 0) + 1;
    this.count(code);
    this.deps.bus.emit('connection.refused', { clientId, address, reason, at: this.deps.clock.now() });
  }

  /** An ACL denial (publish closes the connection; subscribe gets a SUBACK failure). */
  acl(code: 'acl_publish' | 'acl_subscribe'): void {
    this.counts.aclDenied++;
    this.count(code);
  }

  guardDrop(address: string, v: GuardViolation): void {
    this.counts.sizeGuardDrops++;
    const code: RefusalCode = v.reason === 'packet-too-large' ? 'packet_too_large' : 'malformed_length';
    this.count(code);
    this.counts.lastGuardDrop = { ...v, address };
    this.deps.bus.emit('connection.refused', {
      clientId: '',
      address,
      reason: v.reason,
      at: this.deps.clock.now(),
    });
    this.deps.log.warn(
      { address, code, ...v, limit: this.deps.maxPacketBytes },
      'connection dropped by the packet-size guard',
    );
  }

  slowClient(clientId: string, address: string, bufferedBytes: number): void {
    this.counts.slowClientDrops++;
    this.counts.lastSlowClientDrop = { clientId, address, bufferedBytes };
    this.deps.log.warn(
      { clientId, address, bufferedBytes, limit: this.deps.outputBufferMaxBytes },
      'slow client dropped: it stopped reading and its unsent output passed VALLEY_OUTPUT_BUFFER_MAX',
    );
  }

  /** An Aedes client error: counted when it is Aedes refusing a topic (see AEDES_TOPIC_ERRORS). */
  clientError(clientId: string, err: Error): void {
    if (!AEDES_TOPIC_ERRORS.includes(err.message)) {
      this.deps.log.debug({ clientId, err: err.message }, 'client error');
      return;
    }
    this.count('invalid_topic');
    this.deps.log.warn(
      { clientId, code: 'invalid_topic', err: err.message },
      'topic refused by Aedes (a wildcard or an empty topic in a PUBLISH, or too many levels); connection closed',
    );
  }
}
