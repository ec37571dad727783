/**
 * Builds the dashboard's browser bundle into dashboard/web/dist/ (git-ignored; the HTTP server
 * serves it): one script, one stylesheet (ours + uPlot's), index.html. Everything is local, no CDN:
 * the dashboard must work in a pumping station without internet. Run by `npm run build:web`, and
 * before `npm start` and `npm test`.
 *
 *   node --import tsx dashboard/web/build.ts [--watch]
 */
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import * as esbuild from 'esbuild';

const root = import.meta.dirname;
const dist = join(root, 'dist');
const watch = process.argv.includes('--watch');

/**
 * zod re-exports its ~50 error-message locales as a namespace (`export * as locales`), which esbuild
 * cannot tree-shake: ~250 KB of the bundle for messages nobody reads (we show our own texts). Only
 * English, the locale zod registers by default, is kept. See colinhacks/zod#6050.
 */
const zodEnglishOnly: esbuild.Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${sep}zod${sep}`)
        ? { path: join(dirname(args.importer), '../locales/index.js'), namespace: 'zod-en-only' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-en-only' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: dirname(args.path),
    }));
  },
};

const options: esbuild.BuildOptions = {
  entryPoints: [
    { in: join(root, 'src/main.ts'), out: 'app' },
    { in: join(root, 'src/styles/index.css'), out: 'app' },
  ],
  outdir: dist,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  // Chromium, Firefox and Safari of the last few years: tablets in the field are not always new.
  target: ['chrome100', 'firefox100', 'safari15'],
  minify: !watch,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
  metafile: true,
  plugins: [zodEnglishOnly],
};

async function main(): Promise<void> {
  await rm(dist, { recursive: true, force: true });
  await mkdir(dist, { recursive: true });
  await copyFile(join(root, 'src/index.html'), join(dist, 'index.html'));
  if (watch) {
    const ctx = await esbuild.context(options);
    await ctx.watch();
    console.log(`build:web watching, output in ${dist}`);
    return;
  }
  await esbuild.build(options);
  const sizes = await Promise.all(
    ['app.js', 'app.css'].map(async (f) => `${f} ${((await stat(join(dist, f))).size / 1024).toFixed(0)} KB`),
  );
  console.log(`build:web: ${sizes.join(', ')} in ${dist}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
