/**
 * The logging the simulators need: pino's call shape (object first), declared here so that the
 * simulators depend on MQTT, the contract and the registry loader only (DESIGN, Parts).
 */
export interface SimLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentSimLogger: SimLogger = { debug() {}, info() {}, warn() {}, error() {} };
