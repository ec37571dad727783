/**
 * Device secrets and user passwords (DESIGN "Secrets").
 *
 * Devices and people get different hashes on purpose:
 * - A device secret is 32 random bytes from `crypto.randomBytes`. Nobody can guess or brute-force
 *   256 bits, so a slow hash buys nothing; what matters is that thousands of devices can reconnect
 *   at once after a gateway restart. A salted HMAC-SHA256 costs microseconds; scrypt costs ~42 ms
 *   of a libuv thread per check and would stall fsync for seconds (DESIGN "Facts checked").
 * - A human password has little entropy, so a stolen registry must make guessing expensive:
 *   scrypt with N=16384, r=8, p=1 (16 MiB, tens of ms), checked rarely (dashboard logins).
 * Every comparison is constant-time, and a malformed hash is "no match", never an exception, so a
 * hand-edited registry cannot crash a login path.
 */
import { createHmac, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { PASSWORD_HASH_PATTERN, SECRET_HASH_PATTERN } from './registry-schema.js';

const SECRET_BYTES = 32;
const SALT_BYTES = 16;
const HMAC_BYTES = 32;

/** A new device secret: 32 random bytes, base64url (43 characters, safe in shells and URLs). */
export function generateSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

function hmac(salt: Buffer, secret: string): Buffer {
  return createHmac('sha256', salt).update(secret, 'utf8').digest();
}

/** `hmac-sha256$<16-byte salt, base64>$<HMAC-SHA256(key = salt, data = secret), base64>`. */
export function hashSecret(secret: string): string {
  const salt = randomBytes(SALT_BYTES);
  return `hmac-sha256$${salt.toString('base64')}$${hmac(salt, secret).toString('base64')}`;
}

/** True when `secret` matches `hash`; false for a wrong secret and for a malformed hash. */
export function verifySecret(secret: string, hash: string): boolean {
  if (typeof secret !== 'string' || typeof hash !== 'string' || !SECRET_HASH_PATTERN.test(hash)) return false;
  const [, saltText = '', expectedText = ''] = hash.split('$');
  const expected = Buffer.from(expectedText, 'base64');
  if (expected.length !== HMAC_BYTES) return false;
  return timingSafeEqual(hmac(Buffer.from(saltText, 'base64'), secret), expected);
}

/** Cost of new password hashes: the scrypt defaults, ~16 MiB of memory per check. */
export const SCRYPT_COST = { N: 16384, r: 8, p: 1 } as const;
const PASSWORD_KEY_BYTES = 32;
/**
 * Bounds for parameters read back from a registry: a hash with N = 2^30 would otherwise let a
 * hand-edited file make every login allocate gigabytes.
 */
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_MEMORY_BYTES = 256 * 1024 * 1024;

function scryptAsync(
  password: string,
  salt: Buffer,
  keylen: number,
  options: ScryptOptions,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keylen, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** `scrypt$N$r$p$<16-byte salt, base64>$<32-byte key, base64>`. */
export async function hashPassword(password: string): Promise<string> {
  const { N, r, p } = SCRYPT_COST;
  const salt = randomBytes(SALT_BYTES);
  const key = await scryptAsync(password, salt, PASSWORD_KEY_BYTES, { N, r, p });
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** True when `password` matches `hash`; false for a wrong password and for a malformed hash. */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  if (typeof password !== 'string' || typeof hash !== 'string' || !PASSWORD_HASH_PATTERN.test(hash))
    return false;
  const [, nText, rText, pText, saltText = '', keyText = ''] = hash.split('$');
  const N = Number(nText);
  const r = Number(rText);
  const p = Number(pText);
  const isPowerOfTwo = N > 1 && (N & (N - 1)) === 0;
  if (!isPowerOfTwo || N > MAX_N || r < 1 || r > MAX_R || p < 1 || p > MAX_P) return false;
  const memory = 128 * N * r * p;
  if (memory > MAX_MEMORY_BYTES) return false;
  const expected = Buffer.from(keyText, 'base64');
  if (expected.length < 16) return false;
  try {
    const key = await scryptAsync(password, Buffer.from(saltText, 'base64'), expected.length, {
      N,
      r,
      p,
      maxmem: memory + 1024 * 1024,
    });
    return timingSafeEqual(key, expected);
  } catch {
    return false;
  }
}
