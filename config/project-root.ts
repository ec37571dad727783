/**
 * The project's root folder (the one with package.json), for the files read at run time: the web
 * client, the map boundaries, the demo secrets, the version. The same modules run from the
 * sources (tsx, Jest) and compiled into dist/ (`npm start`), one folder deeper, so these paths are
 * taken from the root instead of from each module's own folder.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

function findRoot(from: string): string {
  for (let dir = from; dirname(dir) !== dir; dir = dirname(dir))
    if (existsSync(join(dir, 'package.json'))) return dir;
  // A stripped install without package.json: the folder above config/, as in the sources.
  return dirname(from);
}

export const PROJECT_ROOT = findRoot(import.meta.dirname);
