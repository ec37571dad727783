/**
 * The CONNECT decision as Aedes asks for it: the Authenticator's verdict, a refusal answered after
 * the login throttle's delay (only guesses grow it), a success answered at once and resetting its
 * (address, client id) key, so the real device is never locked out by a guesser.
 */
import type { AuthenticateError, Client } from 'aedes';
import type { RegistryIndex } from '../config/registry-schema.js';
import type { Logger } from '../gateway/logger.js';
import type { Clock } from '../gateway/types.js';
import type { Identity } from './acl.js';
import { Authenticator, CONNACK } from './authenticator.js';
import { LoginThrottle } from './login-throttle.js';
import type { RefusalCounter } from './refusal-counter.js';
import type { RefusalCode } from './refusals.js';
import { remoteAddressOf } from './size-guard.js';

export interface LoginGateDeps {
  registry: () => RegistryIndex;
  clock: Clock;
  log: Logger;
  refusals: RefusalCounter;
  loginDelayBaseMs: number;
  loginDelayMaxMs: number;
}

export type AuthenticateDone = (error: AuthenticateError | null, success: boolean | null) => void;

export class LoginGate {
  private readonly throttle: LoginThrottle;
  private readonly authenticator: Authenticator;
  /** Refusals waiting for their delay. */
  private readonly pendingTimers = new Set<NodeJS.Timeout>();

  constructor(private readonly deps: LoginGateDeps) {
    this.authenticator = new Authenticator(deps.registry);
    this.throttle = new LoginThrottle(deps.clock, deps.loginDelayBaseMs, deps.loginDelayMaxMs);
  }

  /** Aedes' authenticate hook; `onSuccess` runs before Aedes hears of the success. */
  authenticate(
    client: Client,
    username: string | undefined,
    password: Buffer | undefined,
    done: AuthenticateDone,
    onSuccess: (identity: Identity) => void,
  ): void {
    const address = remoteAddressOf(client.conn) ?? 'unknown';
    const fail = (returnCode: number, reason: string, code: RefusalCode, countsAsGuess: boolean) => {
      this.deps.refusals.connection(reason, code, client.id, address);
      // Only guesses grow the delay; "busy" and protocol mistakes are answered at once.
      const delay = countsAsGuess ? this.throttle.failure(address, client.id) : 0;
      this.deps.log.info({ clientId: client.id, address, code, reason, delayMs: delay }, 'CONNECT refused');
      const error: AuthenticateError = Object.assign(new Error(reason), {
        returnCode: returnCode,
      });
      const timer = setTimeout(() => {
        this.pendingTimers.delete(timer);
        done(error, false);
      }, delay);
      this.pendingTimers.add(timer);
    };
    this.authenticator.check(client.id, username, password, address).then(
      (result) => {
        if (result.ok) {
          this.throttle.success(address, client.id);
          onSuccess(result.identity);
          done(null, true);
        } else fail(result.returnCode, result.reason, result.code, result.countsAsGuess);
      },
      (err: unknown) => {
        this.deps.log.error({ clientId: client.id, err }, 'authentication failed unexpectedly');
        fail(CONNACK.serverUnavailable, 'authentication error', 'auth_error', false);
      },
    );
  }

  /** Failed logins counted for (address, client id); 0 after a success. */
  failuresOf(address: string, clientId: string): number {
    return this.throttle.failuresOf(address, clientId);
  }

  /** Refusals still waiting for their delay are dropped with their connections. */
  stop(): void {
    for (const timer of this.pendingTimers) clearTimeout(timer);
    this.pendingTimers.clear();
  }
}
