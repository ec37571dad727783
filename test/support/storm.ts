/**
 * The test side of test/support/storm-client.ts: a registry of many storm devices, and a child
 * process that connects them all at once and answers with what it saw (CONNACKs, PUBACKs, errors).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';

const root = join(import.meta.dirname, '..', '..');

/** `s-0000` … : water flow meters at the test reservoir. */
export function stormDevices(count: number): { id: string; kind: string; site: string }[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `s-${String(i).padStart(4, '0')}`,
    kind: 'water_flow',
    site: 't-reservoir',
  }));
}

const connected = z.object({
  event: z.literal('connected'),
  round: z.number(),
  connacks: z.number(),
  pubacks: z.array(z.string()),
  errors: z.record(z.string(), z.string()),
});
const disconnected = z.object({ event: z.literal('disconnected'), complete: z.boolean() });
const state = z.object({
  event: z.literal('state'),
  connected: z.array(z.string()),
  closedByBroker: z.array(z.string()),
});
export type StormRound = z.infer<typeof connected>;
export type StormState = z.infer<typeof state>;

export class Storm {
  private readonly answers: string[] = [];
  private waiting: (() => void) | undefined;
  private stderr = '';
  readonly exited: Promise<number | null>;

  private constructor(private readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      this.answers.push(line);
      this.waiting?.();
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    void this.exited.then(() => this.waiting?.());
  }

  /** Starts the child for `devices` (id → secret) against `url`; resolves when it is ready. */
  static async start(dir: string, url: string, secrets: Record<string, string>): Promise<Storm> {
    // One file per storm: a test may run several side by side.
    const file = join(dir, `storm-devices-${randomBytes(4).toString('hex')}.json`);
    const devices = Object.entries(secrets).map(([id, secret]) => ({ id, secret }));
    await writeFile(file, JSON.stringify({ url, devices }));
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'test', 'support', 'storm-client.ts'), file],
      {
        cwd: root,
        stdio: ['pipe', 'pipe', 'pipe'],
      },
    );
    const storm = new Storm(child);
    await storm.next(z.object({ event: z.literal('ready') }), 30_000);
    return storm;
  }

  /** Every device connects at once and publishes one reading; the child gives up at the deadline. */
  connect(round: number, deadlineMs = 30_000): Promise<StormRound> {
    this.send({ cmd: 'connect', round, deadlineMs });
    return this.next(connected, deadlineMs + 15_000);
  }

  state(): Promise<StormState> {
    this.send({ cmd: 'state' });
    return this.next(state, 15_000);
  }

  async disconnect(deadlineMs = 20_000): Promise<boolean> {
    this.send({ cmd: 'disconnect', deadlineMs });
    return (await this.next(disconnected, deadlineMs + 15_000)).complete;
  }

  /** Ends the child: politely, then SIGKILL if it does not go. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.send({ cmd: 'exit' });
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  private send(command: object): void {
    this.child.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  private async next<T>(schema: z.ZodType<T>, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.answers.shift();
      if (line !== undefined) return schema.parse(JSON.parse(line));
      if (this.child.exitCode !== null) throw new Error(`the storm child exited:\n${this.stderr}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the storm child did not answer in ${timeoutMs} ms:\n${this.stderr}`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.waiting = undefined;
    }
  }
}
