/**
 * Who may CONNECT, decided before any session exists. Devices are checked with a fast salted
 * HMAC (thousands reconnect at once after a radio outage); operator users with scrypt. scrypt
 * (~42 ms, 16 MiB) runs on libuv's thread pool, which the outbox's fdatasync shares: an
 * unbounded stream of password guesses would starve every device's PUBACK. So password checks
 * are bounded — a few at a time, a short queue, a few pending per address — and refused at once
 * ("server unavailable") beyond that; viewers, who use the dashboard only, are refused before any
 * hashing.
 */
import type { RegistryIndex } from '../config/registry-schema.js';
import { verifyPassword, verifySecret } from '../config/secrets.js';
import type { Identity } from './acl.js';
import type { RefusalCode } from './refusals.js';

/** MQTT 3.1.1 CONNACK return codes. */
export const CONNACK = {
  identifierRejected: 2,
  serverUnavailable: 3,
  badCredentials: 4,
  notAuthorized: 5,
} as const;

export type AuthResult =
  | { ok: true; identity: Identity }
  | { ok: false; returnCode: number; reason: string; code: RefusalCode; countsAsGuess: boolean };

export interface PasswordCheckLimits {
  /** scrypt checks running at once (each holds a libuv thread for ~42 ms). */
  concurrent: number;
  /** checks waiting for a slot; beyond, refused at once. */
  queued: number;
  /** checks running or waiting per remote address. */
  perAddress: number;
}

export const DEFAULT_PASSWORD_LIMITS: PasswordCheckLimits = { concurrent: 2, queued: 16, perAddress: 2 };

export class Authenticator {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly registry: () => RegistryIndex,
    private readonly limits: PasswordCheckLimits = DEFAULT_PASSWORD_LIMITS,
  ) {}

  async check(
    clientId: string,
    username: string | undefined,
    password: Buffer | undefined,
    address: string,
  ): Promise<AuthResult> {
    if (username === undefined || username !== clientId) {
      return {
        ok: false,
        returnCode: CONNACK.identifierRejected,
        reason: 'client id must equal the username (the device id)',
        code: 'client_id_mismatch',
        countsAsGuess: false,
      };
    }
    const secret = password?.toString('utf8') ?? '';
    const registry = this.registry();
    const device = registry.devices.get(clientId);
    if (device) {
      if (verifySecret(secret, device.device.secret_hash))
        return { ok: true, identity: { type: 'device', id: clientId } };
      return {
        ok: false,
        returnCode: CONNACK.badCredentials,
        reason: 'wrong secret',
        code: 'bad_secret',
        countsAsGuess: true,
      };
    }
    const user = registry.users.get(clientId);
    // The same answer for an unknown id as for a wrong secret: the CONNACK does not tell a
    // guesser which ids exist. The log and the counters say which it was.
    if (!user)
      return {
        ok: false,
        returnCode: CONNACK.badCredentials,
        reason: 'unknown device or user',
        code: 'unknown_id',
        countsAsGuess: true,
      };
    if (user.role !== 'operator') {
      return {
        ok: false,
        returnCode: CONNACK.notAuthorized,
        reason: 'viewers use the dashboard only; MQTT is for devices and operators',
        code: 'viewer_role',
        countsAsGuess: false,
      };
    }
    const slot = this.acquire(address);
    if (!slot) {
      return {
        ok: false,
        returnCode: CONNACK.serverUnavailable,
        reason: 'too many password checks at once; try again later',
        code: 'auth_busy',
        countsAsGuess: false,
      };
    }
    try {
      await slot;
      const ok = await verifyPassword(secret, user.password_hash).catch(() => false);
      if (ok) return { ok: true, identity: { type: 'user', id: user.id, role: user.role } };
      return {
        ok: false,
        returnCode: CONNACK.badCredentials,
        reason: 'wrong password',
        code: 'bad_password',
        countsAsGuess: true,
      };
    } finally {
      this.release(address);
    }
  }

  /** A promise that resolves when a check may run, or null when the limits are reached. */
  private acquire(address: string): Promise<void> | null {
    const mine = this.perAddress.get(address) ?? 0;
    if (mine >= this.limits.perAddress) return null;
    if (this.running >= this.limits.concurrent && this.waiting.length >= this.limits.queued) return null;
    this.perAddress.set(address, mine + 1);
    if (this.running < this.limits.concurrent) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) =>
      this.waiting.push(() => {
        this.running++;
        resolve();
      }),
    );
  }

  private release(address: string): void {
    const mine = (this.perAddress.get(address) ?? 1) - 1;
    if (mine <= 0) this.perAddress.delete(address);
    else this.perAddress.set(address, mine);
    this.running--;
    this.waiting.shift()?.();
  }
}
