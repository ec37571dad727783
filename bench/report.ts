/** The bench's output: a table on stdout and one JSON file with every run's figures. */
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname } from 'node:path';
import type { ScenarioResult } from './scenarios/common.js';

export interface HostConditions {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  /** 1-minute load average when the bench started: a busy host shows here. */
  loadAverageAtStart: number;
  startedAt: string;
}

export function hostConditions(): HostConditions {
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: Math.round(loadavg()[0]! * 100) / 100,
    startedAt: new Date().toISOString(),
  };
}

function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return '—';
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

export function renderTable(host: HostConditions, results: ScenarioResult[]): string {
  const out: string[] = [];
  out.push(
    `host: ${host.cores} cores (${host.cpuModel}), ${host.memoryGiB} GiB, Node ${host.node}, load ${host.loadAverageAtStart} at start`,
  );
  for (const r of results) {
    out.push('', `${r.id}. ${r.title}`);
    const rows = Object.entries(r.figures).map(([name, f]) => [
      name,
      `${formatNumber(f.median)} ${f.unit}`,
      `${formatNumber(f.min)} – ${formatNumber(f.max)}`,
      String(f.runs.length),
    ]);
    const header = ['figure', 'median', 'spread (min – max)', 'runs'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const line = (cells: string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i]!)).join('  ')}`;
    out.push(line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line));
    for (const [k, v] of Object.entries(r.conditions)) out.push(`  ${k}: ${v}`);
    out.push(`  bound: ${r.bound}`);
    for (const note of r.notes) out.push(`  note: ${note}`);
  }
  return out.join('\n');
}

export async function writeResults(
  file: string,
  host: HostConditions,
  results: ScenarioResult[],
): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify({ host, scenarios: results }, null, 2)}\n`);
}
