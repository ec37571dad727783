/** MQTT.js helpers for tests: connect as a device, publish and wait for the PUBACK. */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export async function connectDevice(
  url: string,
  deviceId: string,
  secret: string,
  options: IClientOptions = {},
): Promise<MqttClient> {
  return mqtt.connectAsync(url, {
    clientId: deviceId,
    username: deviceId,
    password: secret,
    protocolVersion: 4,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...options,
  });
}

/**
 * Resolves on PUBACK (QoS 1). Rejects, naming the client and topic, when the connection closes
 * first or no PUBACK comes within `timeoutMs`: MQTT.js without reconnect keeps an unacknowledged
 * QoS 1 publish pending for ever, and a test would hang on it until Jest's own timeout, saying
 * nothing about which await it was.
 */
export async function publishAcked(
  client: MqttClient,
  topic: string,
  payload: string | Buffer,
  timeoutMs = 20_000,
): Promise<void> {
  const who = client.options.clientId ?? 'an MQTT client';
  if (!client.connected) throw new Error(`${who} is not connected: cannot publish on ${topic}`);
  const sent = client.publishAsync(topic, payload, { qos: 1 });
  // Once the race is lost, MQTT.js may still reject the publish (on end()): that is no news.
  sent.catch(() => undefined);
  let onClose = (): void => undefined;
  let timer: NodeJS.Timeout | undefined;
  const failed = new Promise<never>((_, reject) => {
    onClose = () => reject(new Error(`${who}: the connection closed before the PUBACK on ${topic}`));
    // Every publish in flight listens: tests put hundreds in flight on one client.
    client.setMaxListeners(0);
    client.once('close', onClose);
    timer = setTimeout(
      () => reject(new Error(`${who}: no PUBACK on ${topic} within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([sent, failed]);
  } finally {
    client.removeListener('close', onClose);
    clearTimeout(timer);
  }
}

/** Collects JSON messages on a topic filter. */
export async function collect(client: MqttClient, filter: string): Promise<unknown[]> {
  const messages: unknown[] = [];
  client.on('message', (topic, payload) => {
    if (topicMatches(filter, topic)) messages.push(JSON.parse(payload.toString('utf8')) as unknown);
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return messages;
}

/** Connects as a registry user (client id = username = user id). */
export async function connectUser(
  url: string,
  userId: string,
  password: string,
  options: IClientOptions = {},
): Promise<MqttClient> {
  return connectDevice(url, userId, password, options);
}

export interface RawMessage {
  topic: string;
  /** UTF-8 text; '' for an empty payload (a cleared retained message). */
  payload: string;
  retain: boolean;
  qos: number;
}

/** Collects every message on a filter as text, empty payloads included (collect() parses JSON). */
export async function collectRaw(client: MqttClient, filter: string): Promise<RawMessage[]> {
  const messages: RawMessage[] = [];
  client.on('message', (topic, payload, packet) => {
    if (topicMatches(filter, topic))
      messages.push({ topic, payload: payload.toString('utf8'), retain: packet.retain, qos: packet.qos });
  });
  await client.subscribeAsync(filter, { qos: 1 });
  return messages;
}

function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Ends a client; one the server already closed is ended with force (its queue never drains). */
export async function closeClient(client: MqttClient): Promise<void> {
  await client.endAsync(!client.connected);
}
