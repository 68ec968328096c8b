/**
 * Who is who in a chat measurement. Connections are numbered 0..clients-1:
 * the first `senders` send (sender id = number), the others only receive.
 * Sender s is in room s % rooms, receiver r in room (r - senders) % rooms;
 * connection g is served by load thread g % threads. The members of each room
 * are dealt to the endpoints (the handoff servers on one bus) in turn, starting
 * at the room's own number: so every room spans the servers, and a room's
 * messages cross the bus however the rooms and servers divide.
 * So a receiver tells a sender of its room from the sender id alone:
 * id % rooms = its room, and floor(id / rooms) is that sender's place there.
 */
import type { TargetKind } from '../../results/chat-result.ts';

export interface ChatConnSpec {
  /** Global connection number. */
  g: number;
  /** Sender id, -1 for a receiver. */
  sid: number;
  room: number;
  endpoint: number;
}

export interface RoomShape {
  senders: number;
  receivers: number;
  /** Deliveries one message makes: every other member (handoff), or every receiver (NATS, Redis). */
  recipients: number;
}

export function roomOf(g: number, senders: number, rooms: number): number {
  return g < senders ? g % rooms : (g - senders) % rooms;
}

/** Senders and receivers of each room, and the deliveries each of its messages makes. */
export function roomShapes(clients: number, senders: number, rooms: number, kind: TargetKind): RoomShape[] {
  const shapes = Array.from({ length: rooms }, () => ({ senders: 0, receivers: 0, recipients: 0 }));
  for (let g = 0; g < clients; g++) {
    const shape = shapes[roomOf(g, senders, rooms)]!;
    if (g < senders) shape.senders++;
    else shape.receivers++;
  }
  for (const s of shapes) s.recipients = kind === 'handoff' ? s.senders + s.receivers - 1 : s.receivers;
  return shapes;
}

/** Senders in room `room` (ids room, room + rooms, ...). */
export function sendersIn(room: number, senders: number, rooms: number): number {
  return room < senders ? Math.floor((senders - 1 - room) / rooms) + 1 : 0;
}

/** The place of connection `g` among its room's members: its senders first, then its receivers. */
function placeInRoom(g: number, senders: number, rooms: number): number {
  if (g < senders) return Math.floor(g / rooms);
  return sendersIn(roomOf(g, senders, rooms), senders, rooms) + Math.floor((g - senders) / rooms);
}

/** The connections of each load thread. */
export function threadConnections(
  clients: number,
  senders: number,
  rooms: number,
  threads: number,
  endpoints: number,
): ChatConnSpec[][] {
  const out: ChatConnSpec[][] = Array.from({ length: threads }, () => []);
  for (let g = 0; g < clients; g++) {
    const room = roomOf(g, senders, rooms);
    const endpoint = (room + placeInRoom(g, senders, rooms)) % endpoints;
    out[g % threads]!.push({ g, sid: g < senders ? g : -1, room, endpoint });
  }
  return out;
}

/**
 * Deliveries expected from what each sender sent (`sent[sid]`): every message
 * times the recipients of its room. Exact, not estimated.
 */
export function expectedDeliveries(sent: ArrayLike<number>, rooms: number, shapes: readonly RoomShape[]): number {
  let total = 0;
  for (let sid = 0; sid < sent.length; sid++) total += sent[sid]! * shapes[sid % rooms]!.recipients;
  return total;
}
