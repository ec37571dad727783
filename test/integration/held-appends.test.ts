/**
 * Held appends of dead connections (gateway/backpressure.ts + broker/connection-signal.ts) on real
 * parts: Aedes on port 0, a device on a real TCP connection, a FileOutbox at its cap with no sink
 * draining it. The device publishes, its PUBACKs are held, its link goes silent and Aedes closes
 * it at the keepalive timeout; it reconnects and publishes new readings, round after round. Each
 * closed connection's held appends must go with it: the held count stays bounded and is 0 once
 * the connection is gone. The hook below is the broker's authorizePublish reduced to what matters here:
 * append with the connection's signal, answer when the append settles.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Aedes as AedesBroker } from 'aedes';
import { connectionSignal } from '../../broker/connection-signal.js';
import type { NormalizedReading } from '../../contract/index.js';
import { BackpressureOutbox, HeldAppendsFullError } from '../../gateway/backpressure.js';
import { silentLogger } from '../../gateway/logger.js';
import { FileOutbox } from '../../gateway/outbox.js';
import { waitFor } from '../support/mqtt.js';
import { publishPacket, silentDevice } from '../support/raw-mqtt.js';

const MAX_HELD = 5;
let dir: string;
let aedes: AedesBroker;
let server: net.Server;
let port: number;
let bp: BackpressureOutbox;
const keepaliveTimeouts: string[] = [];
const answered = { ok: 0, failed: [] as string[] };

const reading = (ts: number): NormalizedReading => ({
  deviceId: 'dev-1',
  kind: 'water_flow',
  corridor: 'water',
  municipality: 'lanzada',
  site: 'res-1',
  ts,
  values: { flow_l_s: 1 },
  receivedAt: ts,
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'valley-held-'));
  const outbox = new FileOutbox({
    dir,
    segmentBytes: 64 * 1024,
    clock: { now: Date.now },
    logger: silentLogger(),
  });
  bp = new BackpressureOutbox({
    outbox,
    capBytes: 2000,
    maxHeldAppends: MAX_HELD,
    maxHeldBytes: 1 << 20,
    clock: { now: Date.now },
    logger: silentLogger(),
  });
  await bp.start();
  // The backlog at the cap and nothing draining it: InfluxDB is down.
  await bp.append(Array.from({ length: 20 }, (_, i) => reading(1_790_000_000_000 + i)));
  expect(bp.stats().backlogBytes).toBeGreaterThanOrEqual(2000);

  const { Aedes } = await import('aedes');
  aedes = await Aedes.createBroker({
    authorizePublish: (client, packet, done) => {
      if (client === null) return done(null);
      const ts = Number(packet.payload.toString());
      bp.append([reading(ts)], { signal: connectionSignal(client) }).then(
        () => {
          answered.ok++;
          done(null);
        },
        (err: unknown) => {
          answered.failed.push(err instanceof HeldAppendsFullError ? 'full' : 'abandoned');
          done(err instanceof Error ? err : new Error(String(err)));
        },
      );
    },
  });
  aedes.on('keepaliveTimeout', (client) => keepaliveTimeouts.push(client.id));
  server = net.createServer((socket) => aedes.handle(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => aedes?.close(() => resolve()));
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await bp?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('held appends of closed connections', () => {
  it('are dropped when the keepalive closes the connection: the held count stays bounded and returns to 0', async () => {
    const PER_ROUND = 3;
    let ts = 1_790_000_100_000;
    for (let round = 1; round <= 3; round++) {
      // The device reconnects and sends new readings, which are held; then its link goes silent.
      const publishes = Array.from({ length: PER_ROUND }, (_, i) =>
        publishPacket('sensors/dev-1/readings', String(ts++), i + 1),
      );
      const device = await silentDevice(port, { clientId: 'dev-1', keepaliveS: 1 }, publishes);
      await waitFor(() => bp.state().heldAppends === PER_ROUND, 5000, `round ${round}: readings held`);
      // Aedes ends the silent connection at 1.5 × keepalive; its held readings go with it.
      await device.closed;
      expect(keepaliveTimeouts).toHaveLength(round);
      await waitFor(() => bp.state().heldAppends === 0, 5000, `round ${round}: held readings dropped`);
      expect(bp.state()).toMatchObject({ heldBytes: 0, abandonedAppends: round * PER_ROUND });
    }
    expect(answered).toEqual({ ok: 0, failed: Array(3 * PER_ROUND).fill('abandoned') });
    expect(bp.state()).toMatchObject({ holding: true, refusedAppends: 0 });
  });

  it('refuses what is beyond the held cap at once: the broker closes that connection without an ack', async () => {
    answered.failed = [];
    const publishes = Array.from({ length: MAX_HELD + 2 }, (_, i) =>
      publishPacket('sensors/dev-2/readings', String(1_790_000_200_000 + i), i + 1),
    );
    const device = await silentDevice(port, { clientId: 'dev-2', keepaliveS: 60 }, publishes);
    // Closed by the refusal, long before its 90 s keepalive.
    await device.closed;
    expect(Buffer.concat(device.received).subarray(4)).toHaveLength(0); // CONNACK only: no PUBACK
    await waitFor(() => bp.state().heldAppends === 0, 5000, 'the held ones dropped with the connection');
    expect(answered.failed.filter((f) => f === 'full').length).toBeGreaterThanOrEqual(1);
    expect(bp.state().refusedAppends).toBeGreaterThanOrEqual(1);
  });
});
