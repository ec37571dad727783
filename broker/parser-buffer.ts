/**
 * mqtt-packet's parser keeps the bytes of a packet still arriving in a `bl` BufferListStream: a
 * whole Duplex stream (its two stream states, emitter and buffers, ~1 KiB) per connection, of
 * which the parser uses only the buffer-list half (append, consume, read*). For 5,000 device
 * connections that is ~5 MiB of heap that V8 then grows around (docs/performance.md, Memory).
 * The plain BufferList of the same `bl` (the stream's class carries it as `.BufferList`) has the
 * same methods at ~90 bytes.
 *
 * It is swapped in when Aedes has just made the client, before any byte is parsed. Anything
 * unexpected (another mqtt-packet, a list already holding bytes) leaves the parser as it is: the
 * saving is memory only, never behaviour. After a parse error mqtt-packet makes a new stream list,
 * but the connection is being closed then.
 */
interface ParserList {
  length: number;
  constructor: { BufferList?: unknown };
}

interface WithParser {
  _parser?: { _list?: ParserList };
}

/** Returns true when the parser now uses a plain BufferList. */
export function lightenParser(client: unknown): boolean {
  const parser = (client as WithParser | null)?._parser;
  const list = parser?._list;
  if (!parser || !list || list.length !== 0) return false;
  const Plain = list.constructor.BufferList;
  if (typeof Plain !== 'function' || list.constructor === Plain) return false;
  parser._list = new (Plain as new () => ParserList)();
  return true;
}
