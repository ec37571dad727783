/**
 * TLS on real parts: a CA and a server certificate made by openssl at test time, the gateway with
 * MQTT over TLS, MQTT over secure WebSocket and HTTPS, real MQTT.js, mosquitto_pub and
 * socket.io-client clients. A client that trusts another CA is refused during the handshake and
 * the gateway keeps serving the others; with a public bind the plaintext listeners stay on
 * loopback unless VALLEY_PLAINTEXT_PUBLIC allows them (docs/decisions.md).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { request } from 'node:https';
import net from 'node:net';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { io } from 'socket.io-client';
import { hashPassword } from '../../config/secrets.js';
import { loadTlsMaterial } from '../../config/tls.js';
import { LIVE_UNAUTHORIZED } from '../../dashboard/protocol.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { join } from '../support/live.js';
import type { LiveClient, LiveRecorder } from '../support/live.js';
import { closeClient, connectDevice, connectUser, publishAcked } from '../support/mqtt.js';
import { connectPacket } from '../support/raw-mqtt.js';
import { makeTestRegistry, TEST_DEVICES, type TestRegistry } from '../support/registry.js';
import { makeTestCertificates, type TestCertificates } from '../support/tls-certs.js';
import { addTestAddress, type TestAddress } from '../support/veth.js';

const run = promisify(execFile);
const clients: MqttClient[] = [];
let certs: TestCertificates;
let otherCa: TestCertificates;
let registry: TestRegistry;

interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request trusting only `ca`; no keep-alive agent, so nothing stays open. */
function https(
  url: string,
  options: { ca: Buffer; method?: string; body?: string; headers?: Record<string, string> },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? 'GET', ca: options.ca, agent: false, headers: options.headers },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

function reading(value: number): string {
  return JSON.stringify({ ts: Date.now() - 1000, values: { pressure_bar: value } });
}

/** Pressure values of `deviceId` in the outbox: what was made durable, read back from disk. */
async function pressuresInOutbox(gw: TestGateway, deviceId: string): Promise<number[]> {
  const values: number[] = [];
  for await (const chunk of gw.valley.outbox.readAll())
    for (const r of chunk) if (r.deviceId === deviceId) values.push(r.values.pressure_bar!);
  return values;
}

async function device(
  url: string,
  ca: Buffer | undefined,
  key: keyof typeof TEST_DEVICES,
): Promise<MqttClient> {
  const id = TEST_DEVICES[key].id;
  const client = await connectDevice(url, id, registry.secrets[id]!, ca ? { ca } : {});
  clients.push(client);
  return client;
}

/** Resolves with the connection's error, or fails the test when it connects after all. */
function refusedConnect(url: string, key: keyof typeof TEST_DEVICES, ca?: Buffer): Promise<Error> {
  const id = TEST_DEVICES[key].id;
  return connectDevice(url, id, registry.secrets[id]!, ca ? { ca } : {}).then(
    async (client) => {
      await closeClient(client);
      throw new Error('connected, but should have been refused');
    },
    (error: unknown) => error as Error,
  );
}

/** Whether a plain TCP connection to host:port is accepted. */
function tcpAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

beforeAll(async () => {
  certs = await makeTestCertificates('Valley Test CA');
  otherCa = await makeTestCertificates('Some Other CA');
  registry = makeTestRegistry(
    [],
    [{ id: 'ada', role: 'operator', password_hash: await hashPassword('ada-pw-1234') }],
  );
});

afterAll(async () => {
  await Promise.all(clients.map(closeClient));
  await certs?.remove();
  await otherCa?.remove();
});

