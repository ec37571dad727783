/**
 * `valley user add|passwd`: people who log in to the dashboard (viewer) or also subscribe over
 * MQTT (operator). A password never goes on the command line, where `ps` and shell history would
 * keep it: it comes from VALLEY_USER_PASSWORD, a pipe on stdin, or a prompt without echo.
 */
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { loadRegistryFile } from '../config/loader.js';
import { addUser, RegistryEditError, setUserPassword } from '../config/registry-edit.js';
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
  '  valley user add <id> --role viewer|operator [--name NAME] [--registry FILE]',
  '  valley user passwd <id> [--registry FILE]',
  'The password comes from $VALLEY_USER_PASSWORD, else stdin (first line), else a prompt.',
].join('\n');

export const PASSWORD_ENV = 'VALLEY_USER_PASSWORD';

export interface UserIo {
  env: NodeJS.ProcessEnv;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  /** Where the prompt goes when stdin is a terminal. */
  prompt: NodeJS.WritableStream;
}

export async function promptHidden(io: UserIo, question: string): Promise<string> {
  io.prompt.write(question);
  // Echo goes to a sink: readline in terminal mode would otherwise print every key typed.
  const sink = new Writable({ write: (_chunk, _encoding, done) => done() });
  const rl = createInterface({ input: io.stdin, output: sink, terminal: true });
  try {
    return await new Promise<string>((resolve) => rl.question('', resolve));
  } finally {
    rl.close();
    io.prompt.write('\n');
  }
}

export async function readFirstLine(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text.includes('\n')) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

async function readPassword(io: UserIo): Promise<string> {
  const fromEnv = io.env[PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (io.stdin.isTTY === true) {
    const first = await promptHidden(io, 'Password: ');
    const again = await promptHidden(io, 'Repeat password: ');
    if (first !== again) throw new UsageError('the two passwords differ');
    return first;
  }
  const line = await readFirstLine(io.stdin);
  if (line === '') throw new UsageError(`no password: set ${PASSWORD_ENV} or write it on stdin`);
  return line;
}

function oneId(positionals: string[]): string {
  const [id, ...rest] = positionals;
  if (id === undefined) throw new UsageError('missing the user id');
  if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
  return id;
}

export async function runUser(
  argv: string[],
  out: CliOutput,
  io: UserIo = { env: process.env, stdin: process.stdin, prompt: process.stderr },
): Promise<number> {
  const [command, ...args] = argv;
  if (args.includes('--help') || args.includes('-h')) {
    out.log(USAGE);
    return EXIT_OK;
  }
  try {
    switch (command) {
      case 'add': {
        const { values, positionals } = parseCommand(args, {
          role: { type: 'string' },
          name: { type: 'string' },
          registry: { type: 'string' },
        });
        const id = oneId(positionals);
        const role = values.role;
        if (role !== 'viewer' && role !== 'operator') {
          throw new UsageError(
            role === undefined ? '--role is required' : `--role is viewer or operator, not "${role}"`,
          );
        }
        const file = registryPath(values.registry, io.env);
        // Checked before the prompt too, so nobody types a password twice for a refused id.
        const index = await loadRegistryFile(file);
        if (index.users.has(id) || index.devices.has(id)) {
          throw new RegistryEditError(`"${id}" is already a ${index.users.has(id) ? 'user' : 'device'} id`);
        }
        const password = await readPassword(io);
        await addUser(file, { id, role, password, ...(values.name !== undefined && { name: values.name }) });
        out.log(`Added ${role} ${id} to ${file}.`);
        return EXIT_OK;
      }
      case 'passwd': {
        const { values, positionals } = parseCommand(args, { registry: { type: 'string' } });
        const id = oneId(positionals);
        const file = registryPath(values.registry, io.env);
        if (!(await loadRegistryFile(file)).users.has(id))
          throw new RegistryEditError(`no user "${id}" in ${file}`);
        await setUserPassword(file, id, await readPassword(io));
        out.log(`New password for ${id} in ${file}.`);
        return EXIT_OK;
      }
      case undefined:
      case 'help':
      case '--help':
        out.log(USAGE);
        return command === undefined ? EXIT_USAGE : EXIT_OK;
      default:
        throw new UsageError(`unknown command "${command}" (add, passwd)`);
    }
  } catch (err) {
    return reportFailure(err, out, `user${command && !command.startsWith('-') ? ` ${command}` : ''}`, USAGE);
  }
}
