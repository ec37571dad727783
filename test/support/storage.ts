/**
 * A real file-backed outbox and dead-letter log in a temp dir, for suites that drive the drainer
 * directly (bad batches on a real InfluxDB, the v2 sink against a scripted server).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileDeadLetterLog } from '../../gateway/deadletter.js';
import { silentLogger, type Logger } from '../../gateway/logger.js';
import { FileOutbox } from '../../gateway/outbox.js';
import { type Clock, systemClock } from '../../gateway/types.js';

export interface TestStorage {
  dir: string;
  logger: Logger;
  clock: Clock;
  outbox: FileOutbox;
  deadLetter: FileDeadLetterLog;
  /** Stops both logs and removes the temp dir (stop the drainer first). */
  close(): Promise<void>;
}

export async function openStorage(prefix: string): Promise<TestStorage> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const logger = silentLogger();
  const clock = systemClock;
  const outbox = new FileOutbox({ dir: join(dir, 'outbox'), segmentBytes: 1 << 20, clock, logger });
  const deadLetter = new FileDeadLetterLog({
    dir: join(dir, 'deadletter'),
    maxBytes: 1 << 20,
    deviceBytes: 1 << 18,
    clock,
    logger,
  });
  await outbox.start();
  await deadLetter.start();
  return {
    dir,
    logger,
    clock,
    outbox,
    deadLetter,
    async close() {
      await outbox.stop();
      await deadLetter.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
