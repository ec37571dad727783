/** Waiting on the gateway's outbox backlog, read from its own /api/status. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { GatewayUnderTest } from '../systems/index.js';

/** Resolves once at most `records` readings wait for InfluxDB; throws after `timeoutMs`. */
export async function waitForBacklog(
  gateway: GatewayUnderTest,
  records: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const backlog = (await gateway.status()).backlog.records;
    if (backlog <= records) return;
    if (Date.now() > deadline)
      throw new Error(`the backlog stayed at ${backlog} readings (wanted ≤ ${records}) for ${timeoutMs} ms`);
    await sleep(100);
  }
}
