import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it, jest } from '@jest/globals';
import mqttPacket from 'mqtt-packet';
import { WebSocket, WebSocketServer, createWebSocketStream } from 'ws';
import {
  guardConnection,
  holdConnection,
  PacketScanner,
  remoteAddressOf,
  setGuardOwner,
  type GuardedStream,
  type GuardViolation,
} from './size-guard.js';

/** A fixed header with the given remaining length (MQTT variable-length encoding). */
function header(type: number, remaining: number): Buffer {
  const bytes = [type];
  let n = remaining;
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    bytes.push(b);
  } while (n > 0);
  return Buffer.from(bytes);
}

describe('PacketScanner', () => {
  it('passes packets within the limit, across chunk boundaries', () => {
    const s = new PacketScanner(1000);
    const stream = Buffer.concat([
      header(0x30, 10),
      Buffer.alloc(10),
      header(0xc0, 0),
      header(0x30, 1000),
      Buffer.alloc(1000),
    ]);
    for (let i = 0; i < stream.length; i += 7) expect(s.scan(stream.subarray(i, i + 7))).toBeNull();
  });

  it('stops at the header of a packet above the limit, before its body', () => {
    const s = new PacketScanner(1000);
    const first = Buffer.concat([header(0x30, 3), Buffer.alloc(3)]);
    const big = header(0x30, 64 * 1024 * 1024);
    expect(s.scan(Buffer.concat([first, big]))).toEqual({
      at: first.length,
      violation: 'packet-too-large',
      declared: 64 * 1024 * 1024,
    });
  });

  it('finds an oversized length split over two chunks', () => {
    const s = new PacketScanner(1000);
    const big = header(0x10, 5000);
    expect(s.scan(big.subarray(0, 2))).toBeNull();
    expect(s.scan(big.subarray(2))).toMatchObject({ violation: 'packet-too-large', declared: 5000 });
  });

  it('refuses a length of more than four bytes', () => {
    const s = new PacketScanner(1000);
    expect(s.scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toMatchObject({
      violation: 'malformed-length',
    });
  });
});

/** A connected pair of real TCP sockets: `inner` is the server's end, `client` the peer's. */
async function socketPair(): Promise<{ inner: Socket; client: Socket; close(): Promise<void> }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  client.on('error', () => undefined);
  const inner = await accepted;
  return {
    inner,
    client,
    async close() {
      inner.destroy();
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Reads from `stream` the way Aedes does ('readable' + read()), collecting the bytes. */
function readLikeAedes(stream: Socket): Buffer[] {
  const got: Buffer[] = [];
  stream.on('readable', () => {
    let chunk: Buffer | null;
    while ((chunk = stream.read() as Buffer | null) !== null) got.push(chunk);
  });
  return got;
}

const NO_EVENTS = { violation: () => undefined, slow: () => undefined };
async function waitUntil(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await settle(10);
  expect(ok()).toBe(true);
}

const settle = (ms = 50) => new Promise((r) => setTimeout(r, ms));

describe('the guard on a socket', () => {
  it('passes packets within the limit and drops the connection at the header of one above it', async () => {
    const pair = await socketPair();
    try {
      const violations: GuardViolation[] = [];
      guardConnection(pair.inner, {
        maxPacketBytes: 100,
        remoteAddress: '192.0.2.7',
        events: { violation: (_address, v) => violations.push(v), slow: () => undefined },
      });
      expect(remoteAddressOf(pair.inner)).toBe('192.0.2.7');
      const got = readLikeAedes(pair.inner);
      const small = Buffer.concat([header(0x30, 3), Buffer.from('abc')]);
      pair.client.write(small);
      await settle();
      expect(Buffer.concat(got).equals(small)).toBe(true);
      const closed = new Promise((resolve) => pair.inner.once('close', resolve));
      pair.client.write(header(0x30, 100_000_000)); // no body follows: dropped at the header
      await closed;
      expect(violations).toEqual([
        { reason: 'packet-too-large', declaredBytes: 100_000_000, bytesReceived: small.length + 5 },
      ]);
      expect(Buffer.concat(got).equals(small)).toBe(true);
    } finally {
      await pair.close();
    }
  });

  it('takes no more bytes once held, while writes still leave', async () => {
    const pair = await socketPair();
    try {
      const guarded = guardConnection(pair.inner, {
        maxPacketBytes: 100,
        remoteAddress: '127.0.0.1',
        events: NO_EVENTS,
        outputLimitBytes: 1 << 20,
      });
      const got = readLikeAedes(pair.inner);
      const before = Buffer.concat([header(0x30, 1), Buffer.from('x')]);
      pair.client.write(before);
      await settle();
      holdConnection(guarded);
      pair.client.write(Buffer.concat([header(0x30, 1), Buffer.from('y')]));
      const echoed = new Promise<Buffer>((resolve) => pair.client.once('data', resolve));
      guarded.write(Buffer.from([0x40, 2, 0, 1])); // a PUBACK
      expect(await echoed).toEqual(Buffer.from([0x40, 2, 0, 1]));
      await settle();
      expect(Buffer.concat(got).equals(before)).toBe(true);
    } finally {
      await pair.close();
    }
  });

  it('drops a peer that leaves more than the output limit unsent, without ever asking the writer to wait', async () => {
    const pair = await socketPair();
    try {
      pair.client.pause(); // the peer stops reading
      const exceeded: [string, number][] = [];
      const guarded = guardConnection(pair.inner, {
        maxPacketBytes: 100,
        remoteAddress: '127.0.0.1',
        events: { violation: () => undefined, slow: (id, _address, bytes) => exceeded.push([id, bytes]) },
        outputLimitBytes: 256 * 1024,
      });
      setGuardOwner(guarded, { id: 'slow-device' });
      const closed = new Promise((resolve) => pair.inner.once('close', resolve));
      const results: boolean[] = [];
      const chunk = Buffer.alloc(64 * 1024);
      // Kernel buffers take a few MiB on loopback before the socket's own buffer grows.
      for (let i = 0; i < 400 && !guarded.destroyed; i++) {
        results.push(guarded.write(chunk));
        await new Promise((r) => setImmediate(r));
      }
      await closed;
      expect(exceeded).toHaveLength(1);
      expect(exceeded[0]![0]).toBe('slow-device');
      expect(exceeded[0]![1]).toBeGreaterThan(256 * 1024);
      expect(results.every((r) => r)).toBe(true);
      // A late write to the closed connection is swallowed, as a late PUBACK would be.
      expect(guarded.write(chunk)).toBe(true);
    } finally {
      await pair.close();
    }
  });
});

describe('the guard on a WebSocket stream', () => {
  it('reports an oversized packet once, though ws delivers the frames after it, and ends gracefully when held', async () => {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const violations: GuardViolation[] = [];
    const streams: GuardedStream[] = [];
    server.on('connection', (ws) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => undefined);
      streams.push(
        guardConnection(stream, {
          maxPacketBytes: 100,
          remoteAddress: '127.0.0.1',
          events: { violation: (_address, v) => violations.push(v), slow: () => undefined },
          outputLimitBytes: 1 << 20,
        }),
      );
    });
    const port = (server.address() as AddressInfo).port;
    const open = async (): Promise<WebSocket> => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`);
      ws.on('error', () => undefined);
      await new Promise((resolve) => ws.once('open', resolve));
      return ws;
    };
    try {
      // mqtt-packet over ws sends header, length and body as separate frames, in one TCP chunk.
      const big = await open();
      const closed = new Promise((resolve) => big.once('close', resolve));
      big.send(Buffer.from([0x30]));
      big.send(Buffer.from([0xff, 0xff, 0xff, 0x7f])); // 256 MiB announced
      for (let i = 0; i < 5; i++) big.send(Buffer.from([0x00, 0x05, 0x61, 0x62, 0x63]));
      await closed;
      await settle();
      expect(violations).toEqual([
        { reason: 'packet-too-large', declaredBytes: 268_435_455, bytesReceived: 5 },
      ]);

      // Held at shutdown: what arrives is dropped, and ending the stream completes the close
      // handshake instead of waiting for a close frame nobody reads.
      const held = await open();
      await waitUntil(() => streams.length === 2);
      const stream = streams[1]!;
      const got = readLikeAedes(stream as unknown as Socket);
      holdConnection(stream);
      held.send(Buffer.from([0xc0, 0x00])); // a PINGREQ
      const streamClosed = new Promise((resolve) => stream.once('close', resolve));
      stream.end();
      await streamClosed;
      expect(got).toEqual([]);
    } finally {
      for (const client of server.clients) client.terminate();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('guarded writes', () => {
  it('still report success after the peer half-closed (net.Socket swaps its write at FIN)', async () => {
    const pair = await socketPair();
    try {
      pair.inner.on('error', () => undefined);
      const guarded = guardConnection(pair.inner, {
        maxPacketBytes: 100,
        remoteAddress: '127.0.0.1',
        events: NO_EVENTS,
        outputLimitBytes: 1 << 20,
      });
      readLikeAedes(pair.inner);
      const ended = new Promise((resolve) => pair.inner.once('end', resolve));
      pair.client.end();
      await ended;
      // Node's writeAfterFIN would answer false (EPIPE), and Aedes would wait for 'drain'.
      expect(guarded.write(Buffer.from([0x40, 2, 0, 1]))).toBe(true);
    } finally {
      await pair.close();
    }
  });

  it('hands the socket a burst of PUBACKs as a few batched writes, bytes intact and in order', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const inner = await accepted;
    const received: Buffer[] = [];
    try {
      client.on('data', (d: Buffer) => received.push(d));
      const socketWrites = jest.spyOn(inner, '_write');
      const socketWritevs = jest.spyOn(inner, '_writev');
      const guarded = guardConnection(inner, {
        maxPacketBytes: 1024,
        remoteAddress: '127.0.0.1',
        events: NO_EVENTS,
        outputLimitBytes: 1 << 20,
      });
      // What a group commit does: PUBACKs for many messages in one tick (mqtt-packet writes two
      // chunks per PUBACK and corks the stream around each packet).
      const count = 300;
      for (let id = 1; id <= count; id++) mqttPacket.writeToStream({ cmd: 'puback', messageId: id }, guarded);
      await new Promise<void>((resolve) => guarded.write(Buffer.alloc(0), () => resolve()));
      const expected = Buffer.concat(
        Array.from({ length: count }, (_, i) => mqttPacket.generate({ cmd: 'puback', messageId: i + 1 })),
      );
      for (let i = 0; i < 100 && Buffer.concat(received).length < expected.length; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(Buffer.concat(received).equals(expected)).toBe(true);
      // One syscall per chunk would be 600 socket writes.
      expect(socketWrites.mock.calls.length + socketWritevs.mock.calls.length).toBeLessThan(20);
    } finally {
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
