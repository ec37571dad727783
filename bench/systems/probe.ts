/**
 * Preloaded (`--import`) into the gateway process the bench starts: event-loop delay, which only
 * the process itself can measure. The bench asks over the IPC channel: `lag-reset` starts a window,
 * `lag` answers its p99 in ms; `memory` answers process.memoryUsage() (where the RSS goes: V8 heap,
 * external buffers, the rest). The channel is unref'd so it never keeps the gateway alive.
 */
import { lagP99Ms, monitorLag } from '../stats.js';

const histogram = monitorLag();
process.channel?.unref();
process.on('message', (m: { type?: string }) => {
  if (m.type === 'lag-reset') histogram.reset();
  if (m.type === 'lag') process.send?.({ type: 'lag', p99Ms: lagP99Ms(histogram) });
  if (m.type === 'memory') {
    // Under `NODE_OPTIONS=--expose-gc` (a memory investigation, never the bench's own runs) the
    // figures are what is retained, not what garbage happens to be waiting.
    (globalThis as { gc?: () => void }).gc?.();
    process.send?.({ type: 'memory', usage: process.memoryUsage() });
  }
});
