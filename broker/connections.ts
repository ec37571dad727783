/**
 * The open MQTT connections, for shutdown: hold them (no more reads, writes still flow) and end
 * them gracefully, so PUBACKs already written leave before the sessions close.
 */
import { holdConnection, type GuardedStream } from './size-guard.js';

/** How long written PUBACKs get to leave before the sessions are closed. */
const END_TIMEOUT_MS = 1000;

export class OpenConnections {
  private readonly open = new Set<GuardedStream>();

  add(connection: GuardedStream): void {
    this.open.add(connection);
    connection.once('close', () => this.open.delete(connection));
  }

  holdAll(): void {
    for (const connection of this.open) holdConnection(connection);
  }

  /**
   * Ends every connection: mqtt-packet corks its writes until the next tick, and Aedes's close()
   * destroys the socket, which would drop the last PUBACKs unsent. Bounded, as a client that
   * stopped reading never lets its socket drain.
   */
  async endAll(timeoutMs = END_TIMEOUT_MS): Promise<void> {
    const ending = [...this.open].filter((c) => !c.destroyed && !c.writableFinished);
    if (ending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const ended = ending.map(
      (c) =>
        new Promise<void>((resolve) => {
          c.once('finish', resolve);
          c.once('close', resolve);
          c.end();
        }),
    );
    await Promise.race([
      Promise.all(ended),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }
}
