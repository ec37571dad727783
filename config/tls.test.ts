import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeTestCertificates, type TestCertificates } from '../test/support/tls-certs.js';
import { resolveSettings, SettingsError } from './settings.js';
import { loadTlsMaterial, plaintextBind, TlsFilesError } from './tls.js';

function problems(env: NodeJS.ProcessEnv, flags: Record<string, string | boolean> = {}): string[] {
  try {
    resolveSettings(env, flags);
  } catch (err) {
    if (err instanceof SettingsError) return err.problems;
    throw err;
  }
  throw new Error('expected a SettingsError');
}

async function tlsError(files: { tlsCert: string; tlsKey: string; tlsCa?: string }): Promise<string> {
  try {
    await loadTlsMaterial(files);
  } catch (error) {
    if (error instanceof TlsFilesError) return error.message;
    throw error;
  }
  throw new Error('expected a TlsFilesError');
}

describe('TLS settings', () => {
  it('keeps TLS off by default, with the documented ports and plaintext on loopback', () => {
    const { settings } = resolveSettings({});
    expect(settings).toMatchObject({
      mqttsPort: 8883,
      wssPort: 8084,
      httpsPort: 3443,
      plaintextPublic: false,
    });
    expect(settings.tlsCert).toBeUndefined();
  });

  it('takes the certificate paths from env vars and flags (flag wins)', () => {
    const { settings } = resolveSettings(
      { VALLEY_TLS_CERT: '/etc/a.crt', VALLEY_TLS_KEY: '/etc/a.key', VALLEY_MQTTS_PORT: '18883' },
      { 'tls-cert': '/etc/b.crt', 'plaintext-public': true },
    );
    expect(settings).toMatchObject({
      tlsCert: '/etc/b.crt',
      tlsKey: '/etc/a.key',
      mqttsPort: 18883,
      plaintextPublic: true,
    });
  });

  it('refuses a certificate without a key (and the reverse), naming both variables', () => {
    for (const env of [{ VALLEY_TLS_CERT: '/etc/a.crt' }, { VALLEY_TLS_KEY: '/etc/a.key' }]) {
      const found = problems(env);
      expect(found).toHaveLength(1);
      expect(found[0]).toContain('VALLEY_TLS_CERT');
      expect(found[0]).toContain('VALLEY_TLS_KEY');
    }
    expect(problems({}, { 'tls-key': '/etc/a.key' })[0]).toContain('--tls-cert');
  });

  it('refuses a CA chain without a certificate, and a bad TLS port', () => {
    expect(problems({ VALLEY_TLS_CA: '/etc/chain.pem' })[0]).toMatch(/VALLEY_TLS_CA.*VALLEY_TLS_CERT/);
    expect(problems({ VALLEY_HTTPS_PORT: 'https' })[0]).toMatch(/VALLEY_HTTPS_PORT/);
    expect(problems({ VALLEY_WSS_PORT: '70000' })[0]).toMatch(/VALLEY_WSS_PORT/);
  });
});

describe('plaintextBind', () => {
  it('keeps plaintext on loopback with TLS on, unless allowed', () => {
    expect(plaintextBind({ bind: '0.0.0.0', plaintextPublic: false }, true)).toBe('127.0.0.1');
    expect(plaintextBind({ bind: '::', plaintextPublic: false }, true)).toBe('::1');
    expect(plaintextBind({ bind: '10.1.2.3', plaintextPublic: true }, true)).toBe('10.1.2.3');
    expect(plaintextBind({ bind: '0.0.0.0', plaintextPublic: false }, false)).toBe('0.0.0.0');
    expect(plaintextBind({ bind: 'localhost', plaintextPublic: false }, true)).toBe('localhost');
  });
});

describe('loadTlsMaterial', () => {
  let certs: TestCertificates;
  let other: TestCertificates;

  beforeAll(async () => {
    certs = await makeTestCertificates();
    other = await makeTestCertificates('Other CA');
  });
  afterAll(async () => {
    await certs?.remove();
    await other?.remove();
  });

  it('reads a matching certificate and key (and a chain)', async () => {
    await expect(loadTlsMaterial({})).resolves.toBeUndefined();
    const material = await loadTlsMaterial({
      tlsCert: certs.certPath,
      tlsKey: certs.keyPath,
      tlsCa: certs.caPath,
    });
    expect(material?.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(material?.ca?.toString()).toContain('BEGIN CERTIFICATE');
  });

  it('names the file and the variable of a missing or unreadable file', async () => {
    const missing = join(certs.dir, 'nope.crt');
    expect(await tlsError({ tlsCert: missing, tlsKey: certs.keyPath })).toBe(
      `VALLEY_TLS_CERT / --tls-cert: cannot read ${missing}: no such file`,
    );
    expect(await tlsError({ tlsCert: certs.certPath, tlsKey: certs.dir })).toBe(
      `VALLEY_TLS_KEY / --tls-key: cannot read ${certs.dir}: is a directory`,
    );
    expect(await tlsError({ tlsCert: certs.certPath, tlsKey: certs.keyPath, tlsCa: missing })).toContain(
      `VALLEY_TLS_CA / --tls-ca: cannot read ${missing}`,
    );
  });

  it('names the file and the variable of a file that is not PEM, or a key of another certificate', async () => {
    const garbage = join(certs.dir, 'garbage.pem');
    await writeFile(garbage, 'not a certificate\n');
    await chmod(garbage, 0o600);
    expect(await tlsError({ tlsCert: garbage, tlsKey: certs.keyPath })).toMatch(
      new RegExp(`^VALLEY_TLS_CERT / --tls-cert: ${garbage} is not a PEM certificate`),
    );
    expect(await tlsError({ tlsCert: certs.certPath, tlsKey: garbage })).toMatch(
      new RegExp(`^VALLEY_TLS_KEY / --tls-key: ${garbage} is not an unencrypted PEM private key`),
    );
    // The key in the certificate's place, and a key that belongs to another certificate.
    expect(await tlsError({ tlsCert: certs.keyPath, tlsKey: certs.keyPath })).toContain('VALLEY_TLS_CERT');
    const mismatch = await tlsError({ tlsCert: certs.certPath, tlsKey: other.keyPath });
    expect(mismatch).toContain(`VALLEY_TLS_KEY / --tls-key: ${other.keyPath} is not the private key`);
    expect(mismatch).toContain(certs.certPath);
  });
});
