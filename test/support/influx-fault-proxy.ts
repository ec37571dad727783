/**
 * A fault-injecting HTTP proxy on loopback between the gateway and a real InfluxDB: it forwards
 * requests, or fails them the ways InfluxDB and the network fail, in a mode the test switches
 * while load runs. Every request is recorded (mode, lines in the body, answer), so a test can
 * check batch sizes and what the gateway did after each kind of failure.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FaultMode =
  /** Forward to InfluxDB and relay its answer. */
  | { kind: 'pass' }
  /** Drop the connection without an answer (InfluxDB unreachable, a reset). */
  | { kind: 'reset' }
  /** Never answer (a hung InfluxDB): the gateway's VALLEY_SINK_TIMEOUT must end the write. */
  | { kind: 'hang' }
  /** Answer this status (429, 500, 503 …) without forwarding, with Retry-After if given. */
  | { kind: 'status'; status: number; retryAfter?: string }
  /** Forward (InfluxDB stores the batch), then drop the connection: the answer is lost. */
  | { kind: 'lost-answer' };

export interface ProxiedRequest {
  mode: FaultMode['kind'];
  method: string;
  path: string;
  /** Lines of line protocol in the body (0 for a body-less request such as /ping). */
  lines: number;
  /** When the request arrived (Date.now()). */
  at: number;
  /** The status the gateway got; undefined when it got none (reset, hang, lost answer). */
  status?: number;
  /** The gateway gave up on it (its timeout) before any answer. */
  abandoned: boolean;
}

export class InfluxFaultProxy {
  mode: FaultMode = { kind: 'pass' };
  readonly requests: ProxiedRequest[] = [];
  private server: Server | undefined;
  private port = 0;

  constructor(private readonly upstream: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Requests answered (or not) in a mode: what a test waits for before it switches on. */
  count(kind: FaultMode['kind'], path = '/write'): number {
    return this.requests.filter((r) => r.mode === kind && r.path === path).length;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections(); // hung requests included
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const text = body.toString('utf8');
    const mode = this.mode;
    const record: ProxiedRequest = {
      mode: mode.kind,
      method: req.method ?? 'GET',
      path: new URL(req.url ?? '/', 'http://x').pathname,
      lines: text === '' ? 0 : text.split('\n').length,
      at: Date.now(),
      abandoned: false,
    };
    this.requests.push(record);
    res.once('close', () => {
      if (!res.writableFinished && mode.kind === 'hang') record.abandoned = true;
    });
    switch (mode.kind) {
      case 'reset':
        req.socket.destroy();
        return;
      case 'hang':
        return; // the gateway's timeout ends it; close() cuts what is left
      case 'status':
        record.status = mode.status;
        res
          .writeHead(mode.status, {
            'content-type': 'application/json',
            ...(mode.retryAfter !== undefined && { 'retry-after': mode.retryAfter }),
          })
          .end(JSON.stringify({ error: `injected HTTP ${mode.status}` }));
        return;
      case 'pass':
      case 'lost-answer': {
        let answer: Response;
        try {
          answer = await fetch(`${this.upstream}${req.url ?? '/'}`, {
            method: req.method ?? 'GET',
            headers: forwardHeaders(req),
            ...(body.length > 0 && { body }),
            redirect: 'manual',
          });
        } catch {
          req.socket.destroy(); // InfluxDB itself is unreachable: so is the proxy
          return;
        }
        const answerBody = Buffer.from(await answer.arrayBuffer());
        if (mode.kind === 'lost-answer') {
          req.socket.destroy();
          return;
        }
        record.status = answer.status;
        const headers: Record<string, string> = {};
        answer.headers.forEach((value, name) => {
          if (name !== 'content-length' && name !== 'transfer-encoding' && name !== 'connection')
            headers[name] = value;
        });
        res.writeHead(answer.status, headers).end(answerBody);
      }
    }
  }
}

function forwardHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name === 'host' || name === 'connection' || name === 'content-length')
      continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}
