/** Free loopback ports for servers that cannot be told to listen on port 0 (influxd, mosquitto). */
import { createServer } from 'node:net';

/**
 * A port the kernel just handed out on 127.0.0.1. Another process may take it before the caller
 * binds it, so callers that start a child server retry on "address already in use".
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => (port === undefined ? reject(new Error('no port assigned')) : resolve(port)));
    });
  });
}
