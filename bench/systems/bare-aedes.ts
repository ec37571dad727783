/**
 * Bare Aedes for scenario 1 and the ratio of scenario 2: a broker with no hooks at all (anyone may
 * connect and publish), in its own process like the gateway. Prints `port=<n>` once listening.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const broker = await Aedes.createBroker();
const server = createServer(broker.handle);
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`port=${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  broker.close(() => process.exit(0));
});
