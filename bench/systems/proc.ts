/** CPU time and RSS of any process (gateway, Aedes, Mosquitto) from /proc, so all are measured alike. */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks (100 on every mainstream arch). */
const TICKS_PER_SECOND = 100;

export interface ProcSample {
  /** User + system CPU time since the process started. */
  cpuMs: number;
  rssBytes: number;
  /** performance.now() of the sample. */
  at: number;
}

export async function sampleProc(pid: number): Promise<ProcSample> {
  const [stat, status] = await Promise.all([
    readFile(`/proc/${pid}/stat`, 'utf8'),
    readFile(`/proc/${pid}/status`, 'utf8'),
  ]);
  // The command name (field 2) may contain spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  const rssKiB = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return { cpuMs: (ticks * 1000) / TICKS_PER_SECOND, rssBytes: rssKiB * 1024, at: performance.now() };
}

/** CPU use between two samples, in cores (1.0 = one core busy all the time). */
export function cpuCores(from: ProcSample, to: ProcSample): number {
  return (to.cpuMs - from.cpuMs) / (to.at - from.at);
}

/**
 * The pid of the influxd the test harness started (it does not expose it): the process whose
 * command line names the config file beside its log. Other influxd processes on the host differ.
 */
export async function influxdPid(influxd: { logFile: string }): Promise<number | undefined> {
  const config = join(dirname(influxd.logFile), 'influxd.toml');
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.split('\0').includes(config)) return Number(entry);
  }
  return undefined;
}
