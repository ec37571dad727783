/**
 * TLS material for the secure listeners (MQTT over TLS, MQTT over secure WebSocket, HTTPS): the
 * settings that go together, the PEM files read and checked once before anything listens, and
 * where the plaintext listeners bind while TLS is on.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { isLoopback } from './loader.js';

/** What `tls.createServer` / `https.createServer` take; `ca` is the chain sent after the cert. */
export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

export interface TlsSettings {
  bind: string;
  tlsCert?: string | undefined;
  tlsKey?: string | undefined;
  tlsCa?: string | undefined;
  plaintextPublic: boolean;
}

const CERT = 'VALLEY_TLS_CERT / --tls-cert';
const KEY = 'VALLEY_TLS_KEY / --tls-key';
const CA = 'VALLEY_TLS_CA / --tls-ca';

export class TlsFilesError extends Error {
  readonly code = 'E_TLS_FILES';
}

/** Settings problems, reported with the other settings before anything starts. */
export function tlsSettingProblems(s: Omit<TlsSettings, 'bind' | 'plaintextPublic'>): string[] {
  const problems: string[] = [];
  if ((s.tlsCert === undefined) !== (s.tlsKey === undefined))
    problems.push(`${CERT} and ${KEY} go together: set both (TLS on) or neither (TLS off)`);
  if (s.tlsCa !== undefined && s.tlsCert === undefined)
    problems.push(`${CA} is set without ${CERT} and ${KEY}: the chain needs a certificate to go with`);
  return problems;
}

export function tlsEnabled(s: Pick<TlsSettings, 'tlsCert' | 'tlsKey'>): boolean {
  return s.tlsCert !== undefined && s.tlsKey !== undefined;
}

/**
 * Where the plaintext listeners (MQTT 1883, WebSocket 8083, HTTP 3000) bind. With TLS on they
 * stay on loopback unless VALLEY_PLAINTEXT_PUBLIC: a device secret or a dashboard password sent in
 * clear over the network is what TLS was turned on to prevent, while tools on the host (the demo
 * fleet, a local bridge, curl /healthz) keep their plain port.
 */
export function plaintextBind(s: Pick<TlsSettings, 'bind' | 'plaintextPublic'>, tlsOn: boolean): string {
  if (!tlsOn || s.plaintextPublic || isLoopback(s.bind)) return s.bind;
  return s.bind.includes(':') ? '::1' : '127.0.0.1';
}

/**
 * Reads and checks the PEM files; undefined when TLS is off. Every problem names the file and
 * the setting, so the operator knows which one to fix (the message is shown without a stack).
 */
export async function loadTlsMaterial(
  s: Omit<TlsSettings, 'bind' | 'plaintextPublic'>,
): Promise<TlsMaterial | undefined> {
  if (s.tlsCert === undefined || s.tlsKey === undefined) return undefined;
  const cert = await readPem(s.tlsCert, CERT);
  const key = await readPem(s.tlsKey, KEY);
  const ca = s.tlsCa === undefined ? undefined : await readPem(s.tlsCa, CA);
  const leaf = parse(s.tlsCert, CERT, 'is not a PEM certificate', () => new X509Certificate(cert));
  const privateKey: KeyObject = parse(s.tlsKey, KEY, 'is not an unencrypted PEM private key', () =>
    createPrivateKey(key),
  );
  if (ca !== undefined) parse(s.tlsCa!, CA, 'is not a PEM certificate', () => new X509Certificate(ca));
  if (!leaf.checkPrivateKey(privateKey))
    throw new TlsFilesError(
      `${KEY}: ${s.tlsKey} is not the private key of the certificate in ${s.tlsCert} (${CERT})`,
    );
  const material: TlsMaterial = { cert, key, ...(ca !== undefined && { ca }) };
  // The same check the listeners will make, so nothing can fail later on these files.
  parse(s.tlsCert, CERT, 'cannot be used for TLS', () => createSecureContext(material));
  return material;
}

/** The certificate's expiry, for the start log line. */
export function certificateValidTo(material: TlsMaterial): string {
  return new X509Certificate(material.cert).validTo;
}

async function readPem(path: string, setting: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'EISDIR'
            ? 'is a directory'
            : (error as Error).message;
    throw new TlsFilesError(`${setting}: cannot read ${path}: ${why}`);
  }
}

function parse<T>(path: string, setting: string, what: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw new TlsFilesError(`${setting}: ${path} ${what} (${(error as Error).message})`);
  }
}
