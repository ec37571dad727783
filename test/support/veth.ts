/**
 * A non-loopback address on this host for tests about what listens beyond loopback: a veth pair
 * in the root namespace with a private /32 on one end (`ip`, root). The address is local, so
 * traffic to it never leaves the host; its peer end is never brought up.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestAddress {
  address: string;
  remove(): Promise<void>;
}

export async function addTestAddress(): Promise<TestAddress> {
  // Per process, so parallel suites (and other checkouts on this host) do not collide.
  const n = process.pid % 65_000;
  const name = `vtls${n}a`;
  const address = `10.77.${n >> 8}.${n & 255 || 1}`;
  await ip(['link', 'add', name, 'type', 'veth', 'peer', 'name', `vtls${n}b`]);
  try {
    await ip(['addr', 'add', `${address}/32`, 'dev', name]);
    await ip(['link', 'set', name, 'up']);
  } catch (error) {
    await ip(['link', 'del', name]).catch(() => undefined);
    throw error;
  }
  return { address, remove: () => ip(['link', 'del', name]) };
}

async function ip(args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (error) {
    const err = error as Error & { stderr?: string };
    throw new Error(`ip ${args.join(' ')} failed (needs root and iproute2): ${err.stderr ?? err.message}`);
  }
}
