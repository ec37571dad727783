/** The demo fleet over real MQTT: one client per device, status online/offline, first readings, clean stop. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { silentLogger } from '../../gateway/logger.js';
import { startDemoFleet } from '../../simulators/fleet.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/mqtt.js';
import { TEST_DEVICES } from '../support/registry.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway();
});
afterAll(async () => {
  await gw?.stop();
});

describe('demo fleet', () => {
  it('connects every device, sends valid first readings, says online and then offline', async () => {
    const ids: string[] = Object.values(TEST_DEVICES).map((d) => d.id);
    const readers = new Set<string>();
    const statuses: string[] = [];
    let rejected = 0;
    gw.valley.bus.on('readings.accepted', (e) => readers.add(e.deviceId));
    gw.valley.bus.on('readings.rejected', () => rejected++);
    gw.valley.bus.on('device.status', (e) => statuses.push(`${e.deviceId}:${e.status}`));
    const fleet = await startDemoFleet({
      url: gw.mqttUrl,
      registry: gw.registry.index,
      secrets: gw.registry.secrets,
      logger: silentLogger(),
      seed: 3,
      deviceIds: ids,
      firstReadingWithinMs: 500,
    });
    try {
      expect(fleet.stats).toMatchObject({ devices: ids.length, connected: ids.length });
      await waitFor(() => readers.size === ids.length, 5000, 'a first reading from every device');
      expect(rejected).toBe(0);
      expect(statuses.filter((s) => s.endsWith(':online'))).toHaveLength(ids.length);
    } finally {
      await fleet.stop();
    }
    await waitFor(
      () => statuses.filter((s) => s.endsWith(':offline')).length === ids.length,
      5000,
      'offline',
    );
    expect(gw.valley.broker.connectedDevices()).toEqual([]);
  });
});
