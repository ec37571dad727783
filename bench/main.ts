/**
 * `npm run bench`: the gateway side by side with the bare brokers (docs/performance.md).
 *
 *   npm run bench                       all six scenarios, 5 runs each (≤ 20 minutes)
 *   npm run bench -- --only 3           one scenario
 *   npm run bench -- --long             catch-up with a 2-minute InfluxDB outage instead of 30 s
 *   npm run bench -- --soak             the 10-minute soak, on its own, after a warm-up that
 *                                       fills the dedupe windows (--soak-minutes N: longer;
 *                                       --soak-cold: no warm-up, measured from a cold start)
 *   npm run bench -- --smoke            seconds, tiny counts, 2 runs (inside `npm test`)
 *   npm run bench -- --profile DIR      every gateway started runs under `node --cpu-prof` into DIR
 *   npm run bench -- --out FILE         JSON here instead of bench/results/bench-<time>.json
 *
 * Prints a table (median, spread, conditions, what bounds each figure) and writes every run's
 * figures as JSON. Targets are read from this output, never asserted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hostConditions, renderTable, writeResults } from './report.js';
import { bareBrokers } from './scenarios/bare-brokers.js';
import { catchUp } from './scenarios/catch-up.js';
import type { BenchContext, Scale, ScenarioResult } from './scenarios/common.js';
import { endToEnd } from './scenarios/end-to-end.js';
import { gatewayAck } from './scenarios/gateway-ack.js';
import { livePath } from './scenarios/live-path.js';
import { manyDevices } from './scenarios/many-devices.js';
import { soak } from './scenarios/soak.js';

const FULL: Scale = {
  runs: 5,
  publisherProcesses: 2,
  windowMs: 8_000,
  bare: { devices: 50, inflight: 100 },
  ack: { devices: 1000, inflight: 5, latencyRate: 5000 },
  endToEnd: { devices: 1000, inflight: 5, searchSteps: 6 },
  many: { devices: 5000, intervalMs: 10_000, holdMs: 20_000 },
  catchUp: { devices: 200, rate: 2000, steadyMs: 5_000, outageMs: 30_000 },
  live: { viewers: 200, probes: 20, backgroundRate: 1000 },
  soak: {
    devices: 1000,
    rate: 2000,
    durationMs: 10 * 60_000,
    sampleEveryMs: 10_000,
    warmupRate: 12_000,
    settleMs: 60_000,
    cold: false,
  },
};

const SMOKE: Scale = {
  runs: 2,
  publisherProcesses: 1,
  windowMs: 600,
  bare: { devices: 4, inflight: 5 },
  ack: { devices: 10, inflight: 5, latencyRate: 200 },
  endToEnd: { devices: 10, inflight: 5, searchSteps: 2 },
  many: { devices: 50, intervalMs: 500, holdMs: 1_000 },
  catchUp: { devices: 10, rate: 200, steadyMs: 500, outageMs: 1_500 },
  live: { viewers: 5, probes: 4, backgroundRate: 50 },
  soak: {
    devices: 10,
    rate: 100,
    durationMs: 3_000,
    sampleEveryMs: 500,
    warmupRate: 10_000,
    settleMs: 500,
    cold: false,
  },
};

const SCENARIOS: Record<string, (ctx: BenchContext) => Promise<ScenarioResult>> = {
  '1': bareBrokers,
  '2': gatewayAck,
  '3': endToEnd,
  '4': manyDevices,
  '5': catchUp,
  '6': livePath,
};

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    long: { type: 'boolean', default: false },
    soak: { type: 'boolean', default: false },
    'soak-minutes': { type: 'string' },
    'soak-cold': { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    runs: { type: 'string' },
    profile: { type: 'string' },
    out: { type: 'string' },
  },
});

const scale: Scale = structuredClone(values.smoke ? SMOKE : FULL);
if (values.long) scale.catchUp.outageMs = values.smoke ? 3_000 : 120_000;
if (values['soak-minutes'] !== undefined) {
  if (!values.soak) throw new Error('--soak-minutes goes with --soak');
  const minutes = Number(values['soak-minutes']);
  if (!Number.isFinite(minutes) || minutes <= 0)
    throw new Error(`--soak-minutes: "${values['soak-minutes']}" is not a positive number of minutes`);
  scale.soak.durationMs = minutes * 60_000;
}
if (values['soak-cold']) {
  if (!values.soak) throw new Error('--soak-cold goes with --soak');
  scale.soak.cold = true;
}
if (values.runs !== undefined) {
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`--runs: "${values.runs}" is not a positive whole number`);
  scale.runs = runs;
}
if (values.only !== undefined && !(values.only in SCENARIOS))
  throw new Error(`--only: "${values.only}" is not a scenario (1–6)`);

const selected: [string, (ctx: BenchContext) => Promise<ScenarioResult>][] = values.soak
  ? [['soak', soak]]
  : Object.entries(SCENARIOS)
      .filter(([id]) => values.only === undefined || id === values.only)
      .map(([id, run]) => [id, run]);

const host = hostConditions();
const started = performance.now();
const results: ScenarioResult[] = [];
const root = await mkdtemp(join(tmpdir(), 'valley-bench-'));
try {
  for (const [id, run] of selected) {
    const dir = await mkdtemp(join(root, `s${id}-`));
    const ctx: BenchContext = {
      dir,
      scale,
      progress: (m) =>
        process.stderr.write(`[bench ${id} ${((performance.now() - started) / 1000).toFixed(0)} s] ${m}\n`),
      ...(values.profile !== undefined && { profileDir: values.profile }),
    };
    results.push(await run(ctx));
    await rm(dir, { recursive: true, force: true });
  }
} finally {
  await rm(root, { recursive: true, force: true });
}
const out =
  values.out ?? join(import.meta.dirname, 'results', `bench-${host.startedAt.replace(/[:.]/g, '-')}.json`);
await writeResults(out, host, results);
console.log(renderTable(host, results));
console.log(
  `\n${results.length} scenario(s) in ${Math.round((performance.now() - started) / 1000)} s; JSON: ${out}`,
);
