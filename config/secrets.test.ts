import { describe, expect, it } from '@jest/globals';
import { PASSWORD_HASH_PATTERN, SECRET_HASH_PATTERN } from './registry-schema.js';
import {
  generateSecret,
  hashPassword,
  hashSecret,
  SCRYPT_COST,
  verifyPassword,
  verifySecret,
} from './secrets.js';

describe('device secrets', () => {
  it('are 32 random bytes in base64url', () => {
    const secrets = new Set(Array.from({ length: 200 }, () => generateSecret()));
    expect(secrets.size).toBe(200);
    for (const secret of secrets) {
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    }
  });

  it('hash to the registry format with a fresh 16-byte salt each time', () => {
    const secret = generateSecret();
    const a = hashSecret(secret);
    const b = hashSecret(secret);
    expect(a).toMatch(SECRET_HASH_PATTERN);
    expect(a).not.toBe(b);
    const [scheme, salt = '', mac = ''] = a.split('$');
    expect(scheme).toBe('hmac-sha256');
    expect(Buffer.from(salt, 'base64')).toHaveLength(16);
    expect(Buffer.from(mac, 'base64')).toHaveLength(32);
  });

  it('verify the right secret only', () => {
    const secret = generateSecret();
    const hash = hashSecret(secret);
    expect(verifySecret(secret, hash)).toBe(true);
    expect(verifySecret(generateSecret(), hash)).toBe(false);
    expect(verifySecret(`${secret}x`, hash)).toBe(false);
    expect(verifySecret('', hash)).toBe(false);
    expect(verifySecret(secret, hashSecret(''))).toBe(false);
  });

  it('refuse a tampered hash', () => {
    const secret = generateSecret();
    const hash = hashSecret(secret);
    const [scheme, salt = '', mac = ''] = hash.split('$');
    const flip = (s: string) => (s[0] === 'A' ? 'B' : 'A') + s.slice(1);
    expect(verifySecret(secret, `${scheme}$${flip(salt)}$${mac}`)).toBe(false);
    expect(verifySecret(secret, `${scheme}$${salt}$${flip(mac)}`)).toBe(false);
  });

  it('answer false, never throw, for malformed hashes', () => {
    const secret = generateSecret();
    const good = hashSecret(secret);
    const malformed = [
      '',
      'hmac-sha256$$',
      good.replace('hmac-sha256', 'hmac-sha1'),
      good.slice(0, -5),
      `${good}$extra`,
      good.replace(/\$[^$]+$/, '$not base64 at all!!'),
      'scrypt$16384$8$1$AAAA$AAAA',
      secret,
    ];
    for (const hash of malformed) expect(verifySecret(secret, hash)).toBe(false);
    expect(verifySecret(secret, undefined as unknown as string)).toBe(false);
    expect(verifySecret(undefined as unknown as string, good)).toBe(false);
  });
});

describe('user passwords', () => {
  it('hash with scrypt N=16384 r=8 p=1 and a 16-byte salt', async () => {
    const hash = await hashPassword('correct horse battery staple');
    expect(hash).toMatch(PASSWORD_HASH_PATTERN);
    const [scheme, n, r, p, salt = ''] = hash.split('$');
    expect([scheme, Number(n), Number(r), Number(p)]).toEqual([
      'scrypt',
      SCRYPT_COST.N,
      SCRYPT_COST.r,
      SCRYPT_COST.p,
    ]);
    expect(Buffer.from(salt, 'base64')).toHaveLength(16);
    expect(await hashPassword('correct horse battery staple')).not.toBe(hash);
  });

  it('verify the right password only', async () => {
    const hash = await hashPassword('Valmalenco-2026!');
    expect(await verifyPassword('Valmalenco-2026!', hash)).toBe(true);
    expect(await verifyPassword('valmalenco-2026!', hash)).toBe(false);
    expect(await verifyPassword('', hash)).toBe(false);
  });

  it('treat composed and decomposed accents as the same password', async () => {
    const composed = 'Mobilit\u00e0 di Chiesa';
    const decomposed = 'Mobilita\u0300 di Chiesa';
    expect(await verifyPassword(decomposed, await hashPassword(composed))).toBe(true);
  });

  it('answer false for malformed hashes and for costs that would exhaust memory', async () => {
    const hash = await hashPassword('a long enough password');
    const parts = hash.split('$');
    const withCost = (n: string, r = '8', p = '1') => [parts[0], n, r, p, parts[4], parts[5]].join('$');
    const bad = [
      '',
      'scrypt$$$$$',
      hash.replace('scrypt', 'bcrypt'),
      withCost('1000'), // not a power of two
      withCost(String(2 ** 30)), // would need 128 GiB
      withCost('16384', '0'),
      withCost('16384', '8', '99'),
      hashSecret('a long enough password'),
    ];
    for (const h of bad) expect(await verifyPassword('a long enough password', h)).toBe(false);
  });
});
