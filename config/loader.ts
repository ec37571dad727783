/**
 * Reads the registry YAML into a validated RegistryIndex. A person fixing a file wants every
 * problem at once, each with the line to look at: YAML syntax errors come from the yaml parser
 * (which recovers and keeps going), schema problems from zod, and each zod path is mapped back to
 * the YAML node it came from through the Document's node ranges and a LineCounter.
 */
import { readFile } from 'node:fs/promises';
import { BlockList, isIP } from 'node:net';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { RegistryIndex, registrySchema } from './registry-schema.js';

export interface RegistryProblem {
  /** Where in the registry, like `devices[3].kind`; empty for problems of the whole file. */
  path: string;
  message: string;
  /** 1-based line in the YAML source, when known. */
  line?: number;
}

export class RegistryError extends Error {
  readonly code = 'E_REGISTRY';
  constructor(
    readonly source: string,
    readonly problems: RegistryProblem[],
  ) {
    super(`invalid registry ${source}:\n${formatProblems(source, problems).join('\n')}`);
  }
}

function formatProblems(source: string, problems: readonly RegistryProblem[]): string[] {
  return problems.map((p) => {
    const where = p.line === undefined ? source : `${source}:${p.line}`;
    return p.path === '' ? `${where}: ${p.message}` : `${where}: ${p.path}: ${p.message}`;
  });
}

/** One line per problem, `<file>:<line>: <path>: <message>`, ready to print. */
export function formatRegistryProblems(err: RegistryError): string[] {
  return formatProblems(err.source, err.problems);
}

/** `['devices', 3, 'kind']` → `devices[3].kind`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** YAML parse options shared with registry-edit, so both read a file the same way. */
export function parseRegistryDocument(text: string): { doc: Document.Parsed; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  return { doc, lineCounter };
}

/**
 * The line of the node at `path`, or of the nearest ancestor that exists (a missing key is
 * reported on the line of the object that lacks it). `unknownKey` points at an extra key instead.
 */
function lineOf(
  doc: Document,
  lc: LineCounter,
  path: readonly PropertyKey[],
  unknownKey?: string,
): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node: unknown = doc.getIn(path.slice(0, n) as unknown[], true);
    if (node === undefined || node === null || typeof node !== 'object' || !('range' in node)) continue;
    let target = node as Node;
    if (n === path.length && unknownKey !== undefined && isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === unknownKey);
      if (pair && isScalar(pair.key)) target = pair.key;
    }
    const start = target.range?.[0];
    return start === undefined ? undefined : lc.linePos(start).line;
  }
  return undefined;
}

function issueProblems(doc: Document, lc: LineCounter, issue: z.core.$ZodIssue): RegistryProblem[] {
  const path = issue.path;
  // One problem per unknown key, each on its own line: the usual typo is one key, not an object.
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => {
      const line = lineOf(doc, lc, path, key);
      return {
        path: formatPath([...path, key]),
        message: 'unknown key (a typo, or a field this version does not know)',
        ...(line !== undefined && { line }),
      };
    });
  }
  const line = lineOf(doc, lc, path);
  // zod says "expected string, received undefined"; people say "missing".
  const missing = issue.code === 'invalid_type' && issue.message.endsWith('received undefined');
  const message = missing ? `missing: a ${issue.expected} is required here` : issue.message;
  return [{ path: formatPath(path) || '(registry)', message, ...(line !== undefined && { line }) }];
}

/** Every problem of a parsed document: YAML errors first, else schema issues; empty when valid. */
function validate(
  doc: Document.Parsed,
  lc: LineCounter,
): { problems: RegistryProblem[]; registry?: z.infer<typeof registrySchema> } {
  if (doc.errors.length > 0) {
    // The structure after a syntax error is a guess; schema issues on top of it would mislead.
    return {
      problems: doc.errors.map((e) => ({
        path: '',
        // prettyErrors appends " at line L, column C:" and a source excerpt; the line is ours to print.
        message: `YAML ${e.code}: ${e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? ''}`,
        ...(e.linePos && { line: e.linePos[0].line }),
      })),
    };
  }
  let data: unknown;
  try {
    // Throws on an alias bomb (more than maxAliasCount expansions) or an alias to nothing.
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { problems: [{ path: '', message: `YAML: ${(err as Error).message}` }] };
  }
  const result = registrySchema.safeParse(data);
  if (result.success) return { problems: [], registry: result.data };
  const problems = result.error.issues.flatMap((issue) => issueProblems(doc, lc, issue));
  // In file order, so the list reads top to bottom next to the editor.
  problems.sort((a, b) => (a.line ?? Infinity) - (b.line ?? Infinity));
  return { problems };
}

/** Parses and validates registry YAML; throws RegistryError listing every problem. */
export function parseRegistryText(text: string, sourceName: string): RegistryIndex {
  const { doc, lineCounter } = parseRegistryDocument(text);
  const { problems, registry } = validate(doc, lineCounter);
  if (!registry) throw new RegistryError(sourceName, problems);
  return new RegistryIndex(registry);
}

/** The text of a registry file; an unreadable file is a RegistryError with one problem naming it. */
export async function readRegistryText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file (set VALLEY_REGISTRY or --registry to the registry YAML)'
        : code === 'EISDIR'
          ? 'it is a directory, not a registry YAML file'
          : code === 'EACCES'
            ? 'permission denied'
            : (err as Error).message;
    throw new RegistryError(path, [{ path: '', message: `cannot read the registry file: ${reason}` }]);
  }
}

/** Reads, parses and validates a registry file; throws RegistryError listing every problem. */
export async function loadRegistryFile(path: string): Promise<RegistryIndex> {
  return parseRegistryText(await readRegistryText(path), path);
}

export class DemoBindError extends Error {
  readonly code = 'E_DEMO_BIND';
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** 127.0.0.0/8, ::1 (any spelling, bracketed or IPv4-mapped) and `localhost`. */
export function isLoopback(bind: string): boolean {
  const host = bind
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost') return true;
  const family = isIP(host);
  return family !== 0 && LOOPBACK.check(host, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * The demo fleet's secrets are published in simulators/demo-secrets.json: anyone who can reach a
 * non-loopback listener could log in as a demo device. So demo devices and a public bind exclude
 * each other (DESIGN "Secrets").
 */
export function assertBindAllowed(index: RegistryIndex, bind: string): void {
  if (isLoopback(bind)) return;
  const demo = index.registry.devices.filter((d) => d.demo === true).map((d) => d.id);
  if (demo.length === 0) return;
  const examples = demo.slice(0, 3).join(', ') + (demo.length > 3 ? `, … (${demo.length} in all)` : '');
  throw new DemoBindError(
    `refusing to bind ${bind}: the registry has demo devices (${examples}) whose secrets are public ` +
      'in simulators/demo-secrets.json. Bind a loopback address (127.0.0.1, ::1) with VALLEY_BIND / ' +
      '--bind, or use a registry without `demo: true` devices.',
  );
}
