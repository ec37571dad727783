/**
 * `valley simulate`: drives any broker that speaks the contract with simulated devices and
 * injected faults, prints progress on stderr and a summary, and (with --assert / --report) turns
 * the outcome into an exit code and JUnit/JSON files for a CI pipeline.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { formatRegistryProblems, loadRegistryFile, RegistryError } from '../config/loader.js';
import type { RegistryIndex } from '../config/registry-schema.js';
import { formatDuration, parseDurationMs } from '../config/duration.js';
import { FAULT_TYPES, parseFaultList, type FaultType } from '../simulators/faults.js';
import { formatSummary, jsonReport, junitReport } from '../simulators/report.js';
import { loadSecretsFile, SecretsFileError } from '../simulators/secrets.js';
import { runSimulation, SimulationWindowError, type Progress } from '../simulators/simulation.js';

type Out = { log(s: string): void; error(s: string): void };

export const SIMULATE_USAGE = `usage: valley simulate [options]

  --url URL            broker to drive (default mqtt://127.0.0.1:1883)
  --registry FILE      registry YAML the devices come from (default config/valmalenco.yaml)
  --secrets FILE       device secrets JSON (default simulators/demo-secrets.json)
  --devices LIST       comma list of device ids, kinds or municipalities (default: every device with a secret)
  --duration D         wall time of the run, e.g. 90s, 10m (default 1m)
  --speed N            replay the simulated window [now - D*N, now] in D of wall time (default 1: live)
  --seed N             seed of the generators and schedules (default 42)
  --faults LIST        comma list of faults to inject on every device, or "all" (default none):
                       ${FAULT_TYPES.join(', ')}
  --late-window D      the gateway's late window; a longer simulated window is refused (default 7d)
  --qos 0|1|2          QoS of the readings (default 1)
  --assert             exit 1 when any outcome differs from the expected one
  --report FILE        write results: FILE ending in .xml is JUnit XML, .json is JSON (repeatable)
  --help               this text`;

class UsageError extends Error {}

interface Parsed {
  url: string;
  registry: string;
  secrets: string;
  devices: string[] | undefined;
  durationMs: number;
  speed: number;
  seed: number;
  faults: FaultType[];
  lateWindowMs: number;
  qos: 0 | 1 | 2;
  assert: boolean;
  reports: string[];
}

function parse(argv: string[]): Parsed | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      url: { type: 'string', default: 'mqtt://127.0.0.1:1883' },
      registry: { type: 'string', default: 'config/valmalenco.yaml' },
      secrets: { type: 'string', default: 'simulators/demo-secrets.json' },
      devices: { type: 'string' },
      duration: { type: 'string', default: '1m' },
      speed: { type: 'string', default: '1' },
      seed: { type: 'string', default: '42' },
      faults: { type: 'string', default: '' },
      'late-window': { type: 'string', default: '7d' },
      qos: { type: 'string', default: '1' },
      assert: { type: 'boolean', default: false },
      report: { type: 'string', multiple: true, default: [] },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const duration = (flag: string, text: string) => {
    const ms = parseDurationMs(text);
    if (ms === undefined || ms <= 0)
      throw new UsageError(`--${flag}: "${text}" is not a duration (e.g. 90s, 10m, 7d)`);
    return ms;
  };
  const speed = Number(values.speed);
  if (!Number.isFinite(speed) || speed < 1)
    throw new UsageError(`--speed: "${values.speed}" must be a number >= 1`);
  const seed = Number(values.seed);
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed: "${values.seed}" must be a whole number`);
  if (!['0', '1', '2'].includes(values.qos)) throw new UsageError(`--qos: "${values.qos}" must be 0, 1 or 2`);
  if (!/^(mqtts?|wss?|tcp):\/\//.test(values.url))
    throw new UsageError(`--url: "${values.url}" must be mqtt://, mqtts://, ws:// or wss://`);
  for (const r of values.report) {
    if (!/\.(xml|json)$/i.test(r)) throw new UsageError(`--report: "${r}" must end in .xml (JUnit) or .json`);
  }
  let faults: FaultType[];
  try {
    faults = values.faults === '' ? [] : parseFaultList(values.faults);
  } catch (err) {
    throw new UsageError(`--faults: ${(err as Error).message}`);
  }
  return {
    url: values.url,
    registry: values.registry,
    secrets: values.secrets,
    devices: values.devices
      ?.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
    durationMs: duration('duration', values.duration),
    speed,
    seed,
    faults,
    lateWindowMs: duration('late-window', values['late-window']),
    qos: Number(values.qos) as 0 | 1 | 2,
    assert: values.assert,
    reports: values.report,
  };
}

/** Device ids matching the tokens (ids, kinds, municipalities), among those with a secret. */
export function selectDevices(
  registry: RegistryIndex,
  tokens: string[] | undefined,
  secrets: Record<string, string>,
): string[] {
  const all = [...registry.devices.values()];
  if (tokens === undefined) return all.map((r) => r.device.id).filter((id) => secrets[id] !== undefined);
  const unknown = tokens.filter(
    (t) => !all.some((r) => r.device.id === t || r.device.kind === t || r.municipality.id === t),
  );
  if (unknown.length > 0)
    throw new UsageError(
      `--devices: ${unknown.map((u) => `"${u}"`).join(', ')} is not a device id, kind or municipality of the registry`,
    );
  const ids = all
    .filter((r) => tokens.some((t) => r.device.id === t || r.device.kind === t || r.municipality.id === t))
    .map((r) => r.device.id);
  const noSecret = ids.filter((id) => secrets[id] === undefined);
  if (noSecret.length > 0)
    throw new UsageError(`--devices: no secret for ${noSecret.join(', ')} in the secrets file`);
  return ids;
}

