/**
 * `valley deadletter list|replay`: the dead-letter endpoints of a running gateway over HTTP
 * (docs/http-api.md), so an operator needs no access to its data dir. With `--user` it logs in
 * first; the password comes from VALLEY_PASSWORD, else a pipe on stdin, else a prompt without
 * echo (never the command line, where `ps` would show it). Without users, on loopback, the
 * dashboard is open and no login is needed. Answers are checked with the same zod schemas the
 * gateway answers with; an HTTP error or a refused login exits 1 with the gateway's message.
 */
import type { z } from 'zod';
import {
  deadLetterPageSchema,
  replayAnswerSchema,
  type DeadLetterPage,
  type ReplayAnswer,
} from '../gateway/deadletter-query.js';
import {
  EXIT_FAILED,
  EXIT_OK,
  parseCommand,
  reportFailure,
  UsageError,
  type CliOutput,
} from './check-config.js';
import { promptHidden, readFirstLine, type UserIo } from './user.js';

export const DEADLETTER_PASSWORD_ENV = 'VALLEY_PASSWORD';
const DEFAULT_URL = 'http://127.0.0.1:3000';

const USAGE = [
  'usage:',
  '  valley deadletter list   [--device ID] [--code E_...] [--stage ingest|sink] [--since T] [--until T]',
  '                           [--limit N] [--cursor ID] [--url URL] [--user ID] [--json]',
  '  valley deadletter replay (--id ID ... | --device ID | --code E_... | --stage S | --since T | --until T)',
  '                           [--limit N] [--url URL] [--user ID] [--json]',
  `--url: the gateway's HTTP address (default ${DEFAULT_URL}). T: epoch ms or ISO-8601 with a zone.`,
  `--user: log in first; the password comes from $${DEADLETTER_PASSWORD_ENV}, else stdin, else a prompt.`,
].join('\n');

const COMMON = {
  url: { type: 'string' },
  user: { type: 'string' },
  json: { type: 'boolean' },
  device: { type: 'string' },
  code: { type: 'string' },
  stage: { type: 'string' },
  since: { type: 'string' },
  until: { type: 'string' },
  limit: { type: 'string' },
} as const;

class HttpFailure extends Error {}

/** The gateway, maybe after a login: one cookie for the calls that follow. */
class Gateway {
  private cookie: string | undefined;
  constructor(private readonly base: string) {}

  async login(user: string, password: string): Promise<void> {
    const res = await this.call('POST', '/api/login', { id: user, password });
    const cookie = res.headers.get('set-cookie')?.split(';')[0];
    if (cookie === undefined) throw new HttpFailure('the gateway answered the login without a session');
    this.cookie = cookie;
  }

  async json<S extends z.ZodType>(schema: S, method: 'GET' | 'POST', path: string, body?: unknown) {
    const res = await this.call(method, path, body);
    const parsed = schema.safeParse(await res.json().catch(() => undefined));
    if (!parsed.success)
      throw new HttpFailure(`unexpected answer from ${method} ${path}: ${parsed.error.message}`);
    return parsed.data;
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Response> {
    const headers: Record<string, string> = {};
    if (this.cookie !== undefined) headers.cookie = this.cookie;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(new URL(path, this.base), {
        method,
        headers,
        ...(body !== undefined && { body: JSON.stringify(body) }),
      });
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      throw new HttpFailure(
        `cannot reach the gateway at ${this.base}: ${cause?.code ?? cause?.message ?? String(error)} (is it running? --url)`,
      );
    }
    if (res.ok) return res;
    const answer = (await res.json().catch(() => undefined)) as
      { error?: { code?: string; message?: string } } | undefined;
    const detail = answer?.error ? `${answer.error.code}: ${answer.error.message}` : res.statusText;
    const hint =
      res.status === 401 && path !== '/api/login' ? ' (log in with --user and $VALLEY_PASSWORD)' : '';
    throw new HttpFailure(`${method} ${path}: HTTP ${res.status} ${detail}${hint}`);
  }
}

