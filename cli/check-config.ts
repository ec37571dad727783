/**
 * `valley check-config [file]`: validates a registry and prints every problem with its line, so a
 * hand edit can be checked before the gateway reloads it. Also home of the small helpers the
 * registry commands (`device`, `user`) share: argument parsing with readable errors, the
 * registry path, and error printing.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { formatRegistryProblems, loadRegistryFile, RegistryError } from '../config/loader.js';
import { RegistryEditError } from '../config/registry-edit.js';
import { defaultSettings, SETTING_DEFS } from '../config/settings.js';

export interface CliOutput {
  log(line: string): void;
  error(line: string): void;
}

/** Exit codes: 0 done, 1 the registry or the edit was refused, 2 the command line was wrong. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs (strict) with its errors turned into short messages for people. */
export function parseCommand<O extends Options>(args: string[], options: O) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (err) {
    const { code, message } = err as NodeJS.ErrnoException;
    const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${quoted}`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const name = quoted.split(' ')[0] ?? quoted;
      if (message.includes('ambiguous')) {
        throw new UsageError(`${name} needs a value (write one starting with "-" as ${name}=-1.5)`);
      }
      if (message.includes('does not take')) throw new UsageError(`${name} does not take a value`);
      throw new UsageError(`${name} needs a value`);
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      throw new UsageError(`unexpected argument "${quoted}"`);
    throw err;
  }
}

/** `--registry`, else VALLEY_REGISTRY, else the settings default (config/valmalenco.yaml). */
export function registryPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[SETTING_DEFS.registryPath.env];
  return flag ?? (fromEnv !== undefined && fromEnv !== '' ? fromEnv : defaultSettings().registryPath);
}

/** Prints an error at the edge of a command and picks the exit code. */
export function reportFailure(err: unknown, out: CliOutput, command: string, usage: string): number {
  if (err instanceof UsageError) {
    out.error(`valley ${command}: ${err.message}`);
    out.error(usage);
    return EXIT_USAGE;
  }
  if (err instanceof RegistryError) {
    for (const line of formatRegistryProblems(err)) out.error(line);
    out.error(`${err.source}: ${err.problems.length} problem(s); nothing was changed`);
    return EXIT_FAILED;
  }
  if (err instanceof RegistryEditError) {
    out.error(`valley ${command}: ${err.message}`);
    return EXIT_FAILED;
  }
  out.error(`valley ${command}: ${err instanceof Error ? err.message : String(err)}`);
  return EXIT_FAILED;
}

const USAGE = 'usage: valley check-config [FILE]   (default: $VALLEY_REGISTRY or config/valmalenco.yaml)';

export async function runCheckConfig(argv: string[], out: CliOutput): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    out.log(USAGE);
    return EXIT_OK;
  }
  let file: string;
  try {
    const { positionals } = parseCommand(argv, {});
    if (positionals.length > 1)
      throw new UsageError(`one registry file at a time (got ${positionals.length})`);
    file = registryPath(positionals[0]);
  } catch (err) {
    return reportFailure(err, out, 'check-config', USAGE);
  }
  try {
    const index = await loadRegistryFile(file);
    const { municipalities, sites, devices, users } = index.registry;
    const demo = devices.filter((d) => d.demo === true).length;
    out.log(
      `OK: ${file}: ${municipalities.length} municipalities, ${sites.length} sites, ` +
        `${devices.length} devices (${demo} demo), ${users.length} users`,
    );
    return EXIT_OK;
  } catch (err) {
    if (!(err instanceof RegistryError)) return reportFailure(err, out, 'check-config', USAGE);
    for (const line of formatRegistryProblems(err)) out.error(line);
    out.error(`${file}: ${err.problems.length} problem(s)`);
    return EXIT_FAILED;
  }
}
