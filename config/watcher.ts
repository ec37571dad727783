/**
 * Registry hot reload: watches the registry file and hands every new valid version to `onChange`.
 * An invalid version is refused with every problem (`onInvalid`, and logged) while the registry in
 * force stays.
 *
 * The directory is watched, not the file: `valley device add` and most editors replace the file
 * (temp file + rename), and a watch on the old inode would go quiet after the first such save.
 * One save makes several events (create, write, rename), so they are debounced; the text is then
 * compared with the last one read, so a touch or a save without changes reloads nothing. Checks run
 * one at a time, in order, so a slow check cannot apply an older version after a newer one.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { formatRegistryProblems, parseRegistryText, readRegistryText, RegistryError } from './loader.js';
import type { RegistryIndex } from './registry-schema.js';

export interface RegistryWatcherOptions {
  path: string;
  logger: Logger;
  /** A new valid registry. May refuse it itself (e.g. demo devices on a public bind). */
  onChange(index: RegistryIndex): void | Promise<void>;
  /** The file is invalid: one line per problem, `<file>:<line>: <path>: <message>`. */
  onInvalid(problems: string[]): void;
  /** Quiet time after the last event before the file is read. Default 200 ms. */
  debounceMs?: number;
}

export class RegistryWatcher {
  private readonly log: Logger;
  private readonly path: string;
  private readonly name: string;
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private lastText: string | undefined;
  private running = false;

  constructor(private readonly options: RegistryWatcherOptions) {
    this.log = options.logger.child({ module: 'registry-watcher' });
    this.path = resolve(options.path);
    this.name = basename(this.path);
  }

  /**
   * Watches, then checks the file once: an edit made between the first load and now is not
   * missed (onChange then receives a registry that may equal the one in force).
   */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      // Not persistent: the watch alone must never keep a stopping process alive.
      this.watcher = watch(dirname(this.path), { persistent: false }, (_event, filename) => {
        // Some platforms give no name: then any change in the directory may be ours.
        if (filename === null || filename === this.name) this.schedule();
      });
      this.watcher.on('error', (error) =>
        this.log.error({ err: error, path: this.path }, 'registry watch failed: reload with SIGHUP'),
      );
    } catch (error) {
      this.log.error({ err: error, path: this.path }, 'cannot watch the registry: reload with SIGHUP');
    }
    await this.enqueue(false);
  }

  /** Reads and applies the file now, changed or not (SIGHUP). Never rejects. */
  reload(): Promise<void> {
    this.log.info({ path: this.path }, 'registry reload requested');
    return this.enqueue(true);
  }

  async stop(): Promise<void> {
    this.running = false;
    this.watcher?.close();
    this.watcher = undefined;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.chain;
  }

  private schedule(): void {
    if (!this.running) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.enqueue(false);
    }, this.options.debounceMs ?? 200);
  }

  private enqueue(force: boolean): Promise<void> {
    const run = this.chain.then(() => this.check(force));
    this.chain = run;
    return run;
  }

  /** Never throws: a reload problem is logged and the registry in force stays. */
  private async check(force: boolean): Promise<void> {
    try {
      const text = await readRegistryText(this.path);
      if (!force && text === this.lastText) return;
      this.lastText = text;
      await this.options.onChange(parseRegistryText(text, this.options.path));
    } catch (error) {
      if (error instanceof RegistryError) this.refuse(formatRegistryProblems(error));
      else
        this.log.error(
          { err: error, path: this.path },
          'registry reload failed: the registry in force stays',
        );
    }
  }

  private refuse(problems: string[]): void {
    this.log.error(
      { path: this.path, problems },
      `registry refused (${problems.length} problem${problems.length === 1 ? '' : 's'}): the registry in force stays`,
    );
    for (const problem of problems) this.log.error({ path: this.path }, `registry problem: ${problem}`);
    try {
      this.options.onInvalid(problems);
    } catch (error) {
      this.log.error({ err: error }, 'onInvalid listener threw');
    }
  }
}
