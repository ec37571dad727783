/** One structured logger (pino); modules take a child with their name. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      // Secrets never reach the log, even when an object carrying them is logged by mistake.
      redact: {
        paths: [
          'password',
          'secret',
          '*.password',
          '*.secret',
          'token',
          '*.token',
          'metricsToken',
          '*.metricsToken',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** A logger that drops everything, for tests that assert on behaviour, not on logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
