/** The gateway's version, from package.json (shown by /api/status). */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const packageSchema = z.object({ version: z.string() });

export async function packageVersion(): Promise<string> {
  try {
    const text = await readFile(new URL('../package.json', import.meta.url), 'utf8');
    return packageSchema.parse(JSON.parse(text)).version;
  } catch {
    // A stripped install without package.json still runs; the API says so instead of failing.
    return 'unknown';
  }
}
