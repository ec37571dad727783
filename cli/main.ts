#!/usr/bin/env node
/** The `valley` command: dispatches to the subcommands. */
import { runCheckConfig } from './check-config.js';
import { runDeadLetter } from './deadletter.js';
import { runDevice } from './device.js';
import { runSimulate } from './simulate.js';
import { runStart } from './start.js';
import { runUser } from './user.js';

const out = { log: (s: string) => console.log(s), error: (s: string) => console.error(s) };

const USAGE = `usage: valley <command> [options]

commands:
  start                      broker + gateway (+ HTTP server, demo fleet); settings from flags and env
  check-config [file]        validate a registry file; every problem with its path
  device add|rotate|revoke   manage devices in the registry (secrets printed once, only hashes stored)
  user add|passwd            manage dashboard/MQTT users (scrypt hashes)
  deadletter list|replay     list or replay a running gateway's dead-letter records (HTTP API)
  simulate                   drive a broker with simulated devices and injected faults (CI: --assert --report)

run "valley <command> --help" for the options of a command; settings: see README.md`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return runStart(rest, out);
    case 'check-config':
      return runCheckConfig(rest, out);
    case 'device':
      return runDevice(rest, out);
    case 'user':
      return runUser(rest, out);
    case 'simulate':
      return runSimulate(rest, out);
    case 'deadletter':
      return runDeadLetter(rest, out);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      out.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      out.error(`valley: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

let settled = false;
// If the command's promise never settles and nothing keeps Node busy, Node would exit 0 with no
// result: a CI job would pass on nothing. That is a failure, said as such.
process.on('beforeExit', () => {
  if (settled) return;
  settled = true;
  console.error(
    `valley ${process.argv[2] ?? ''}: ended without a result (nothing left to wait for); failing`,
  );
  process.exitCode = 1;
});

main(process.argv.slice(2)).then(
  (code) => {
    settled = true;
    process.exitCode = code;
    // Long-running commands resolve only after a clean stop; anything left open is a bug, but it
    // must not keep a stopped gateway alive.
    if (process.argv[2] === 'start')
      setTimeout(() => {
        console.error('valley start: something was still open 2 s after the stop; exiting anyway');
        process.exit(code);
      }, 2000).unref();
  },
  (error: unknown) => {
    settled = true;
    console.error(error);
    process.exitCode = 1;
  },
);
