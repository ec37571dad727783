/**
 * A device that speaks just enough MQTT 3.1.1 by hand to go silent: it sends CONNECT and PUBLISH
 * packets and then nothing at all, not even PINGREQ (a radio link that dropped), so the broker's
 * keepalive is what ends the connection. MQTT.js cannot do that: it pings on its own.
 */
import net from 'node:net';

/** MQTT variable-length "remaining length" (§2.2.3). */
function remainingLength(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

const utf8 = (s: string | Buffer): Buffer => {
  const body = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  const len = Buffer.alloc(2);
  len.writeUInt16BE(body.length);
  return Buffer.concat([len, body]);
};

const packet = (header: number, body: Buffer): Buffer =>
  Buffer.concat([Buffer.from([header]), remainingLength(body.length), body]);

export function connectPacket(o: {
  clientId: string;
  keepaliveS: number;
  username?: string;
  password?: string;
}): Buffer {
  let flags = 0x02; // clean session
  if (o.username !== undefined) flags |= 0x80;
  if (o.password !== undefined) flags |= 0x40;
  const keepalive = Buffer.alloc(2);
  keepalive.writeUInt16BE(o.keepaliveS);
  const body = Buffer.concat([
    utf8('MQTT'),
    Buffer.from([4, flags]),
    keepalive,
    utf8(o.clientId),
    ...(o.username !== undefined ? [utf8(o.username)] : []),
    ...(o.password !== undefined ? [utf8(o.password)] : []),
  ]);
  return packet(0x10, body);
}

/** PUBLISH at QoS 1 with the given packet id. */
export function publishPacket(topic: string, payload: string | Buffer, packetId: number): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(packetId);
  return packet(0x32, Buffer.concat([utf8(topic), id, Buffer.from(payload)]));
}

export interface SilentDevice {
  /** Bytes received from the broker (CONNACK, PUBACKs …). */
  readonly received: Buffer[];
  /** Resolves when the broker closed the connection. */
  readonly closed: Promise<void>;
  destroy(): void;
}

/**
 * Connects, waits for CONNACK, sends the publishes, then stays silent until the broker hangs up.
 * Rejects when the CONNACK refuses the connection.
 */
export async function silentDevice(
  port: number,
  connect: Parameters<typeof connectPacket>[0],
  publishes: Buffer[],
): Promise<SilentDevice> {
  const socket = net.connect(port, '127.0.0.1');
  const received: Buffer[] = [];
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const connack = new Promise<Buffer>((resolve, reject) => {
    socket.once('data', resolve);
    socket.once('close', () => reject(new Error('closed before CONNACK')));
  });
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.write(connectPacket(connect));
  const ack = await connack;
  if (ack[0] !== 0x20 || ack[3] !== 0) {
    socket.destroy();
    throw new Error(`CONNACK refused the connection (return code ${ack[3]})`);
  }
  for (const p of publishes) socket.write(p);
  return { received, closed, destroy: () => socket.destroy() };
}

/** SUBSCRIBE to one filter with the given packet id and QoS. */
export function subscribePacket(filter: string, packetId: number, qos: 0 | 1 = 0): Buffer {
  const id = Buffer.alloc(2);
  id.writeUInt16BE(packetId);
  return packet(0x82, Buffer.concat([id, utf8(filter), Buffer.from([qos])]));
}

/**
 * Only the fixed header of a QoS 1 PUBLISH that declares `remainingLength` bytes: a client can
 * then stream the body in chunks, as a device announcing a huge packet would.
 */
export function publishHeader(declaredRemainingLength: number): Buffer {
  return Buffer.concat([Buffer.from([0x32]), remainingLength(declaredRemainingLength)]);
}

export interface RawConnection {
  socket: net.Socket;
  /** The CONNACK return code (0 = accepted, 4 = bad username or password …). */
  returnCode: number;
  /** Resolves when the broker closed the connection. */
  closed: Promise<void>;
}

/** Connects, sends CONNECT and resolves with the CONNACK's return code; the socket stays open. */
export async function rawConnect(
  port: number,
  connect: Parameters<typeof connectPacket>[0],
): Promise<RawConnection> {
  const socket = net.connect(port, '127.0.0.1');
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  const connack = new Promise<Buffer>((resolve, reject) => {
    socket.once('data', resolve);
    socket.once('close', () => reject(new Error('closed before CONNACK')));
  });
  socket.write(connectPacket(connect));
  const ack = await connack;
  if (ack[0] !== 0x20) throw new Error(`expected a CONNACK, got packet type ${ack[0]}`);
  return { socket, returnCode: ack[3]!, closed };
}
