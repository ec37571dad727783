/** socket.io-client helpers for tests: connect (with a session cookie), join a room, collect messages. */
import { io, type Socket } from 'socket.io-client';
import { roomSnapshotSchema, type RoomSnapshot } from '../../dashboard/aggregate/index.js';
import type {
  ClientToServerEvents,
  JoinAck,
  PrincipalView,
  RoomMessage,
  ServerToClientEvents,
} from '../../dashboard/protocol.js';

export type LiveClient = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface LiveRecorder {
  socket: LiveClient;
  snapshots: RoomMessage[];
  deltas: RoomMessage[];
  sessions: { user: PrincipalView | null }[];
  /** The newest snapshot or delta of a room, checked against the schema. */
  latest(room: string): RoomSnapshot | undefined;
}

/** A client that records everything from its first packet on; call `connect()` on it. */
export function liveClient(
  httpUrl: string,
  cookie?: string,
  transports?: ('websocket' | 'polling')[],
): LiveRecorder {
  const socket: LiveClient = io(httpUrl, {
    path: '/socket.io',
    autoConnect: false,
    reconnection: false,
    ...(transports && { transports }),
    ...(cookie !== undefined && { extraHeaders: { cookie } }),
  });
  const rec: LiveRecorder = {
    socket,
    snapshots: [],
    deltas: [],
    sessions: [],
    latest(room) {
      const all = [...rec.snapshots, ...rec.deltas].filter((m) => m.room === room);
      const newest = all.sort((a, b) => a.data.at - b.data.at).at(-1);
      return newest && roomSnapshotSchema.parse(newest.data);
    },
  };
  socket.on('snapshot', (m) => rec.snapshots.push(m));
  socket.on('delta', (m) => rec.deltas.push(m));
  socket.on('session', (m) => rec.sessions.push(m));
  return rec;
}

/** Resolves on `connect`; rejects with the server's refusal (`connect_error`). */
export function connectLive(rec: LiveRecorder, timeoutMs = 5000): Promise<void> {
  const { socket } = rec;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error('no connect within the timeout')), timeoutMs);
    const done = (error?: Error): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
      if (error) reject(error);
      else resolve();
    };
    const onConnect = (): void => done();
    const onError = (error: Error): void => done(error);
    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
    socket.connect();
  });
}

export function join(rec: LiveRecorder, room: string): Promise<JoinAck> {
  return rec.socket.timeout(5000).emitWithAck('join', room);
}
