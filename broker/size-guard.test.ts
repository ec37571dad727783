import { describe, expect, it } from '@jest/globals';
import { PacketScanner } from './size-guard.js';

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
