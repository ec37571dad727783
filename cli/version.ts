/** The gateway's version, from package.json (shown by /api/status). */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../config/project-root.js';

const packageSchema = z.object({ version: z.string() });

export async function packageVersion(): Promise<string> {
  try {
    const text = await readFile(join(PROJECT_ROOT, 'package.json'), 'utf8');
    return packageSchema.parse(JSON.parse(text)).version;
  } catch {
    // A stripped install without package.json still runs; the API says so instead of failing.
    return 'unknown';
  }
}