describe('TLS listeners (loopback bind)', () => {
  let gw: TestGateway;
  const live: LiveClient[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({ registry, tls: certs.material });
  });

  afterAll(async () => {
    for (const socket of live) socket.disconnect();
    await Promise.all(clients.splice(0).map(closeClient));
    await gw?.stop();
  });

  it('acknowledges a reading over MQTT over TLS only once it is in the outbox', async () => {
    const client = await device(gw.mqttsUrl!, certs.ca, 'pressure');
    await publishAcked(client, `sensors/${TEST_DEVICES.pressure.id}/readings`, reading(4.25));
    expect(await pressuresInOutbox(gw, TEST_DEVICES.pressure.id)).toContain(4.25);
  });

  it('serves mosquitto_pub over TLS with --cafile (-q 1 exits 0 only after the PUBACK)', async () => {
    const id = TEST_DEVICES.flow.id;
    const port = String(new URL(gw.mqttsUrl!).port);
    const payload = JSON.stringify({ ts: Date.now() - 1000, values: { flow_l_s: 7.5, totaliser_m3: 321.5 } });
    await run('mosquitto_pub', [
      ...['-h', '127.0.0.1', '-p', port, '--cafile', certs.caPath, '-V', 'mqttv311'],
      ...['-i', id, '-u', id, '-P', registry.secrets[id]!, '-q', '1'],
      ...['-t', `sensors/${id}/readings`, '-m', payload],
    ]);
    const totals: number[] = [];
    for await (const chunk of gw.valley.outbox.readAll())
      for (const r of chunk) if (r.deviceId === id) totals.push(r.values.totaliser_m3!);
    expect(totals).toContain(321.5);
  });

  it('refuses a client that trusts another CA during the handshake and keeps serving the others', async () => {
    const good = await device(gw.mqttsUrl!, certs.ca, 'level');
    const wrongCa = await refusedConnect(gw.mqttsUrl!, 'quality', otherCa.ca);
    // Node names the verification failure: the server's chain does not lead to the trusted CA.
    expect((wrongCa as NodeJS.ErrnoException).code).toMatch(/CERT|VERIFY|SIGNATURE/);
    const systemTrust = await refusedConnect(gw.mqttsUrl!, 'quality');
    expect((systemTrust as NodeJS.ErrnoException).code).toMatch(/CERT|VERIFY|SIGNATURE/);
    // The refused device never got a session.
    expect(gw.valley.broker.connectedDevices()).not.toContain(TEST_DEVICES.quality.id);
    expect(gw.valley.broker.connectedDevices()).toContain(TEST_DEVICES.level.id);
    await publishAcked(
      good,
      `sensors/${TEST_DEVICES.level.id}/readings`,
      JSON.stringify({ ts: Date.now() - 1000, values: { level_m: 2.5 } }),
    );
    const fresh = await device(gw.mqttsUrl!, certs.ca, 'pressure');
    await publishAcked(fresh, `sensors/${TEST_DEVICES.pressure.id}/readings`, reading(4.5));
    expect(await pressuresInOutbox(gw, TEST_DEVICES.pressure.id)).toContain(4.5);
  });

  it('refuses a plaintext MQTT client on the TLS port (closed, no CONNACK)', async () => {
    const id = TEST_DEVICES.weather.id;
    const socket = net.connect({ host: '127.0.0.1', port: Number(new URL(gw.mqttsUrl!).port) });
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('error', () => undefined); // a reset is as good a refusal as a close
    socket.write(
      connectPacket({ clientId: id, keepaliveS: 60, username: id, password: registry.secrets[id]! }),
    );
    await new Promise((resolve) => socket.once('close', resolve));
    // Nothing MQTT came back: at most a TLS alert record (0x15), never a CONNACK (0x20).
    const answer = Buffer.concat(received);
    expect(answer.length === 0 || answer[0] === 0x15).toBe(true);
    expect(gw.valley.broker.connectedDevices()).not.toContain(id);
  });

  it('applies the packet-size guard to MQTT over TLS: an oversized packet ends its connection only', async () => {
    const before = gw.valley.broker.counts.sizeGuardDrops;
    const big = await device(gw.mqttsUrl!, certs.ca, 'indoor');
    const closed = new Promise<void>((resolve) => big.once('close', () => resolve()));
    big.publish(`sensors/${TEST_DEVICES.indoor.id}/readings`, Buffer.alloc(1024 * 1024 + 1024, 0x20), {
      qos: 1,
    });
    await closed;
    expect(gw.valley.broker.counts.sizeGuardDrops).toBe(before + 1);
    const other = await device(gw.mqttsUrl!, certs.ca, 'pressure');
    await publishAcked(other, `sensors/${TEST_DEVICES.pressure.id}/readings`, reading(4.75));
    expect(await pressuresInOutbox(gw, TEST_DEVICES.pressure.id)).toContain(4.75);
  });

  it('acknowledges a reading over MQTT over secure WebSocket', async () => {
    const client = await device(gw.wssUrl!, certs.ca, 'energy');
    await publishAcked(
      client,
      `sensors/${TEST_DEVICES.energy.id}/readings`,
      JSON.stringify({ ts: Date.now() - 1000, values: { energy_import_kwh: 1234.5, active_power_kw: 3.5 } }),
    );
    const energy: number[] = [];
    for await (const chunk of gw.valley.outbox.readAll())
      for (const r of chunk)
        if (r.deviceId === TEST_DEVICES.energy.id) energy.push(r.values.energy_import_kwh!);
    expect(energy).toContain(1234.5);
    const wrongCa = await refusedConnect(gw.wssUrl!, 'heat', otherCa.ca);
    expect((wrongCa as NodeJS.ErrnoException).code).toMatch(/CERT|VERIFY|SIGNATURE/);
    expect(gw.valley.broker.connectedDevices()).not.toContain(TEST_DEVICES.heat.id);
  });

  it('serves /healthz, the login with a Secure cookie and Socket.IO over wss on HTTPS', async () => {
    const health = await https(`${gw.httpsUrl!}/healthz`, { ca: certs.ca });
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok' });
    await expect(https(`${gw.httpsUrl!}/healthz`, { ca: otherCa.ca })).rejects.toThrow();

    const login = await https(`${gw.httpsUrl!}/api/login`, {
      ca: certs.ca,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'ada', password: 'ada-pw-1234' }),
    });
    expect(login.status).toBe(200);
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(/;\s*Secure/i);
    expect(setCookie).toMatch(/HttpOnly/i);
    const cookie = setCookie.split(';')[0]!;

    // The same login over the plaintext port (loopback) has no Secure flag: it would be dropped.
    const plain = await fetch(`${gw.httpUrl}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'ada', password: 'ada-pw-1234' }),
    });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('set-cookie')).not.toMatch(/;\s*Secure/i);

    const socket: LiveClient = io(gw.httpsUrl, {
      path: '/socket.io',
      transports: ['websocket'],
      reconnection: false,
      ca: certs.ca.toString('utf8'),
      extraHeaders: { cookie },
    });
    live.push(socket);
    const rec: LiveRecorder = { socket, snapshots: [], deltas: [], sessions: [], latest: () => undefined };
    socket.on('snapshot', (m) => rec.snapshots.push(m));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    expect(socket.io.engine.transport.name).toBe('websocket');
    expect(await join(rec, 'overview')).toEqual({ ok: true });
    expect(rec.snapshots.map((m) => m.room)).toEqual(['overview']);

    // Without the session cookie the HTTPS handshake is refused like the HTTP one.
    const anonymous: LiveClient = io(gw.httpsUrl, {
      path: '/socket.io',
      transports: ['websocket'],
      reconnection: false,
      ca: certs.ca.toString('utf8'),
    });
    live.push(anonymous);
    const refusal = await new Promise<Error>((resolve) => anonymous.once('connect_error', resolve));
    expect(refusal.message).toBe(LIVE_UNAUTHORIZED);
  });

  it('keeps plaintext MQTT and HTTP on a loopback bind', async () => {
    const client = await device(gw.mqttUrl, undefined, 'traffic');
    expect(client.connected).toBe(true);
    expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
  });
});

describe('TLS with a public bind', () => {
  let address: TestAddress;
  let tlsForAddress: TestCertificates;

  beforeAll(async () => {
    address = await addTestAddress();
    tlsForAddress = await makeTestCertificates('Valley Test CA (public)', { extraIps: [address.address] });
  });

  afterAll(async () => {
    await tlsForAddress?.remove();
    await address?.remove();
  });

  it('serves TLS on the bind address and keeps plaintext MQTT, WebSocket and HTTP on loopback', async () => {
    const gw = await startTestGateway({
      registry,
      tls: tlsForAddress.material,
      settings: { bind: address.address },
    });
    try {
      const { broker, http } = gw.valley;
      const host = address.address;
      const client = await device(
        `mqtts://${host}:${broker.mqttsAddress!.port}`,
        tlsForAddress.ca,
        'charger',
      );
      await publishAcked(
        client,
        `sensors/${TEST_DEVICES.charger.id}/readings`,
        JSON.stringify({ ts: Date.now() - 1000, values: { connectors_in_use: 1, energy_kwh: 10.5 } }),
      );
      const health = await https(`https://${host}:${http.httpsAddress!.port}/healthz`, {
        ca: tlsForAddress.ca,
      });
      expect(health.status).toBe(200);

      // Plaintext is not reachable on the public address, only on loopback.
      for (const port of [broker.mqttAddress.port, broker.wsAddress.port, http.address.port]) {
        expect(await tcpAccepts(host, port)).toBe(false);
        expect(await tcpAccepts('127.0.0.1', port)).toBe(true);
      }
      const local = await device(`mqtt://127.0.0.1:${broker.mqttAddress.port}`, undefined, 'parking');
      expect(local.connected).toBe(true);
      expect((await fetch(`http://127.0.0.1:${http.address.port}/healthz`)).status).toBe(200);
    } finally {
      await Promise.all(clients.splice(0).map(closeClient));
      await gw.stop();
    }
  });

  it('serves plaintext on the bind address too when VALLEY_PLAINTEXT_PUBLIC allows it', async () => {
    const gw = await startTestGateway({
      registry,
      tls: tlsForAddress.material,
      settings: { bind: address.address, plaintextPublic: true },
    });
    try {
      const { broker, http } = gw.valley;
      const host = address.address;
      const user = await connectUser(`mqtt://${host}:${broker.mqttAddress.port}`, 'ada', 'ada-pw-1234');
      clients.push(user);
      expect(user.connected).toBe(true);
      expect((await fetch(`http://${host}:${http.address.port}/healthz`)).status).toBe(200);
      expect(await tcpAccepts(host, broker.wsAddress.port)).toBe(true);
    } finally {
      await Promise.all(clients.splice(0).map(closeClient));
      await gw.stop();
    }
  });
});

