/**
 * The packet-size guard and output bound on a connection's stream. Aedes has no maximum packet
 * size: mqtt-packet buffers a whole packet (up to 256 MiB) before any hook runs, CONNECT included.
 * The guard reads each fixed header's remaining length as bytes arrive and destroys the connection
 * as soon as a header announces more than the limit — before the body is read. Bytes pass through
 * untouched otherwise (no copy, no parse).
 *
 * It is installed on the socket (or WebSocket stream) itself rather than as a stream between the
 * socket and Aedes: the socket hands every chunk it reads to its own `push` and Aedes writes with
 * its `write`, so the guard wraps those two methods of that one object. A Duplex in between cost
 * ~1.5 KiB of heap per connection (7 MiB for 5,000 devices) and a second stream hop for every
 * chunk in and out (docs/decisions.md). The per-connection state is one small object kept under a
 * symbol; the wrappers are shared functions, not closures per connection.
 */
import type { Duplex } from 'node:stream';

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

/**
 * Where a guarded connection reports, shared by all of them (no closures per connection).
 * `clientId` is the Aedes client's id once known (see `setGuardOwner`), '' before.
 */
export interface GuardEvents {
  violation(remoteAddress: string, v: GuardViolation): void;
  /** Unsent output passed the limit (see `guardedWrite`); the connection is being dropped. */
  slow(clientId: string, remoteAddress: string, bufferedBytes: number): void;
}

type Push = (chunk: unknown, encoding?: BufferEncoding) => boolean;
type Write = (chunk: unknown, encoding?: unknown, callback?: unknown) => boolean;

/** What the guard keeps per connection: the scanner's state and a few fields. */
class Guard extends PacketScanner {
  bytesReceived = 0;
  held = false;
  /** Whose connection it is, once Aedes has the client. */
  owner: { readonly id?: string | null } | undefined;

  constructor(
    maxPacketBytes: number,
    readonly remoteAddress: string,
    readonly events: GuardEvents,
    /** Unsent bytes above which the connection is dropped; undefined: the stream's own back-pressure. */
    readonly outputLimitBytes: number | undefined,
    /** The stream's own methods, called by the wrappers. */
    readonly push: Push,
    /** Replaced when net.Socket swaps its own write at the peer's FIN (see `rewrapWrite`). */
    public write: Write,
  ) {
    super(maxPacketBytes);
  }
}

const GUARD = Symbol('valley.sizeGuard');

/** A stream with the guard installed: what Aedes gets as the client's `conn`. */
export type GuardedStream = Duplex & { [GUARD]: Guard };

export interface GuardOptions {
  maxPacketBytes: number;
  /** Kept for logs and refusals: a socket forgets its peer once closed. */
  remoteAddress: string;
  events: GuardEvents;
  /** A client whose socket holds more than this many bytes not yet taken by the kernel is dropped. */
  outputLimitBytes?: number;
}

/**
 * Installs the guard on `stream` and returns it. Reads are scanned as the stream receives them;
 * with an output limit, writes complete at once and the unsent bytes are bounded instead (see
 * `guardedWrite`); without one, the stream's own back-pressure applies.
 */
export function guardConnection(stream: Duplex, options: GuardOptions): GuardedStream {
  const guarded = stream as GuardedStream;
  // The stream's own methods, kept unbound: the wrappers call them with the stream as `this`.
  const own = stream as unknown as { push: Push; write: Write };
  guarded[GUARD] = new Guard(
    options.maxPacketBytes,
    options.remoteAddress,
    options.events,
    options.outputLimitBytes,
    own.push,
    own.write,
  );
  guarded.push = guardedPush as Duplex['push'];
  if (options.outputLimitBytes !== undefined) {
    guarded.write = guardedWrite as Duplex['write'];
    guarded.on('end', rewrapWrite);
  }
  return guarded;
}

/** Names the client a guarded connection belongs to, for the `slow` event. */
export function setGuardOwner(stream: GuardedStream, owner: { readonly id?: string | null }): void {
  stream[GUARD].owner = owner;
}

/** The peer address the connection was accepted from, or undefined for an unguarded stream. */
export function remoteAddressOf(stream: unknown): string | undefined {
  return (stream as Partial<GuardedStream> | null)?.[GUARD]?.remoteAddress;
}

/**
 * Stops taking bytes from the connection for good (shutdown): packets already received are still
 * processed and acknowledged, nothing new reaches Aedes. Writes (the PUBACKs) keep flowing.
 */
export function holdConnection(stream: GuardedStream): void {
  stream[GUARD].held = true;
}

function guardedPush(this: GuardedStream, chunk: unknown, encoding?: BufferEncoding): boolean {
  const guard = this[GUARD];
  if (chunk === null || chunk === undefined) return guard.push.call(this, chunk, encoding);
  // ws goes on delivering the frames of a chunk it already read after the stream is destroyed:
  // they must not be scanned again (the scanner stopped mid-header) and reported twice.
  if (this.destroyed) return false;
  // Held: dropped, never acknowledged (the device resends). `true`, so the stream goes on reading
  // and sees the peer's FIN or WebSocket close frame that ends the connection gracefully.
  if (guard.held) return true;
  const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : (chunk as Uint8Array);
  guard.bytesReceived += bytes.length;
  const found = guard.scan(bytes);
  if (found === null) return guard.push.call(this, bytes);
  // Dropped with the connection, and so are complete packets before it in the same chunk: none of
  // them was acknowledged, so the device sends them again when it reconnects.
  guard.events.violation(guard.remoteAddress, {
    reason: found.violation,
    ...(found.declared !== undefined && { declaredBytes: found.declared }),
    bytesReceived: guard.bytesReceived,
  });
  this.destroy();
  return false;
}

/**
 * A net.Socket whose peer half-closes replaces its `write` with `writeAfterFIN` (its own 'end'
 * listener, added before this one, when allowHalfOpen is off): the guard wraps that one too, so a
 * PUBACK written while Aedes closes the client still never asks it to wait for 'drain'.
 */
function rewrapWrite(this: GuardedStream): void {
  const own = this as unknown as { write: Write };
  if (own.write === guardedWrite) return;
  this[GUARD].write = own.write;
  this.write = guardedWrite as Duplex['write'];
}

/**
 * Aedes waits for 'drain' after a write that returned false, and it does so inside the delivery of
 * a message to every subscriber: a subscriber that stops reading holds a slot of the broker-wide
 * emitter (100 at once) until its drainTimeout (60 s), and every publish behind it, the gateway's
 * own live readings included, queues in memory without bound (and releasing that queue at once
 * overflowed the stack). So a write here reports success at once: the unsent bytes wait in the
 * socket's buffer, which is what the limit bounds. mqtt-packet corks the socket around each
 * packet, so a burst of PUBACKs still leaves as one writev.
 */
function guardedWrite(this: GuardedStream, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
  const guard = this[GUARD];
  if (this.destroyed) {
    // A late PUBACK to a connection already gone: nothing to send, nobody to tell.
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') process.nextTick(done);
    return true;
  }
  guard.write.call(this, chunk, encoding, callback);
  const buffered = this.writableLength;
  if (buffered > guard.outputLimitBytes!) {
    guard.events.slow(guard.owner?.id ?? '', guard.remoteAddress, buffered);
    this.destroy();
  }
  return true;
}
