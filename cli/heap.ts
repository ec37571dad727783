/**
 * V8's heap tuning for the long-running gateway, applied at start, before the registry and the
 * connections allocate. `node --flag` on the command line wins for each (Node refuses V8 flags like
 * these in NODE_OPTIONS).
 *
 * - Growth factor 2 (`--heap-growing-percent=100`). By default V8 lets the old generation grow to
 *   up to four times what survives a collection while allocation is fast, and keeps that room
 *   afterwards: every connect storm (5,000 devices reconnecting after a radio outage) left the
 *   gateway larger, from 380 to 610 MiB of RSS over five storms with ~110 MiB actually live
 *   (docs/performance.md, scenario 4). Factor 2 bounds the room to about the live size, at a cost
 *   measured by the bench (a few percent of peak ingest).
 * - No allocation-site pretenuring. Under a burst (thousands of readings in flight, each alive
 *   across a young-generation collection) V8 decides that a reading's objects are long-lived and
 *   from then on allocates them straight in the old generation. The decision outlived the burst:
 *   at an ordinary 5,000 readings/s the old generation then filled with short-lived readings, a
 *   full collection ran every ~3 s instead of every ~20 s, and PUBACK p99 went from ~5 to
 *   16–31 ms (docs/decisions.md, "No allocation-site pretenuring: PUBACK p99 after a burst").
 */
import { setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_PERCENT = 100;

const TUNING: readonly { flag: string; given: RegExp }[] = [
  { flag: `--heap-growing-percent=${HEAP_GROWING_PERCENT}`, given: /^--heap[-_]growing[-_]percent\b/ },
  {
    flag: '--no-allocation-site-pretenuring',
    // V8 also takes "--noallocation-site-pretenuring".
    given: /^--(no[-_]?)?allocation[-_]site[-_]pretenuring\b/,
  },
];

/** Sets each tuning flag the operator did not give on the command line; answers the ones it set. */
export function tuneHeap(
  execArgv: readonly string[] = process.execArgv,
  setFlag: (flag: string) => void = setFlagsFromString,
): string[] {
  const set: string[] = [];
  for (const { flag, given } of TUNING) {
    if (execArgv.some((a) => given.test(a))) continue;
    setFlag(flag);
    set.push(flag);
  }
  return set;
}
