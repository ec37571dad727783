import { PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { ConnectionClosedError, connectionSignal } from './connection-signal.js';

const client = (closed = false) => ({ closed, conn: new PassThrough() });

describe('connectionSignal', () => {
  it('is one signal per connection, aborted when its stream closes', async () => {
    const a = client();
    const b = client();
    const signal = connectionSignal(a);
    expect(connectionSignal(a)).toBe(signal);
    expect(connectionSignal(b)).not.toBe(signal);
    expect(signal.aborted).toBe(false);
    a.conn.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toBeInstanceOf(ConnectionClosedError);
    expect(connectionSignal(b).aborted).toBe(false);
  });

  it('is aborted at once for a connection already closed', () => {
    expect(connectionSignal(client(true)).aborted).toBe(true);
    const destroyed = client();
    destroyed.conn.destroy();
    expect(connectionSignal(destroyed).aborted).toBe(true);
  });
});