function progressLine(p: Progress): string {
  const sim = new Date(p.simulatedTime).toISOString().slice(0, 16).replace('T', ' ');
  return `simulate: ${formatDuration(Math.round(p.elapsedMs / 1000) * 1000)} of ${formatDuration(p.durationMs)}, simulated ${sim} UTC, sent ${p.sent}, acknowledged ${p.acknowledged}, rejects ${p.rejects}`;
}

const OVERDUE_GRACE_MS = 120_000;

class SimulationOverdueError extends Error {
  constructor(limitMs: number) {
    super(
      `the run did not finish within ${formatDuration(limitMs)} (duration + 2m): acknowledgements stopped arriving. ` +
        'Is the broker up, and is no other client (a demo fleet, another job) connected with the same device ids?',
    );
  }
}

export async function runSimulate(argv: string[], out: Out): Promise<number> {
  let args: Parsed | 'help';
  let registry: RegistryIndex;
  let secrets: Record<string, string>;
  let deviceIds: string[];
  try {
    args = parse(argv);
    if (args === 'help') {
      out.log(SIMULATE_USAGE);
      return 0;
    }
    registry = await loadRegistryFile(args.registry);
    secrets = await loadSecretsFile(args.secrets);
    deviceIds = selectDevices(registry, args.devices, secrets);
    if (deviceIds.length === 0)
      throw new UsageError(`no device of ${args.registry} has a secret in ${args.secrets}`);
  } catch (err) {
    if (err instanceof RegistryError) for (const line of formatRegistryProblems(err)) out.error(line);
    else if (err instanceof SecretsFileError) out.error(`valley simulate: ${err.message}`);
    else if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      out.error(`valley simulate: ${(err as Error).message}\n\n${SIMULATE_USAGE}`);
      return 2;
    } else throw err;
    return 1;
  }
  const started = Date.now();
  out.error(
    `simulate: ${deviceIds.length} devices → ${args.url}, ${formatDuration(args.durationMs)} at speed ${args.speed}, faults: ${args.faults.join(', ') || 'none'}`,
  );
  const fastest = Math.min(...deviceIds.map((id) => registry.devices.get(id)!.device.interval_s));
  if (args.speed / fastest > 20) {
    out.error(
      `simulate: warning: at speed ${args.speed} a device with a ${fastest} s interval sends ${(args.speed / fastest).toFixed(0)} messages/s, above the contract's default rate limit of 20/s`,
    );
  }
  let result;
  // A run that cannot finish (the broker went away for good, another client holds the same ids)
  // must end with a failure, never hang a pipeline: duration + 2 min at most.
  let deadline: NodeJS.Timeout | undefined;
  const overdue = new Promise<never>((_, reject) => {
    deadline = setTimeout(
      () => reject(new SimulationOverdueError(args.durationMs + OVERDUE_GRACE_MS)),
      args.durationMs + OVERDUE_GRACE_MS,
    );
  });
  try {
    result = await Promise.race([
      overdue,
      runSimulation({
        url: args.url,
        registry,
        secrets,
        deviceIds,
        durationMs: args.durationMs,
        speed: args.speed,
        seed: args.seed,
        faults: args.faults,
        qos: args.qos,
        lateWindowMs: args.lateWindowMs,
        onProgress: (p) => out.error(progressLine(p)),
      }),
    ]);
  } catch (err) {
    if (err instanceof SimulationWindowError) {
      out.error(`valley simulate: ${err.message}`);
      return 2;
    }
    if (err instanceof SimulationOverdueError) {
      out.error(`valley simulate: ${err.message}`);
      // The clients may still hold sockets: end the process rather than wait for them.
      setTimeout(() => process.exit(1), 100).unref();
      return 1;
    }
    throw err;
  } finally {
    clearTimeout(deadline);
  }
  const elapsed = (Date.now() - started) / 1000;
  for (const line of formatSummary(result.summary)) out.log(line);
  for (const file of args.reports) {
    await writeFile(
      file,
      file.toLowerCase().endsWith('.xml')
        ? junitReport(result.summary, elapsed)
        : jsonReport(result.summary, elapsed),
    );
    out.error(`simulate: wrote ${file}`);
  }
  return args.assert && result.summary.mismatches.length > 0 ? 1 : 0;
}
