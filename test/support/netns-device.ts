/**
 * One device for the half-open test, run inside a network namespace:
 * `ip netns exec <ns> node --import tsx test/support/netns-device.ts <url> <deviceId> <keepaliveS>`
 * with the device secret in the DEVICE_SECRET environment variable (not on the command line, where
 * `ps` shows it). It connects with an LWT, publishes one reading, answers `{"event":"acked"}` on
 * stdout, and then keeps its connection until it is killed.
 */
import mqtt from 'mqtt';

const [url, deviceId, keepalive] = process.argv.slice(2);
const secret = process.env.DEVICE_SECRET;
if (url === undefined || deviceId === undefined || keepalive === undefined || secret === undefined) {
  process.stderr.write('usage: netns-device.ts <url> <deviceId> <keepaliveS> (secret in DEVICE_SECRET)\n');
  process.exit(2);
}

const client = await mqtt.connectAsync(url, {
  clientId: deviceId,
  username: deviceId,
  password: secret,
  protocolVersion: 4,
  keepalive: Number(keepalive),
  reconnectPeriod: 0,
  connectTimeout: 10_000,
  will: { topic: `sensors/${deviceId}/status`, payload: Buffer.from('offline'), qos: 1, retain: true },
});
client.on('error', () => undefined);
await client.publishAsync(`sensors/${deviceId}/status`, 'online', { qos: 1, retain: true });
await client.publishAsync(
  `sensors/${deviceId}/readings`,
  JSON.stringify({ ts: Date.now() - 1000, values: { flow_l_s: 4, totaliser_m3: 12 } }),
  { qos: 1 },
);
process.stdout.write(`${JSON.stringify({ event: 'acked' })}\n`);
