/**
 * The broker's listeners: MQTT over TCP and over WebSocket (`/mqtt`), and with a certificate MQTT
 * over TLS and over secure WebSocket. Each accepted connection is handed to `handle` as a byte
 * stream (TLS already decrypted), so the size guard, authentication and ACL are the same on
 * every door. With TLS on, the plaintext listeners bind to loopback unless allowed (config/tls.ts).
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { WebSocketServer, createWebSocketStream, type WebSocket } from 'ws';
import { plaintextBind, type TlsMaterial } from '../config/tls.js';
import type { Logger } from '../gateway/logger.js';

export interface ListenerSettings {
  bind: string;
  mqttPort: number;
  wsPort: number;
  mqttsPort: number;
  wssPort: number;
  plaintextPublic: boolean;
  maxPacketBytes: number;
}

export type ConnectionHandler = (stream: Duplex, address: string, req?: IncomingMessage) => void;

/** TCP keepalive probes reap half-open sockets even for clients with MQTT keepalive 0. */
const TCP_KEEPALIVE_MS = 30_000;
/**
 * Pending connections the kernel queues before accept (Node's default is 511; Linux caps it at
 * net.core.somaxconn, 4096 on current kernels). A reconnect storm of a thousand devices overflowed
 * 511 on the reference host: the dropped SYNs are retried by the clients only after 1 s, 3 s, 7 s.
 */
const LISTEN_BACKLOG = 4096;

export class Listeners {
  private tcp: net.Server | undefined;
  private ws: WebSocketServer | undefined;
  private mqtts: tls.Server | undefined;
  private wssHttps: HttpsServer | undefined;
  private wss: WebSocketServer | undefined;

  constructor(
    private readonly settings: ListenerSettings,
    private readonly tlsMaterial: TlsMaterial | undefined,
    private readonly handle: ConnectionHandler,
    private readonly log: Logger,
  ) {}

  /** Opens every listener; on a failure the ones already open stay open for close(). */
  async start(): Promise<void> {
    const s = this.settings;
    const plainBind = plaintextBind(s, this.tlsMaterial !== undefined);
    this.tcp = net.createServer((socket) => this.accept(socket));
    this.tcp.on('error', (err) => this.log.error({ err }, 'MQTT TCP listener error'));
    await listen(this.tcp, s.mqttPort, plainBind, 'VALLEY_MQTT_PORT / --mqtt-port');

    this.ws = new WebSocketServer({
      host: plainBind,
      port: s.wsPort,
      path: '/mqtt',
      backlog: LISTEN_BACKLOG,
      maxPayload: s.maxPacketBytes,
    });
    await new Promise<void>((resolve, reject) => {
      this.ws!.once('listening', resolve);
      this.ws!.once('error', (err) =>
        reject(portError(err, plainBind, s.wsPort, 'VALLEY_WS_PORT / --ws-port')),
      );
    });
    this.ws.on('error', (err) => this.log.error({ err }, 'MQTT WebSocket listener error'));
    this.ws.on('connection', (socket, req) => this.acceptWebSocket(socket, req));

    const material = this.tlsMaterial;
    if (material === undefined) return;
    this.mqtts = tls.createServer({ ...material }, (socket) => this.accept(socket));
    this.mqtts.on('tlsClientError', (err, socket) => this.handshakeFailed('mqtts', err, socket));
    this.mqtts.on('error', (err) => this.log.error({ err }, 'MQTT TLS listener error'));
    await listen(this.mqtts, s.mqttsPort, s.bind, 'VALLEY_MQTTS_PORT / --mqtts-port');

    // Only upgrades to /mqtt are served; a plain HTTPS request learns what this port is for.
    this.wssHttps = createHttpsServer({ ...material }, (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
      res.end('MQTT over secure WebSocket: connect to wss://<host>:<port>/mqtt\n');
    });
    this.wssHttps.on('tlsClientError', (err, socket) => this.handshakeFailed('wss', err, socket));
    this.wssHttps.on('error', (err) => this.log.error({ err }, 'MQTT secure WebSocket listener error'));
    this.wss = new WebSocketServer({ server: this.wssHttps, path: '/mqtt', maxPayload: s.maxPacketBytes });
    this.wss.on('connection', (socket, req) => this.acceptWebSocket(socket, req));
    await listen(this.wssHttps, s.wssPort, s.bind, 'VALLEY_WSS_PORT / --wss-port');
  }

  get mqttAddress(): AddressInfo {
    return this.tcp!.address() as AddressInfo;
  }

  get wsAddress(): AddressInfo {
    return this.ws!.address() as AddressInfo;
  }

  /** Undefined without TLS. */
  get mqttsAddress(): AddressInfo | undefined {
    return this.mqtts?.address() as AddressInfo | undefined;
  }

  get wssAddress(): AddressInfo | undefined {
    return this.wssHttps?.address() as AddressInfo | undefined;
  }

  /**
   * A renewed certificate for new connections (SIGHUP); open sessions keep theirs. The material
   * was checked by loadTlsMaterial, so this does not throw on it.
   */
  setSecureContext(material: TlsMaterial): void {
    this.mqtts?.setSecureContext({ ...material });
    this.wssHttps?.setSecureContext({ ...material });
  }

  /** No new connections; open ones are the broker's to end. */
  stopAccepting(): void {
    this.tcp?.close();
    this.ws?.close();
    this.mqtts?.close();
    this.wss?.close();
    this.wssHttps?.close();
  }

  /** After the sessions ended: drops what is left of the WebSocket connections. */
  dropRemaining(): void {
    for (const client of [...(this.ws?.clients ?? []), ...(this.wss?.clients ?? [])]) client.terminate();
    // An idle keep-alive HTTPS connection (a 426 answer) would hold the WSS server open.
    this.wssHttps?.closeAllConnections();
  }

  private accept(socket: net.Socket): void {
    socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
    socket.setNoDelay(true);
    this.handle(socket, socket.remoteAddress ?? 'unknown');
  }

  private acceptWebSocket(socket: WebSocket, req: IncomingMessage): void {
    req.socket.setKeepAlive(true, TCP_KEEPALIVE_MS);
    const stream = createWebSocketStream(socket);
    stream.on('error', () => socket.terminate());
    this.handle(stream, req.socket.remoteAddress ?? 'unknown', req);
  }

  /** Wrong CA, expired or plaintext client: refused before MQTT starts; worth a line, not an error. */
  private handshakeFailed(listener: string, err: Error, socket: tls.TLSSocket): void {
    this.log.info(
      {
        listener,
        address: socket.remoteAddress,
        err: err.message,
        code: (err as NodeJS.ErrnoException).code,
      },
      'TLS handshake failed',
    );
  }
}

async function listen(server: net.Server, port: number, host: string, setting: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(portError(err, host, port, setting)));
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => resolve());
  });
}

function portError(err: Error, host: string, port: number, setting: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE')
    return new Error(`port ${port} on ${host} is already in use; choose another with ${setting}`);
  if (code === 'EACCES')
    return new Error(`not allowed to listen on ${host}:${port}; choose another port with ${setting}`);
  if (code === 'EADDRNOTAVAIL')
    return new Error(`address ${host} is not available on this host; check VALLEY_BIND / --bind`);
  return err;
}
