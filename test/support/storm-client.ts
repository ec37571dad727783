/**
 * A storm of MQTT devices in a child process (DESIGN, Tests: heavy clients run in a child, bounded
 * in time). Run as `node --import tsx test/support/storm-client.ts <devices.json>`, where the file
 * holds `{ url, devices: [{ id, secret }] }`. It reads one JSON command per line on stdin and
 * answers each with one JSON line on stdout:
 * - `{ cmd: 'connect', round, deadlineMs }`: every device connects at once and publishes one
 *   reading (QoS 1, unique per device and round); the answer lists who got a CONNACK and a PUBACK
 *   and why the others failed. Whatever is not settled at the deadline counts as failed.
 * - `{ cmd: 'state' }`: which devices are connected and which were closed by the broker.
 * - `{ cmd: 'disconnect', deadlineMs }`: every device disconnects (DISCONNECT, then close).
 * - `{ cmd: 'exit' }`: closes everything and exits.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import mqtt, { type MqttClient } from 'mqtt';
import { z } from 'zod';

const input = z
  .object({ url: z.string(), devices: z.array(z.object({ id: z.string(), secret: z.string() })) })
  .parse(JSON.parse(readFileSync(process.argv[2]!, 'utf8')));

const command = z.discriminatedUnion('cmd', [
  z.object({ cmd: z.literal('connect'), round: z.number().int().nonnegative(), deadlineMs: z.number() }),
  z.object({ cmd: z.literal('state') }),
  z.object({ cmd: z.literal('disconnect'), deadlineMs: z.number() }),
  z.object({ cmd: z.literal('exit') }),
]);

interface Member {
  id: string;
  client: MqttClient | undefined;
  /** Set while we end the client ourselves: a close then is not the broker's doing. */
  ending: boolean;
  closedByBroker: boolean;
}

const members: Member[] = input.devices.map((d) => ({
  id: d.id,
  client: undefined,
  ending: false,
  closedByBroker: false,
}));
const secrets = new Map(input.devices.map((d) => [d.id, d.secret]));
const t0 = Date.now() - 3_600_000;

function answer(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

function withDeadline<T>(work: Promise<T>, deadlineMs: number, late: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<T>((resolve) => (timer = setTimeout(() => resolve(late), deadlineMs))),
  ]).finally(() => clearTimeout(timer));
}

type Outcome = { id: string; connack: boolean; puback: boolean; error?: string };

function connectOne(member: Member, round: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { id: member.id, connack: false, puback: false };
    const client = mqtt.connect(input.url, {
      clientId: member.id,
      username: member.id,
      password: secrets.get(member.id)!,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 60_000,
      keepalive: 60,
    });
    member.client = client;
    member.ending = false;
    member.closedByBroker = false;
    let settled = false;
    const settle = (error?: string): void => {
      if (settled) return;
      settled = true;
      if (error !== undefined) outcome.error = error;
      resolve(outcome);
    };
    client.on('error', (err) => settle(err.message));
    client.on('close', () => {
      if (!member.ending) member.closedByBroker = true;
      settle('closed');
    });
    client.once('connect', () => {
      outcome.connack = true;
      const ts = t0 + round * 1000;
      const payload = JSON.stringify({ ts, seq: round, values: { flow_l_s: 1, totaliser_m3: round } });
      client.publish(`sensors/${member.id}/readings`, payload, { qos: 1 }, (err) => {
        if (err) return settle(err.message);
        outcome.puback = true;
        settle();
      });
    });
  });
}

async function connectAll(round: number, deadlineMs: number): Promise<void> {
  const pending = members.map((m) => connectOne(m, round));
  const outcomes = await withDeadline(Promise.all(pending), deadlineMs, undefined);
  // At the deadline, take what has settled; the rest failed by 'deadline'.
  const settled: Outcome[] =
    outcomes ??
    (await Promise.all(
      pending.map((p, i) =>
        withDeadline(p, 0, { id: members[i]!.id, connack: false, puback: false, error: 'deadline' }),
      ),
    ));
  const errors: Record<string, string> = {};
  for (const o of settled) if (!o.puback) errors[o.id] = o.error ?? 'no PUBACK';
  answer({
    event: 'connected',
    round,
    connacks: settled.filter((o) => o.connack).length,
    pubacks: settled.filter((o) => o.puback).map((o) => o.id),
    errors,
  });
}

async function disconnectAll(deadlineMs: number): Promise<void> {
  const ends = members.map((m) => {
    m.ending = true;
    const client = m.client;
    m.client = undefined;
    return client ? client.endAsync(!client.connected) : Promise.resolve();
  });
  const done = await withDeadline(
    Promise.all(ends).then(() => true),
    deadlineMs,
    false,
  );
  answer({ event: 'disconnected', complete: done });
}

function state(): void {
  answer({
    event: 'state',
    connected: members.filter((m) => m.client?.connected === true).map((m) => m.id),
    closedByBroker: members.filter((m) => m.closedByBroker).map((m) => m.id),
  });
}

const lines = createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on('line', (line) => {
  const parsed = command.safeParse(JSON.parse(line));
  if (!parsed.success) {
    answer({ event: 'error', message: parsed.error.message });
    return;
  }
  const c = parsed.data;
  // One command at a time, in order.
  queue = queue.then(async () => {
    if (c.cmd === 'connect') await connectAll(c.round, c.deadlineMs);
    else if (c.cmd === 'state') state();
    else if (c.cmd === 'disconnect') await disconnectAll(c.deadlineMs);
    else {
      for (const m of members) m.client?.end(true);
      lines.close();
      answer({ event: 'exited' });
      process.exitCode = 0;
    }
  });
});
// The test went away (stdin closed): leave too.
lines.on('close', () => {
  for (const m of members) m.client?.end(true);
});
answer({ event: 'ready', devices: members.length });
