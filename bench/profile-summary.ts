/**
 * Sums a `.cpuprofile` (from `npm run bench -- --only 2 --profile DIR`) by self time, per
 * function and per file, so the hot path reads as a short table instead of a flame chart:
 *
 *   node --import tsx bench/profile-summary.ts DIR/CPU.*.cpuprofile [top=30]
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const profileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
    }),
  ),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

const [file, topArg] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: profile-summary.ts FILE.cpuprofile [top]');
const top = Number(topArg ?? 30);
const profile = profileSchema.parse(JSON.parse(await readFile(file, 'utf8')));
const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const us = profile.timeDeltas[i] ?? 0;
  const frame = byId.get(id);
  if (frame === undefined) return;
  total += us;
  // Paths relative to the project or to node_modules: shorter, and the same on every host.
  const url = frame.url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/node_modules\//, '~/')
    .replace(process.cwd() + '/', '');
  const name = `${frame.functionName || '(anonymous)'} ${url}:${frame.lineNumber + 1}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  const where = url === '' ? `(${frame.functionName})` : url;
  byFile.set(where, (byFile.get(where) ?? 0) + us);
});

function print(title: string, table: Map<string, number>): void {
  console.log(`\n${title} (self time, ${(total / 1e6).toFixed(1)} s sampled)`);
  for (const [name, us] of [...table].sort((a, b) => b[1] - a[1]).slice(0, top))
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${name}`);
}
print('By function', byFunction);
print('By file', byFile);