async function password(io: UserIo): Promise<string> {
  const fromEnv = io.env[DEADLETTER_PASSWORD_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (io.stdin.isTTY === true) return promptHidden(io, 'Password: ');
  const line = await readFirstLine(io.stdin);
  if (line === '') throw new UsageError(`no password: set ${DEADLETTER_PASSWORD_ENV} or write it on stdin`);
  return line;
}

/** Filters from the flags, as they go into a query string or a replay body. */
function filters(values: Partial<Record<keyof typeof COMMON, string | boolean>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ['device', 'code', 'stage', 'since', 'until', 'limit'] as const) {
    const v = values[key];
    if (typeof v === 'string') out[key] = v;
  }
  return out;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  '),
  );
}

function listLines(page: DeadLetterPage): string[] {
  if (page.records.length === 0) return ['no dead-letter records match'];
  const rows = [['ID', 'RECEIVED', 'DEVICE', 'STAGE', 'CODE', 'REPLAYED', 'MESSAGE']];
  for (const r of page.records) {
    const replay = r.replay ? `${r.replay.outcome} ${new Date(r.replay.at).toISOString()}` : '-';
    rows.push([
      r.id,
      new Date(r.reject.receivedAt).toISOString(),
      r.device,
      r.stage,
      r.reject.code,
      replay,
      r.reject.message,
    ]);
  }
  const lines = table(rows);
  if (page.nextCursor !== null) lines.push(`more: --cursor ${page.nextCursor}`);
  return lines;
}

function replayLines(answer: ReplayAnswer): string[] {
  const rows = [['ID', 'DEVICE', 'OUTCOME', 'READINGS', 'CODE', 'MESSAGE']];
  for (const r of answer.results)
    rows.push([r.id, r.device ?? '-', r.outcome, String(r.readings), r.code ?? '-', r.message ?? '']);
  return [
    ...(answer.results.length > 0 ? table(rows) : ['no dead-letter records match']),
    `${answer.accepted} accepted, ${answer.duplicate} duplicate, ${answer.rejected} rejected, ${answer.notFound} not found`,
  ];
}

export async function runDeadLetter(
  argv: string[],
  out: CliOutput,
  io: UserIo = { env: process.env, stdin: process.stdin, prompt: process.stderr },
): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || args.includes('--help') || args.includes('-h') || command === '--help') {
    out.log(USAGE);
    return command === undefined ? 2 : EXIT_OK;
  }
  const name = `deadletter${command.startsWith('-') ? '' : ` ${command}`}`;
  try {
    if (command !== 'list' && command !== 'replay')
      throw new UsageError(`unknown command "${command}" (list, replay)`);
    const { values, positionals } = parseCommand(args, {
      ...COMMON,
      cursor: { type: 'string' },
      id: { type: 'string', multiple: true },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    const base = values.url ?? DEFAULT_URL;
    if (!URL.canParse(base)) throw new UsageError(`--url "${base}" is not a URL`);
    const gateway = new Gateway(base);
    if (values.user !== undefined) await gateway.login(values.user, await password(io));
    const chosen = filters(values);
    if (command === 'list') {
      if (values.id !== undefined) throw new UsageError('--id belongs to replay');
      const query = new URLSearchParams({
        ...chosen,
        ...(values.cursor !== undefined && { cursor: values.cursor }),
      });
      const page = await gateway.json(deadLetterPageSchema, 'GET', `/api/deadletter?${query.toString()}`);
      for (const line of values.json === true ? [JSON.stringify(page, null, 2)] : listLines(page))
        out.log(line);
      return EXIT_OK;
    }
    if (values.cursor !== undefined) throw new UsageError('--cursor belongs to list');
    // The gateway checks the values (and names a bad one); only the limit becomes a number here.
    const body: Record<string, unknown> =
      values.id !== undefined
        ? { ids: values.id }
        : { ...chosen, ...(chosen.limit !== undefined && { limit: Number(chosen.limit) }) };
    const answer = await gateway.json(replayAnswerSchema, 'POST', '/api/deadletter/replay', body);
    for (const line of values.json === true ? [JSON.stringify(answer, null, 2)] : replayLines(answer))
      out.log(line);
    return EXIT_OK;
  } catch (err) {
    if (err instanceof HttpFailure) {
      out.error(`valley ${name}: ${err.message}`);
      return EXIT_FAILED;
    }
    return reportFailure(err, out, name, USAGE);
  }
}
