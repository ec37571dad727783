/**
 * Test certificates made at test time with the openssl CLI (Debian's openssl, installed by
 * scripts/test-setup.sh): a CA and a server certificate for localhost / 127.0.0.1 signed by it.
 * Two calls give two unrelated CAs, which is how a test makes a client that trusts the wrong one.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TlsMaterial } from '../../config/tls.js';

const run = promisify(execFile);

export interface TestCertificates {
  dir: string;
  /** The root CA certificate file, for clients (`--cafile`). */
  caPath: string;
  certPath: string;
  keyPath: string;
  /** With `intermediate`: the intermediate CA that signed the server certificate. */
  intermediatePath?: string;
  /** The root CA certificate, for clients (`ca` option). */
  ca: Buffer;
  /** What the gateway serves (with `intermediate`, the chain as `ca`, as VALLEY_TLS_CA gives it). */
  material: TlsMaterial;
  remove(): Promise<void>;
}

export interface TestCertificateOptions {
  /** More addresses the server certificate is valid for (besides localhost and 127.0.0.1). */
  extraIps?: string[];
  /** Sign the server certificate by an intermediate CA, not by the root. */
  intermediate?: boolean;
}

/** P-256 keys: fast to make (a few ms each), so every suite can have its own CA. */
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
const CA_EXTENSIONS = 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n';
let serial = Date.now();

export async function makeTestCertificates(
  commonName = 'Valley Test CA',
  options: TestCertificateOptions = {},
): Promise<TestCertificates> {
  const dir = await mkdtemp(join(tmpdir(), 'valley-tls-'));
  const file = (name: string): string => join(dir, name);
  await openssl(
    ['req', '-x509', ...EC_KEY, '-keyout', file('ca.key'), '-out', file('ca.crt')]
      .concat(['-subj', `/CN=${commonName}`, '-days', '2'])
      .concat([
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ]),
  );
  let issuer = 'ca';
  if (options.intermediate) {
    await writeFile(file('ca.ext'), CA_EXTENSIONS);
    await sign(dir, 'intermediate', `/CN=${commonName} intermediate`, 'ca', 'ca.ext');
    issuer = 'intermediate';
  }
  const ips = ['127.0.0.1', ...(options.extraIps ?? [])];
  await writeFile(
    file('server.ext'),
    `subjectAltName=${['DNS:localhost', ...ips.map((ip) => `IP:${ip}`)].join(',')}\n` +
      'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
  );
  await sign(dir, 'server', '/CN=localhost', issuer, 'server.ext');
  const intermediate = options.intermediate ? await readFile(file('intermediate.crt')) : undefined;
  return {
    dir,
    caPath: file('ca.crt'),
    certPath: file('server.crt'),
    keyPath: file('server.key'),
    ...(intermediate && { intermediatePath: file('intermediate.crt') }),
    ca: await readFile(file('ca.crt')),
    material: {
      cert: await readFile(file('server.crt')),
      key: await readFile(file('server.key')),
      ...(intermediate && { ca: intermediate }),
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** A key and a certificate `name`.crt signed by `issuer`.crt / .key with the given extensions. */
async function sign(
  dir: string,
  name: string,
  subject: string,
  issuer: string,
  extensions: string,
): Promise<void> {
  const file = (n: string): string => join(dir, n);
  await openssl([
    'req',
    ...EC_KEY,
    '-keyout',
    file(`${name}.key`),
    '-out',
    file(`${name}.csr`),
    '-subj',
    subject,
  ]);
  await openssl(
    ['x509', '-req', '-in', file(`${name}.csr`), '-CA', file(`${issuer}.crt`)]
      .concat(['-CAkey', file(`${issuer}.key`), '-set_serial', String(serial++), '-days', '2'])
      .concat(['-extfile', file(extensions), '-out', file(`${name}.crt`)]),
  );
}

async function openssl(args: string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (error) {
    const err = error as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT')
      throw new Error('openssl is missing: run scripts/test-setup.sh (apt-get install openssl)');
    throw new Error(`openssl ${args[0]} failed: ${err.stderr ?? err.message}`);
  }
}
