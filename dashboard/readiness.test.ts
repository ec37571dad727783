import { describe, expect, it } from '@jest/globals';
import { REJECT_CODES } from '../contract/index.js';
import { readiness } from './readiness.js';
import type { ValleyStatus } from './status-schema.js';

const limits = { backlogRecords: 100, lagMs: 60_000 };

function status(patch: {
  sink?: Partial<ValleyStatus['sink']>;
  backlog?: Partial<ValleyStatus['backlog']>;
  listening?: boolean;
}): ValleyStatus {
  return {
    version: '0.1.0',
    asOf: 1_000_000,
    startedAt: 0,
    uptimeS: 1000,
    readings: {
      messages: 0,
      accepted: 0,
      duplicates: 0,
      rejected: 0,
      rejectedByCode: Object.fromEntries(
        REJECT_CODES.map((c) => [c, 0]),
      ) as ValleyStatus['readings']['rejectedByCode'],
      deadLetterDropped: 0,
    },
    backlog: {
      records: 0,
      bytes: 0,
      oldestReceivedAt: null,
      ageMs: null,
      segments: 1,
      pendingAppends: 0,
      writable: true,
      abandonedSegments: 0,
      retentionDeletedRecords: 0,
      capBytes: 1 << 30,
      holding: false,
      heldAppends: 0,
      ...patch.backlog,
    },
    sink: {
      mode: 'v1',
      description: 'InfluxDB v1 API at http://influx:8086, database "valley"',
      state: 'idle',
      lagMs: null,
      lastError: null,
      lastWriteAt: null,
      written: 0,
      deadLettered: 0,
      retries: 0,
      batchLines: 5000,
      ping: null,
      ...patch.sink,
    },
    deadLetter: { bytes: 0, records: 0, dropped: 0, full: false },
    devices: { registered: 1, connected: 0, connectedIds: [] },
    broker: {
      listening: patch.listening ?? true,
      connectionsRefused: {},
      aclDenied: 0,
      sizeGuardDrops: 0,
      rateLimited: 0,
      refusals: {},
      slowClientDrops: 0,
    },
    alerts: [],
  };
}

describe('readiness', () => {
  it('is ready with a sink that writes, whatever the backlog', () => {
    const r = readiness(
      status({ sink: { state: 'writing', lagMs: 600_000 }, backlog: { records: 5000 } }),
      limits,
    );
    expect(r).toEqual({
      status: 'ready',
      reasons: [],
      checks: { broker: { ok: true }, outbox: { ok: true }, sink: { ok: true } },
      asOf: 1_000_000,
    });
  });

  it('tolerates an outage while the backlog stays within both limits', () => {
    const r = readiness(
      status({ sink: { state: 'backoff', lagMs: 60_000 }, backlog: { records: 100 } }),
      limits,
    );
    expect(r.status).toBe('ready');
  });

  it('fails on the sink once the backlog passes a limit, naming the cause and the setting', () => {
    const down = { state: 'backoff' as const, lastError: 'connect ECONNREFUSED', lagMs: 1000 };
    const r = readiness(status({ sink: down, backlog: { records: 101 } }), limits);
    expect(r.status).toBe('not ready');
    expect(r.reasons).toEqual([
      'InfluxDB is unreachable (connect ECONNREFUSED) and 101 readings wait (limit 100, VALLEY_READY_BACKLOG)',
    ]);
    const old = readiness(status({ sink: { state: 'misconfigured', lagMs: 120_000 } }), limits);
    expect(old.reasons[0]).toBe(
      'InfluxDB refuses the configuration and the oldest waits for 120 s (limit 60 s, VALLEY_READY_LAG)',
    );
  });

  it('fails when the broker is not listening, the disk refuses or back-pressure holds', () => {
    expect(readiness(status({ listening: false }), limits).reasons).toEqual([
      'the MQTT broker is not listening',
    ]);
    expect(readiness(status({ backlog: { writable: false } }), limits).reasons[0]).toMatch(
      /cannot write to disk/,
    );
    expect(readiness(status({ backlog: { holding: true, capBytes: 1024 } }), limits).reasons[0]).toMatch(
      /back-pressure.*1024 bytes, VALLEY_OUTBOX_MAX/,
    );
  });

  it('has no sink check in local-only mode', () => {
    const r = readiness(
      status({ sink: { mode: 'local-only', state: 'local-only' }, backlog: { records: 1e6 } }),
      limits,
    );
    expect(r).toMatchObject({ status: 'ready', checks: { broker: { ok: true }, outbox: { ok: true } } });
    expect(r.checks.sink).toBeUndefined();
  });
});
