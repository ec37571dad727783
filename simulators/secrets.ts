/** Reads a secrets file: the demo format `{ version, note, secrets: { id: secret } }` or a plain `{ id: secret }`. */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const secretMap = z.record(z.string(), z.string().min(1));
const secretsFileSchema = z.union([
  z.object({ version: z.literal(1), note: z.string().optional(), secrets: secretMap }),
  secretMap,
]);

export class SecretsFileError extends Error {
  readonly code = 'E_SECRETS_FILE';
}

export function parseSecrets(text: string, source: string): Record<string, string> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new SecretsFileError(`${source}: not JSON (${(err as Error).message})`);
  }
  const parsed = secretsFileSchema.safeParse(json);
  if (!parsed.success) {
    throw new SecretsFileError(
      `${source}: expected { "version": 1, "secrets": { "<device id>": "<secret>" } } or { "<device id>": "<secret>" }`,
    );
  }
  const data = parsed.data;
  return 'version' in data && typeof data.secrets === 'object'
    ? data.secrets
    : (data as Record<string, string>);
}

export async function loadSecretsFile(path: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new SecretsFileError(
      `${path}: cannot read the secrets file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  return parseSecrets(text, path);
}
