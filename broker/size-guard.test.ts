import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { describe, expect, it, jest } from '@jest/globals';
import mqttPacket from 'mqtt-packet';
import { GuardedConnection, PacketScanner } from './size-guard.js';

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

describe('GuardedConnection writes', () => {
  it('hands the socket a burst of PUBACKs as a few batched writes, bytes intact and in order', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
    const inner = await accepted;
    const received: Buffer[] = [];
    let guarded: GuardedConnection | undefined;
    try {
      client.on('data', (d: Buffer) => received.push(d));
      const socketWrites = jest.spyOn(inner, '_write');
      const socketWritevs = jest.spyOn(inner, '_writev');
      guarded = new GuardedConnection(inner, 1024, '127.0.0.1', () => undefined);
      // What a group commit does: PUBACKs for many messages in one tick (mqtt-packet writes two
      // chunks per PUBACK and corks the stream around each packet).
      const count = 300;
      for (let id = 1; id <= count; id++) mqttPacket.writeToStream({ cmd: 'puback', messageId: id }, guarded);
      await new Promise<void>((resolve) => guarded!.write(Buffer.alloc(0), () => resolve()));
      const expected = Buffer.concat(
        Array.from({ length: count }, (_, i) => mqttPacket.generate({ cmd: 'puback', messageId: i + 1 })),
      );
      for (let i = 0; i < 100 && Buffer.concat(received).length < expected.length; i++)
        await new Promise((r) => setTimeout(r, 10));
      expect(Buffer.concat(received).equals(expected)).toBe(true);
      // One syscall per chunk would be 600 socket writes.
      expect(socketWrites.mock.calls.length + socketWritevs.mock.calls.length).toBeLessThan(20);
    } finally {
      guarded?.destroy();
      client.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
