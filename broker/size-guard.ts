/**
 * The packet-size guard on the socket stream. Aedes has no maximum packet size: mqtt-packet buffers
 * a whole packet (up to 256 MiB) before any hook runs, CONNECT included. This stream sits between
 * the socket and Aedes, reads each fixed header's remaining length as bytes arrive, and destroys
 * the connection as soon as a header announces more than the limit — before the body is read.
 * Bytes pass through untouched otherwise (no copy, no parse).
 */
import { Duplex } from 'node:stream';

export interface GuardViolation {
  reason: 'packet-too-large' | 'malformed-length';
  declaredBytes?: number;
  /** Bytes this connection had received when it was dropped. */
  bytesReceived: number;
}

const enum State {
  Header,
  Length,
  Body,
}

/** Scans MQTT fixed headers across chunk boundaries. */
export class PacketScanner {
  private state = State.Header;
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private remaining = 0;

  constructor(private readonly maxRemainingLength: number) {}

  /**
   * Returns -1 when the whole chunk is fine, or the offset where the offending packet starts
   * (its first header byte) together with the violation.
   */
  scan(chunk: Uint8Array): { at: number; violation: GuardViolation['reason']; declared?: number } | null {
    let i = 0;
    let packetStart = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case State.Body: {
          const skip = Math.min(this.remaining, chunk.length - i);
          i += skip;
          this.remaining -= skip;
          if (this.remaining === 0) this.state = State.Header;
          break;
        }
        case State.Header:
          packetStart = i;
          i++;
          this.state = State.Length;
          this.length = 0;
          this.multiplier = 1;
          this.lengthBytes = 0;
          break;
        case State.Length: {
          const byte = chunk[i++]!;
          this.length += (byte & 0x7f) * this.multiplier;
          this.multiplier *= 128;
          this.lengthBytes++;
          if ((byte & 0x80) === 0) {
            if (this.length > this.maxRemainingLength) {
              return { at: packetStart, violation: 'packet-too-large', declared: this.length };
            }
            this.remaining = this.length;
            this.state = this.length > 0 ? State.Body : State.Header;
          } else if (this.lengthBytes === 4) {
            return { at: packetStart, violation: 'malformed-length' };
          }
          break;
        }
      }
    }
    return null;
  }
}

/** The stream surface we need from a socket or a WebSocket stream. */
export type ByteStream = Duplex & { remoteAddress?: string | undefined };

/**
 * The bound on what one connection may leave unsent (see GuardedConnection's `_write`): a client
 * whose socket holds more than `maxBytes` not yet taken by the kernel is dropped.
 */
export interface OutputLimit {
  maxBytes: number;
  onExceeded(bufferedBytes: number): void;
}

/**
 * A duplex that Aedes reads from and writes to: reads come from `inner` through the scanner,
 * writes go straight to `inner`. Back-pressure is kept on reads: when Aedes stops reading, `inner`
 * pauses. Writes are bounded instead of back-pressured (see `_write`).
 */
export class GuardedConnection extends Duplex {
  private readonly scanner: PacketScanner;
  private bytesReceived = 0;
  private held = false;
  readonly remoteAddress: string;

  constructor(
    private readonly inner: Duplex,
    maxPacketBytes: number,
    remoteAddress: string,
    private readonly onViolation: (v: GuardViolation) => void,
    private readonly outputLimit?: OutputLimit,
  ) {
    super({ allowHalfOpen: false });
    this.remoteAddress = remoteAddress;
    this.scanner = new PacketScanner(maxPacketBytes);
    inner.on('data', (chunk: Buffer) => this.onChunk(chunk));
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
  }

  private onChunk(chunk: Buffer): void {
    this.bytesReceived += chunk.length;
    const found = this.scanner.scan(chunk);
    if (found) {
      // Hand Aedes the complete packets before the offending one, then drop the connection.
      if (found.at > 0) this.push(chunk.subarray(0, found.at));
      this.onViolation({
        reason: found.violation,
        ...(found.declared !== undefined && { declaredBytes: found.declared }),
        bytesReceived: this.bytesReceived,
      });
      this.inner.destroy();
      this.destroy();
      return;
    }
    if (!this.push(chunk)) this.inner.pause();
  }

  /**
   * Stops reading from the socket for good (shutdown): packets already handed to Aedes are still
   * processed and acknowledged, nothing new arrives. Writes (the PUBACKs) keep flowing.
   */
  hold(): void {
    this.held = true;
    this.inner.pause();
  }

  override _read(): void {
    if (!this.held) this.inner.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.inner.destroyed) {
      callback();
      return;
    }
    this.writeLast(chunk, encoding, callback);
  }

  /** Writes the last (or only) chunk of a write and calls back per the output policy above. */
  private writeLast(chunk: Buffer, encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const limit = this.outputLimit;
    if (limit === undefined) {
      this.inner.write(chunk, encoding, callback);
      return;
    }
    // Aedes waits for 'drain' after a write that returned false, and it does so inside the
    // delivery of a message to every subscriber: a subscriber that stops reading holds a slot of
    // the broker-wide emitter (100 at once) until its drainTimeout (60 s), and every publish
    // behind it, the gateway's own live readings included, queues in memory without bound (and
    // releasing that queue at once overflowed the stack). So a write here completes at once: the
    // unsent bytes wait in the socket's buffer, which is what the limit bounds.
    this.inner.write(chunk, encoding);
    callback();
    const buffered = this.inner.writableLength;
    if (buffered > limit.maxBytes) {
      limit.onExceeded(buffered);
      this.destroy();
    }
  }

  /**
   * Writes that queued up while the socket was busy, or that mqtt-packet corked together (it
   * corks every packet it writes), go to the socket as one corked batch: one writev syscall
   * instead of one write per chunk. Without this, every PUBACK of a group commit (two chunks each)
   * was its own syscall, the largest single cost in the gateway's CPU profile under load.
   */
  override _writev(
    chunks: { chunk: Buffer; encoding: BufferEncoding }[],
    callback: (error?: Error | null) => void,
  ): void {
    if (this.inner.destroyed) {
      callback();
      return;
    }
    this.inner.cork();
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) this.inner.write(chunks[i]!.chunk, chunks[i]!.encoding);
    // The same output bound as `_write`: a batch must not bypass it.
    this.writeLast(chunks[last]!.chunk, chunks[last]!.encoding, callback);
    this.inner.uncork();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inner.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inner.destroy();
    callback(error);
  }
}
