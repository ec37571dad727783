/**
 * Dashboard viewers in their own process (forked by scenarios/live-path.ts): N Socket.IO clients
 * join one device room and note, for every `seq` of that device's last reading, when each client
 * first saw it (wall clock: the bench and this process share the host's clock).
 */
import { io, type Socket } from 'socket.io-client';
import { joinAckSchema } from '../../dashboard/protocol.js';
import type { ClientToServerEvents, RoomMessage, ServerToClientEvents } from '../../dashboard/protocol.js';
import { roomSnapshotSchema } from '../../dashboard/aggregate/index.js';

type ViewerMessage =
  { type: 'start'; url: string; room: string; viewers: number } | { type: 'report' } | { type: 'close' };

const sockets: Socket<ServerToClientEvents, ClientToServerEvents>[] = [];
/** seq → when each viewer first saw it (epoch ms). */
const seen = new Map<number, number[]>();

function onRoom(viewerSeen: Set<number>, room: string, m: RoomMessage): void {
  if (m.room !== room) return;
  const snapshot = roomSnapshotSchema.parse(m.data);
  if (snapshot.type !== 'device') return;
  const seq = snapshot.data.lastReading?.seq;
  if (seq === null || seq === undefined || viewerSeen.has(seq)) return;
  viewerSeen.add(seq);
  let at = seen.get(seq);
  if (!at) seen.set(seq, (at = []));
  at.push(Date.now());
}

async function start(url: string, room: string, viewers: number): Promise<void> {
  await Promise.all(
    Array.from({ length: viewers }, async () => {
      const socket: Socket<ServerToClientEvents, ClientToServerEvents> = io(url, {
        path: '/socket.io',
        transports: ['websocket'],
        reconnection: false,
      });
      sockets.push(socket);
      const viewerSeen = new Set<number>();
      socket.on('snapshot', (m) => onRoom(viewerSeen, room, m));
      socket.on('delta', (m) => onRoom(viewerSeen, room, m));
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      const ack = joinAckSchema.parse(await socket.timeout(30_000).emitWithAck('join', room));
      if (!ack.ok) throw new Error(`join ${room}: ${ack.error}`);
    }),
  );
}

setTimeout(() => process.exit(3), 30 * 60_000).unref();
process.on('message', (m: ViewerMessage) => {
  if (m.type === 'start')
    start(m.url, m.room, m.viewers).then(
      () => process.send?.({ type: 'ready' }),
      (err: unknown) => process.send?.({ type: 'error', error: String(err) }),
    );
  if (m.type === 'report') process.send?.({ type: 'report', seen: [...seen] });
  if (m.type === 'close') {
    for (const s of sockets) s.disconnect();
    process.disconnect?.();
  }
});
