/**
 * The benchmark's smoke run (`npm run bench -- --smoke`: 2 runs, tiny counts) as a child process,
 * on the real parts it measures (bare Aedes, Mosquitto, the gateway, influxd, Socket.IO viewers).
 * Asserts only that every scenario produced its figures: the figures themselves are read by people,
 * never asserted (issue 8).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';

const ROOT = join(import.meta.dirname, '..', '..');

const figureSchema = z.object({
  median: z.number(),
  min: z.number(),
  max: z.number(),
  runs: z.array(z.number()).min(1),
  unit: z.string(),
});
const resultsSchema = z.object({
  host: z.object({ cores: z.number().int().positive(), node: z.string() }).loose(),
  scenarios: z.array(
    z.object({
      id: z.string(),
      figures: z.record(z.string(), figureSchema),
      conditions: z.record(z.string(), z.union([z.string(), z.number()])),
      bound: z.string().min(1),
    }),
  ),
});

/** The figures each scenario must report with a positive value in every run. */
const POSITIVE: Record<string, string[]> = {
  '1': [
    'aedes_qos0_msgs_per_s',
    'mosquitto_qos0_msgs_per_s',
    'aedes_qos1_msgs_per_s',
    'mosquitto_qos1_msgs_per_s',
  ],
  '2': [
    'gateway_accepted_per_s',
    'bare_aedes_qos1_per_s',
    'ratio_to_bare_aedes',
    'puback_p50_ms',
    'puback_p99_ms',
    'gateway_cpu_cores',
    'gateway_rss_mib',
  ],
  '3': [
    'sustained_offered_per_s',
    'saturating_accepted_per_s',
    'written_to_influxdb_per_s',
    'accepted_per_s',
    'reading_to_influxdb_p50_ms',
    'reading_to_influxdb_p99_ms',
  ],
  '4': ['time_to_connect_all_s', 'devices_connected', 'gateway_rss_peak_mib'],
  '5': ['incoming_per_s', 'backlog_peak', 'drain_time_s', 'drain_rate_multiple_of_incoming'],
  '6': ['accepted_to_shown_p50_ms', 'accepted_to_shown_p99_ms', 'shown_fraction'],
};

const dir = await mkdtemp(join(tmpdir(), 'valley-bench-smoke-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

function runBench(out: string, ...extra: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const args = ['--import', 'tsx', 'bench/main.ts', '--smoke', ...extra, '--out', out];
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      // Jest's ESM flags are not for the bench.
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    // Bounded: a hung bench fails the test instead of holding the suite.
    const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Figures a scenario finds once, not per run: scenario 3's search result and its upper bound. */
const ONCE_PER_SCENARIO = new Set(['sustained_offered_per_s', 'saturating_accepted_per_s']);

describe('npm run bench -- --smoke', () => {
  it('runs every scenario and reports each figure with a value in every run', async () => {
    const out = join(dir, 'results.json');
    const { code, output } = await runBench(out);
    expect({ code, tail: code === 0 ? '' : output.slice(-4000) }).toEqual({ code: 0, tail: '' });
    const results = resultsSchema.parse(JSON.parse(await readFile(out, 'utf8')));
    expect(results.scenarios.map((s) => s.id)).toEqual(['1', '2', '3', '4', '5', '6']);
    for (const scenario of results.scenarios) {
      const figures = scenario.figures;
      for (const name of POSITIVE[scenario.id]!) {
        expect({ scenario: scenario.id, name, present: name in figures }).toEqual({
          scenario: scenario.id,
          name,
          present: true,
        });
        const runs = figures[name]!.runs;
        expect({ name, runs: runs.length }).toEqual({ name, runs: ONCE_PER_SCENARIO.has(name) ? 1 : 2 });
        for (const value of runs)
          expect({ name, value, positive: value > 0 }).toMatchObject({ positive: true });
      }
      // The rest (backlog growth, event-loop lag …) may be 0, but must be numbers.
      for (const [name, f] of Object.entries(figures))
        for (const value of f.runs)
          expect({ name, finite: Number.isFinite(value) }).toEqual({ name, finite: true });
    }
    // The table went to stdout, with the host conditions.
    expect(output).toMatch(/host: \d+ cores/);
  }, 180_000);

  it('runs the soak after its warm-up and reports growth, lag and the warm-up itself', async () => {
    const out = join(dir, 'soak.json');
    const { code, output } = await runBench(out, '--soak');
    expect({ code, tail: code === 0 ? '' : output.slice(-4000) }).toEqual({ code: 0, tail: '' });
    const results = resultsSchema.parse(JSON.parse(await readFile(out, 'utf8')));
    expect(results.scenarios.map((s) => s.id)).toEqual(['soak']);
    const { figures, conditions } = results.scenarios[0]!;
    for (const name of ['gateway_rss_mib', 'readings_acknowledged', 'gateway_rss_after_warmup_mib'])
      expect({ name, positive: (figures[name]?.median ?? 0) > 0 }).toEqual({ name, positive: true });
    for (const name of ['rss_growth_last_vs_first_quarter_mib', 'event_loop_lag_p99_ms'])
      expect({ name, finite: Number.isFinite(figures[name]?.median) }).toEqual({ name, finite: true });
    // Every device was taken past its dedupe window's last doubling before the measured part.
    expect(figures.warmup_readings!.median).toBeGreaterThanOrEqual(10 * 2049);
    expect(conditions.warmup).toMatch(/^2049 readings per device/);
  }, 180_000);
});
