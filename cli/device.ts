/**
 * `valley device add|rotate|revoke`: registers devices and manages their secrets. A new secret is
 * printed once and never stored: the registry keeps only its hash, so a lost secret is rotated,
 * not recovered.
 */
import { loadRegistryFile } from '../config/loader.js';
import { addDevice, revokeDevice, rotateDeviceSecret } from '../config/registry-edit.js';
import {
  EXIT_OK,
  EXIT_USAGE,
  parseCommand,
  registryPath,
  reportFailure,
  UsageError,
  type CliOutput,
} from './check-config.js';

const USAGE = [
  'usage:',
  '  valley device add <id> --kind KIND --site SITE [--interval SECONDS] [--lat LAT --lon LON]',
  '                         [--description TEXT] [--registry FILE]',
  '  valley device rotate <id> [--registry FILE]',
  '  valley device revoke <id> [--registry FILE]',
  'The registry is --registry, else $VALLEY_REGISTRY, else config/valmalenco.yaml.',
].join('\n');

const registryOption = { registry: { type: 'string' } } as const;
const addOptions = {
  ...registryOption,
  kind: { type: 'string' },
  site: { type: 'string' },
  interval: { type: 'string', default: '60' },
  lat: { type: 'string' },
  lon: { type: 'string' },
  description: { type: 'string' },
} as const;

function oneId(positionals: string[]): string {
  const [id, ...rest] = positionals;
  if (id === undefined) throw new UsageError('missing the device id');
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  return id;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`--${flag} is required`);
  return value;
}

function coordinate(text: string | undefined, flag: 'lat' | 'lon'): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  const limit = flag === 'lat' ? 90 : 180;
  if (text.trim() === '' || !Number.isFinite(value) || Math.abs(value) > limit) {
    throw new UsageError(`--${flag} must be a number between -${limit} and ${limit} (got "${text}")`);
  }
  return value;
}

function printSecret(out: CliOutput, id: string, secret: string): void {
  out.log(`Secret of ${id}: ${secret}`);
  out.log(
    'It is shown only now and is not stored anywhere (the registry keeps only a hash): put it in the ' +
      `device now, with MQTT username and client id "${id}".`,
  );
}

export async function runDevice(argv: string[], out: CliOutput): Promise<number> {
  const [command, ...args] = argv;
  if (args.includes('--help') || args.includes('-h')) {
    out.log(USAGE);
    return EXIT_OK;
  }
  try {
    switch (command) {
      case 'add': {
        const { values, positionals } = parseCommand(args, addOptions);
        const id = oneId(positionals);
        const kind = required(values.kind, 'kind');
        const site = required(values.site, 'site');
        if (!/^\d+$/.test(values.interval)) {
          throw new UsageError(`--interval is a whole number of seconds (got "${values.interval}")`);
        }
        const lat = coordinate(values.lat, 'lat');
        const lon = coordinate(values.lon, 'lon');
        if ((lat === undefined) !== (lon === undefined))
          throw new UsageError('give both --lat and --lon, or neither');
        const file = registryPath(values.registry);
        const secret = await addDevice(file, {
          id,
          kind,
          site,
          interval_s: Number(values.interval),
          ...(lat !== undefined && lon !== undefined && { lat, lon }),
          ...(values.description !== undefined && { description: values.description }),
        });
        out.log(`Added device ${id} (${kind} at ${site}) to ${file}.`);
        printSecret(out, id, secret);
        return EXIT_OK;
      }
      case 'rotate': {
        const { values, positionals } = parseCommand(args, registryOption);
        const id = oneId(positionals);
        const file = registryPath(values.registry);
        const demo = (await loadRegistryFile(file)).devices.get(id)?.device.demo === true;
        const secret = await rotateDeviceSecret(file, id);
        out.log(
          `New secret for ${id} in ${file}; the old one stops working when the gateway reloads the registry.`,
        );
        printSecret(out, id, secret);
        if (demo) {
          out.log(
            `Note: ${id} is a demo device; simulators/demo-secrets.json still has the old secret ` +
              '(regenerate with: node --import tsx scripts/make-demo-secrets.ts).',
          );
        }
        return EXIT_OK;
      }
      case 'revoke': {
        const { values, positionals } = parseCommand(args, registryOption);
        const id = oneId(positionals);
        const file = registryPath(values.registry);
        await revokeDevice(file, id);
        out.log(
          `Revoked ${id}: removed from ${file}; the gateway disconnects it when it reloads the registry.`,
        );
        return EXIT_OK;
      }
      case undefined:
      case 'help':
      case '--help':
        out.log(USAGE);
        return command === undefined ? EXIT_USAGE : EXIT_OK;
      default:
        throw new UsageError(`unknown command "${command}" (add, rotate, revoke)`);
    }
  } catch (err) {
    return reportFailure(
      err,
      out,
      `device${command && !command.startsWith('-') ? ` ${command}` : ''}`,
      USAGE,
    );
  }
}
