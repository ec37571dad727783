/**
 * V8's heap sizing for the long-running gateway. By default V8 lets the old generation grow to up
 * to four times what survives a collection while allocation is fast, and keeps that room
 * afterwards: every connect storm (5,000 devices reconnecting after a radio outage) left the
 * gateway larger, from 380 to 610 MiB of RSS over five storms with ~110 MiB actually live
 * (docs/performance.md, scenario 4). A growth factor of 2 bounds the room to about the live size,
 * at a cost measured by the bench (a few percent of peak ingest). The flag is applied at start,
 * before the registry and the connections allocate; `node --heap-growing-percent=N` on the
 * command line wins (Node refuses V8 flags like this one in NODE_OPTIONS).
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 100;

/** Sets the growth factor unless the operator gave one; true when it did set it. */
export function tuneHeap(execArgv: readonly string[] = process.execArgv): boolean {
  const given = execArgv.some((a) => /^--heap[-_]growing[-_]percent\b/.test(a));
  if (given) return false;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  return true;
}
