/** `valley start`: settings, registry, the composition root, signals. */
import { parseArgs } from 'node:util';
import {
  DemoBindError,
  assertBindAllowed,
  formatRegistryProblems,
  loadRegistryFile,
  RegistryError,
} from '../config/loader.js';
import { SETTING_DEFS, SettingsError, resolveSettings, settingsSchema } from '../config/settings.js';
import { loadTlsMaterial, TlsFilesError, type TlsMaterial } from '../config/tls.js';
import { formatDuration, formatSize } from '../config/duration.js';
import { createLogger } from '../gateway/logger.js';
import { Valley } from './app.js';
import { startDemoFleetForGateway } from '../simulators/fleet.js';
import { tuneHeap } from './heap.js';

type Out = { log(s: string): void; error(s: string): void };

/** parseArgs options for every setting flag (`--no-x` for booleans: Node 20 has no allowNegative). */
export function settingFlagOptions(): Record<string, { type: 'string' | 'boolean' }> {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  for (const def of Object.values(SETTING_DEFS)) {
    if (def.parse === 'bool') {
      options[def.flag] = { type: 'boolean' };
      options[`no-${def.flag}`] = { type: 'boolean' };
    } else options[def.flag] = { type: 'string' };
  }
  return options;
}

/** `valley start --help`: every setting with its env var, flag and default, from the schema. */
export function settingsHelp(): string {
  const defaults = settingsSchema.parse({}) as Record<string, unknown>;
  const rows = Object.entries(SETTING_DEFS).map(([key, def]) => {
    const value = defaults[key];
    const text =
      typeof value === 'number' && def.parse === 'duration'
        ? formatDuration(value)
        : typeof value === 'number' && def.parse === 'size'
          ? formatSize(value)
          : String(value);
    const shown = value === undefined ? '' : ` (default ${text})`;
    return `  --${def.flag.padEnd(24)} ${def.env.padEnd(30)} ${def.help}${shown}`;
  });
  return `usage: valley start [options]\n\nEvery option can also be set by its environment variable; a flag wins over the variable.\nDurations take ms/s/m/h/d (e.g. 90s, 7d); sizes take KiB/MiB/GiB.\n\n${rows.join('\n')}`;
}

export async function runStart(argv: string[], out: Out): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out.log(settingsHelp());
    return 0;
  }
  let flags: Record<string, string | boolean | undefined>;
  try {
    flags = parseArgs({
      args: argv,
      options: settingFlagOptions(),
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    out.error(`valley start: ${(error as Error).message}`);
    return 2;
  }
  let resolved: ReturnType<typeof resolveSettings>;
  try {
    const defined = Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined)) as Record<
      string,
      string | boolean
    >;
    resolved = resolveSettings(process.env, defined);
  } catch (error) {
    if (error instanceof SettingsError) {
      out.error(error.message);
      return 2;
    }
    throw error;
  }
  const { settings, sink } = resolved;
  const v8Flags = tuneHeap();
  const logger = createLogger(settings.logLevel);
  if (v8Flags.length > 0)
    logger.info({ v8Flags }, 'V8 tuned for a long-running gateway (docs/operations.md)');
  let registry;
  try {
    registry = await loadRegistryFile(settings.registryPath);
    assertBindAllowed(registry, settings.bind);
  } catch (error) {
    if (error instanceof RegistryError) {
      for (const line of formatRegistryProblems(error)) out.error(line);
      return 1;
    }
    if (error instanceof DemoBindError) {
      out.error(error.message);
      return 1;
    }
    throw error;
  }
  let tls: TlsMaterial | undefined;
  try {
    tls = await loadTlsMaterial(settings);
  } catch (error) {
    if (error instanceof TlsFilesError) {
      out.error(`valley start: ${error.message}`);
      return 1;
    }
    throw error;
  }

  const valley = new Valley({
    settings,
    sink,
    registry,
    logger,
    registryPath: settings.registryPath,
    ...(tls && { tls }),
  });
  try {
    await valley.start();
  } catch (error) {
    logger.fatal({ err: error }, `could not start: ${(error as Error).message}`);
    out.error(`valley start: ${(error as Error).message}`);
    return 1;
  }
  // The demo fleet comes last and goes first (DESIGN: gateway → broker → HTTP → demo fleet).
  const fleet = settings.demoFleet
    ? await startDemoFleetForGateway({ mqtt: valley.broker.mqttAddress, registry, logger })
    : undefined;

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        // Everything acknowledged is already fsynced: cutting the flush short loses nothing.
        logger.warn({ signal }, 'second signal: exiting at once; unsent readings stay on disk');
        process.exit(1);
      }
      stopping = true;
      logger.info({ signal }, 'shutting down');
      (fleet ? fleet.stop() : Promise.resolve())
        .then(() => valley.stop())
        .then(
          () => resolve(0),
          (error: unknown) => {
            logger.error({ err: error }, 'error during shutdown');
            resolve(1);
          },
        );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    // SIGHUP re-reads the registry (for when a file watch cannot see the change, e.g. some
    // network file systems); without a listener it would end the process.
    process.on('SIGHUP', () => {
      if (!stopping) void valley.reloadRegistry();
    });
    // SIGHUP also re-reads a renewed certificate (certbot and friends replace the files); a bad
    // file is logged and the certificate in use stays.
    if (tls)
      process.on('SIGHUP', () => {
        if (stopping) return;
        loadTlsMaterial(settings).then(
          (material) => material && valley.reloadTls(material),
          (error: unknown) =>
            logger.error(
              { err: (error as Error).message },
              'TLS reload refused; the current certificate stays',
            ),
        );
      });
  });
}
