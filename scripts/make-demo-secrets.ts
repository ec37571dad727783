/**
 * (Re)generates the secrets of the demo fleet: one random secret per `demo: true` device, its hash
 * written into the registry (comments kept), the plain secret into the demo secrets file the
 * simulators read. Those secrets are public by design; the gateway refuses non-loopback binds
 * while demo devices are registered.
 *
 *   node --import tsx scripts/make-demo-secrets.ts [--registry FILE] [--out FILE] [--missing]
 *
 * --missing keeps every secret that still verifies against its hash and only fills in the rest,
 * so adding one demo device does not rewrite every hash in the diff.
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isMap, isSeq } from 'yaml';
import { formatRegistryProblems, RegistryError } from '../config/loader.js';
import { editRegistryFile } from '../config/registry-edit.js';
import { generateSecret, hashSecret, verifySecret } from '../config/secrets.js';

export const DEMO_SECRETS_NOTE =
  'Demo fleet only: these secrets are public. The gateway binds loopback only while demo devices are ' +
  'registered. Regenerate with: node --import tsx scripts/make-demo-secrets.ts';

export interface DemoSecretsFile {
  version: 1;
  note: string;
  secrets: Record<string, string>;
}

async function readSecrets(file: string): Promise<Record<string, string>> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<DemoSecretsFile>;
    return parsed.secrets ?? {};
  } catch {
    return {};
  }
}

/** Returns how many secrets were generated and kept. */
export async function makeDemoSecrets(
  registryFile: string,
  secretsFile: string,
  { missingOnly = false } = {},
): Promise<{ generated: number; kept: number }> {
  const previous = missingOnly ? await readSecrets(secretsFile) : {};
  const secrets: Record<string, string> = {};
  let generated = 0;
  let kept = 0;
  // Not requireValid: a hand-written demo device has no secret_hash until this script adds one.
  await editRegistryFile(
    registryFile,
    (doc) => {
      const devices = doc.get('devices', true);
      if (!isSeq(devices)) return;
      for (const item of devices.items) {
        if (!isMap(item) || item.get('demo') !== true) continue;
        const id = String(item.get('id'));
        const old = previous[id];
        const hash = item.get('secret_hash');
        if (old !== undefined && typeof hash === 'string' && verifySecret(old, hash)) {
          secrets[id] = old;
          kept++;
          continue;
        }
        const secret = generateSecret();
        item.set('secret_hash', hashSecret(secret));
        secrets[id] = secret;
        generated++;
      }
    },
    { requireValid: false },
  );
  const body: DemoSecretsFile = { version: 1, note: DEMO_SECRETS_NOTE, secrets };
  const tmp = `${secretsFile}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, `${JSON.stringify(body, null, 2)}\n`, 'utf8');
  await rename(tmp, secretsFile);
  return { generated, kept };
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      registry: { type: 'string', default: 'config/valmalenco.yaml' },
      out: { type: 'string', default: 'simulators/demo-secrets.json' },
      missing: { type: 'boolean', default: false },
    },
    strict: true,
  });
  try {
    const { generated, kept } = await makeDemoSecrets(values.registry, values.out, {
      missingOnly: values.missing,
    });
    console.log(
      `${values.registry}: ${generated} new demo secrets, ${kept} kept; plain secrets in ${values.out}`,
    );
    return 0;
  } catch (err) {
    if (err instanceof RegistryError) for (const line of formatRegistryProblems(err)) console.error(line);
    else console.error((err as Error).message);
    return 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main();
}