describe('TLS with a certificate from an intermediate CA (VALLEY_TLS_CA)', () => {
  let chain: TestCertificates;

  beforeAll(async () => {
    chain = await makeTestCertificates('Valley Root CA', { intermediate: true });
  });
  afterAll(async () => {
    await chain?.remove();
  });

  it('sends the intermediate with the certificate, so clients that trust only the root connect', async () => {
    const material = await loadTlsMaterial({
      tlsCert: chain.certPath,
      tlsKey: chain.keyPath,
      tlsCa: chain.intermediatePath!,
    });
    const withChain = await startTestGateway({ registry, tls: material! });
    try {
      const client = await device(withChain.mqttsUrl!, chain.ca, 'flow2');
      await publishAcked(
        client,
        `sensors/${TEST_DEVICES.flow2.id}/readings`,
        JSON.stringify({ ts: Date.now() - 1000, values: { flow_l_s: 1.5 } }),
      );
      expect((await https(`${withChain.httpsUrl!}/healthz`, { ca: chain.ca })).status).toBe(200);
    } finally {
      await Promise.all(clients.splice(0).map(closeClient));
      await withChain.stop();
    }
    // Without VALLEY_TLS_CA the root alone cannot vouch for the server certificate.
    const leafOnly = await startTestGateway({ registry, tls: { cert: material!.cert, key: material!.key } });
    try {
      const error = await refusedConnect(leafOnly.mqttsUrl!, 'flow2', chain.ca);
      expect((error as NodeJS.ErrnoException).code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    } finally {
      await leafOnly.stop();
    }
  });
});
