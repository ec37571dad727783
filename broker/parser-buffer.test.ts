import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { Aedes } from 'aedes';
import { lightenParser } from './parser-buffer.js';

type Listed = { _parser: { _list: { length: number; pipe?: unknown; append(b: Buffer): void } } };

describe("the parser's byte list", () => {
  it("is swapped for bl's plain BufferList on a new Aedes client, which still parses", async () => {
    const aedes = await Aedes.createBroker();
    const conn = new PassThrough();
    const client = aedes.handle(conn) as unknown as Listed;
    expect(typeof client._parser._list.pipe).toBe('function'); // a stream, as mqtt-packet makes it
    expect(lightenParser(client)).toBe(true);
    expect(client._parser._list.pipe).toBeUndefined();
    // A PINGREQ split over two calls: the list must keep the first byte for the second.
    const packets: string[] = [];
    const parser = client._parser as unknown as {
      parse(b: Buffer): number;
      on(e: 'packet', f: (p: { cmd: string }) => void): void;
      removeAllListeners(e: string): void;
    };
    parser.removeAllListeners('packet');
    parser.on('packet', (p) => packets.push(p.cmd));
    parser.parse(Buffer.from([0xc0]));
    parser.parse(Buffer.from([0x00, 0xc0, 0x00]));
    expect(packets).toEqual(['pingreq', 'pingreq']);
    conn.destroy();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
  });

  it('is left alone when it already holds bytes, or when there is no parser to lighten', async () => {
    const aedes = await Aedes.createBroker();
    const conn = new PassThrough();
    const client = aedes.handle(conn) as unknown as Listed;
    client._parser._list.append(Buffer.from([0xc0]));
    expect(lightenParser(client)).toBe(false);
    expect(typeof client._parser._list.pipe).toBe('function');
    expect(lightenParser({})).toBe(false);
    expect(lightenParser(null)).toBe(false);
    conn.destroy();
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
  });
});

describe("mqtt-packet's number cache switch (broker.ts)", () => {
  it('reaches the copy Aedes writes with: the gateway and Aedes resolve the same mqtt-packet', () => {
    const require = createRequire(import.meta.url);
    const ours = require.resolve('mqtt-packet');
    const aedes = require.resolve('mqtt-packet', { paths: [dirname(require.resolve('aedes'))] });
    expect(aedes).toBe(ours);
  });
});
