/**
 * Chat mode on one thread: its members and rooms, its copy of the roster, its
 * side of the bus, and the end-of-turn flush that turns everything queued into
 * one write per connection.
 *
 * Effective on reply: a membership change (a connection entering the lobby, a
 * `!JOIN`, a `!NICK`) is applied here at once and announced on the bus; its
 * reply (and every later reply of that connection) waits until every other
 * participant has confirmed it has applied the change. From then on every
 * thread delivers that room's messages to the member and lists it in `!WHO`.
 */
import { encodeTextFrame, SlowConsumerError } from '../../protocol/index.ts';
import type { PrebuiltAcks } from '../io/acks.ts';
import type { ServerLog } from '../observe/log.ts';
import { BRIDGE_ID, Bus, type BusMessage, type MemberEvent } from './bus.ts';
import { BurstLog } from './burst-log.ts';
import { isCommand, LOBBY, parseCommand, refusalText } from './commands.ts';
import { type ChatConnection, ChatMember, type Ticket } from './member.ts';
import { LocalRoom } from './room.ts';
import { NEW_MEMBER, Roster } from './roster.ts';
import { isListableName, maxWhoBytes, whoReply } from './who.ts';

export interface ChatThreadOptions {
  /** This participant's id on the bus: its threadId. */
  id: number;
  busName: string;
  headerBytes: number;
  maxMessageBytes: number;
  maxPendingBytes: number;
  /** The thread's prebuilt acks. */
  acks: PrebuiltAcks;
  /** A new member id, unique in the server. */
  nextMemberId(): number;
  /** The other participants alive now, as far as the shared counters know (threads, and the bridge). */
  livePeers(): number[];
  /**
   * A Redis bridge is on the bus (participant BRIDGE_ID): every message goes to it too, and
   * `!WHO` asks it (every server) rather than this server's roster.
   */
  bridge: boolean;
  /** Deliveries written, for the counters. */
  onDelivered(deliveries: number): void;
  /** A bus message whose handling threw was dropped (counted as `error`). */
  onBusDropped(): void;
  log: ServerLog;
  /** Test-only: apply what the bus brings this many ms late (0 in real use). */
  busDelayMs?: number;
  /** Test-only fault injection: handling a delivery whose frames hold these bytes throws. */
  busFault?: Buffer | null;
}

interface PendingTicket extends Ticket {
  seq: number;
  /** Participants that have yet to confirm. */
  waitingFor: Set<number>;
  /** Whose reply waits on it (null: every member's first reply). */
  member: ChatMember | null;
}

export class ChatThread {
  readonly #o: ChatThreadOptions;
  readonly #bus: Bus;
  readonly #roster = new Roster();
  readonly #rooms = new Map<string, LocalRoom>();
  readonly #members = new Map<number, ChatMember>();
  /** Participants known to be alive (learnt from their hello or their roster). */
  readonly #peers = new Set<number>();
  /** Participants that have died: anything still arriving from them is ignored. */
  readonly #dead = new Set<number>();
  /** Participants whose roster this thread has (their events before it are already in it). */
  readonly #rosterFrom = new Set<number>();
  /** Highest event seq each participant has confirmed of ours. */
  readonly #acked = new Map<number, number>();
  #seq = 0;
  #events: MemberEvent[] = [];
  readonly #acksDue = new Map<number, number>();
  readonly #tickets: PendingTicket[] = [];
  readonly #dirtyRooms = new Set<LocalRoom>();
  #dirtyMembers = new Set<ChatMember>();
  /** The other half of #dirtyMembers: #flush swaps them, so that a member touched while it runs is kept. */
  #flushingMembers = new Set<ChatMember>();
  #flushScheduled = false;
  #whoRequests = 0;
  /** `!WHO`s asked of the bridge: the reply is of the room and the name the asker had when it asked. */
  readonly #whoWaiting = new Map<number, { ticket: PendingTicket; member: ChatMember; room: string; name: string }>();
  /** Done once the roster of every participant alive at start has arrived. */
  readonly #startTicket: PendingTicket;
  readonly ready: Promise<void>;
  #readyResolve!: () => void;
  readonly #drops: BurstLog;
  readonly #whoBytes: number;

  constructor(options: ChatThreadOptions) {
    this.#o = options;
    this.ready = new Promise((resolve) => (this.#readyResolve = resolve));
    this.#drops = new BurstLog(options.log, 'bus-dropped');
    this.#whoBytes = maxWhoBytes(options.maxMessageBytes);
    const delay = options.busDelayMs ?? 0;
    const onFailure = (err: unknown, message: BusMessage) => this.#onBusFailure(err, message);
    this.#bus = new Bus(
      options.busName,
      options.id,
      (message) => {
        if (delay === 0) this.#onBus(message);
        else setTimeout(() => this.#receiveGuarded(message), delay); // timers of one delay fire in order
      },
      onFailure,
    );
    const expected = new Set(options.livePeers().filter((p) => p !== options.id));
    for (const p of expected) this.#peers.add(p);
    this.#startTicket = { done: false, frame: null, seq: 0, waitingFor: expected, member: null };
    this.#bus.post({ type: 'hello', src: options.id });
    this.#checkStart();
  }

  /** A new connection: it enters the lobby; its first reply waits until every participant knows. */
  attach(connection: ChatConnection): ChatMember {
    const member = new ChatMember(this.#o.nextMemberId(), connection, this.#o.acks.frame.length);
    this.#members.set(member.id, member);
    if (!this.#startTicket.done) member.replyLater(this.#startTicket);
    this.#enter(member, LOBBY, member.name, null);
    return member;
  }

  /** A complete frame from `member` (`payload` may be a view of the read buffer, valid during the call). */
  onPayload(member: ChatMember, payload: Uint8Array): void {
    if (!isCommand(payload)) {
      member.room!.addMessage(member, payload);
      member.ack();
      this.#touch(member.room!);
      this.#touchMember(member);
      return;
    }
    const command = parseCommand(payload);
    switch (command.kind) {
      case 'refused':
        member.reply(this.#frame(refusalText(command)));
        break;
      case 'disconnect':
        member.ack(); // as v1: the reply, then the close (Session ends it once the reply is out)
        break;
      case 'nick':
        if (command.name !== member.name) {
          member.setPlace(member.room, command.name);
          this.#roster.rename(member.id, command.name);
          const event: MemberEvent = { kind: 'rename', id: member.id, name: command.name };
          member.replyLater(this.#announce(event, member, `!OK NICK ${command.name}`));
        } else {
          member.reply(this.#frame(`!OK NICK ${command.name}`));
        }
        break;
      case 'join':
        if (command.room === member.room!.name) {
          member.reply(this.#frame(`!OK JOIN ${command.room}`));
        } else {
          const ticket = this.#enter(member, command.room, member.name, member.room);
          ticket.frame = this.#frame(`!OK JOIN ${command.room}`);
          member.replyLater(ticket);
        }
        break;
      case 'who':
        this.#who(member);
        break;
    }
    this.#touchMember(member);
  }

  /** The connection is gone: its room gets `!LEFT`, every thread forgets it. */
  detach(member: ChatMember): void {
    if (member.gone) return;
    member.gone = true;
    this.#members.delete(member.id);
    const room = member.room;
    if (room) {
      this.#distribute(room);
      room.members.delete(member);
      this.#roster.leave(member.id);
      this.#queueEvent({ kind: 'leave', id: member.id, room: room.name });
      this.#presence(room.name, `!LEFT ${room.name} ${member.name}`, null);
      this.#dropRoomIfEmpty(room);
    }
    this.#dirtyMembers.delete(member);
    this.#scheduleFlush();
  }

  /** Writes what `member` has queued now (before an error frame, or a close). */
  flushMember(member: ChatMember): void {
    if (member.room?.pending) this.#distribute(member.room);
    member.flush(this.#o.acks);
    // Out of this turn's set, and marked so: a later #touchMember (its ticket done) must queue it again.
    this.#dirtyMembers.delete(member);
    member.dirty = false;
  }

  /** The main thread says a participant died: its members leave, nothing more from it counts. */
  onPeerGone(participant: number): void {
    if (participant === this.#o.id || this.#dead.has(participant)) return;
    this.#dead.add(participant);
    this.#peers.delete(participant);
    for (const info of this.#roster.membersOf(participant)) {
      this.#roster.leave(info.id);
      this.#presence(info.room, `!LEFT ${info.room} ${info.name}`, null);
    }
    for (const ticket of this.#tickets) ticket.waitingFor.delete(participant);
    this.#startTicket.waitingFor.delete(participant);
    this.#checkTickets();
    this.#checkStart();
    this.#scheduleFlush();
  }

  close(): void {
    this.#bus.close();
    this.#drops.close();
  }

  // --- membership

  /** Moves `member` into `roomName` (from `from`, if any) here and announces it; the ticket is its reply's. */
  #enter(member: ChatMember, roomName: string, name: string, from: LocalRoom | null): PendingTicket {
    if (from) {
      this.#distribute(from);
      from.members.delete(member);
      this.#presence(from.name, `!LEFT ${from.name} ${name}`, null);
      this.#dropRoomIfEmpty(from);
    }
    const room = this.#room(roomName);
    this.#distribute(room);
    room.members.add(member);
    member.setPlace(room, name);
    this.#roster.enter(member.id, this.#o.id, name, roomName);
    this.#presence(roomName, `!JOINED ${roomName} ${name}`, member);
    const event: MemberEvent = { kind: 'enter', id: member.id, name, room: roomName };
    if (from) event.previous = from.name;
    const ticket = this.#announce(event, member, null);
    if (from === null) member.replyLater(ticket);
    return ticket;
  }

  #room(name: string): LocalRoom {
    let room = this.#rooms.get(name);
    if (!room) this.#rooms.set(name, (room = new LocalRoom(name, this.#o.headerBytes)));
    return room;
  }

  #dropRoomIfEmpty(room: LocalRoom): void {
    if (room.members.size === 0 && !room.pending) this.#rooms.delete(room.name);
  }

  /** A presence frame for this thread's members of `roomName` (not for `about`). */
  #presence(roomName: string, payload: string, about: ChatMember | null): void {
    const room = this.#rooms.get(roomName);
    if (!room || room.members.size === 0 || (room.members.size === 1 && about && room.members.has(about))) return;
    room.addPresence(payload, about);
    this.#touch(room);
  }

  #who(member: ChatMember): void {
    const room = member.room!.name;
    if (!this.#o.bridge) {
      member.reply(this.#whoFrame(member.name, room, this.#othersIn(room, member)));
      return;
    }
    const request = ++this.#whoRequests;
    const ticket: PendingTicket = { done: false, frame: null, seq: 0, waitingFor: new Set(), member };
    this.#whoWaiting.set(request, { ticket, member, room, name: member.name });
    member.replyLater(ticket);
    this.#postEvents();
    this.#bus.post({ type: 'who', src: this.#o.id, request, room, member: member.id });
  }

  /** The names of `room`'s members on every thread of this server, `member` left out. */
  #othersIn(room: string, member: ChatMember): string[] {
    const out: string[] = [];
    for (const info of this.#roster.membersIn(room)) if (info.id !== member.id) out.push(info.name);
    return out;
  }

  /** `!OK WHO`, the asker (as `name`) first, cut to the size rule (who.ts). */
  #whoFrame(name: string, room: string, others: string[]): Buffer {
    return this.#frame(whoReply(room, name, others, this.#whoBytes));
  }

  // --- the bus

  /** Queues `event` for the others and returns the ticket that is done once all have applied it. */
  #announce(event: MemberEvent, member: ChatMember, reply: string | null): PendingTicket {
    const seq = this.#queueEvent(event);
    const waitingFor = new Set(this.#peers);
    const frame = reply ? this.#frame(reply) : null;
    const ticket: PendingTicket = { done: waitingFor.size === 0, frame, seq, waitingFor, member };
    if (!ticket.done) this.#tickets.push(ticket);
    return ticket;
  }

  #queueEvent(event: MemberEvent): number {
    this.#events.push(event);
    this.#scheduleFlush();
    return ++this.#seq;
  }

  #postEvents(): void {
    if (this.#events.length === 0) return;
    this.#bus.post({ type: 'events', src: this.#o.id, seq: this.#seq, events: this.#events });
    this.#events = [];
  }

  /** The bus handler's failure boundary, for the messages it applies late (busDelayMs). */
  #receiveGuarded(message: BusMessage): void {
    try {
      this.#onBus(message);
    } catch (err) {
      this.#onBusFailure(err, message);
    }
  }

  /**
   * A bus message whose handling threw: dropped, counted, logged once per burst; the thread
   * and its other sessions go on. Events are still confirmed, so that the sender's replies
   * do not wait for a confirmation that would never come.
   */
  #onBusFailure(err: unknown, message: BusMessage): void {
    this.#o.onBusDropped();
    const why = err instanceof Error ? err.message : String(err);
    const from = message?.src === BRIDGE_ID ? 'the Redis bridge' : `thread ${String(message?.src)}`;
    this.#drops.report(
      `[ERROR] chat thread ${this.#o.id} dropped a ${String(message?.type)} message from ${from} on the chat bus: ${why}`,
      { thread: this.#o.id, from: message?.src, type: message?.type, error: why },
    );
    if (message?.type === 'events' && Number.isInteger(message.src) && Number.isInteger(message.seq)) {
      this.#acksDue.set(message.src, message.seq);
      this.#scheduleFlush();
    }
  }

  #onBus(message: BusMessage): void {
    if (message.src === this.#o.id || this.#dead.has(message.src)) return;
    switch (message.type) {
      case 'events':
        // Events from before its roster reached us are in that roster already.
        if (this.#rosterFrom.has(message.src)) {
          const first = message.seq - message.events.length + 1;
          message.events.forEach((event, i) => this.#apply(message.src, event, first + i));
        }
        this.#acksDue.set(message.src, message.seq);
        this.#scheduleFlush();
        break;
      case 'ack':
        for (const [participant, seq] of message.seqs) {
          if (participant !== this.#o.id) continue;
          if (seq > (this.#acked.get(message.src) ?? 0)) this.#acked.set(message.src, seq);
        }
        this.#checkTickets();
        break;
      case 'deliver':
        if (this.#o.busFault && Buffer.from(message.frames).includes(this.#o.busFault)) {
          throw new Error('injected fault: a delivery asked the bus handler to throw');
        }
        if (message.to.includes(this.#o.id)) {
          const room = this.#rooms.get(message.room);
          if (room && room.members.size > 0) {
            room.addForeign(message.frames, message.count);
            this.#touch(room);
          }
        }
        break;
      case 'hello':
        // It has no members yet: its roster is empty, and every event of its from now on is news.
        this.#peers.add(message.src);
        this.#rosterFrom.add(message.src);
        this.#startTicket.waitingFor.delete(message.src);
        this.#checkStart();
        this.#bus.post({
          type: 'roster',
          src: this.#o.id,
          to: message.src,
          seq: this.#seq,
          members: [...this.#members.values()].map((m) => [m.id, m.name, m.room!.name]),
        });
        this.#postEvents(); // nothing queued may be mistaken as covered by that roster
        break;
      case 'roster':
        if (message.to !== this.#o.id) break;
        this.#peers.add(message.src);
        this.#rosterFrom.add(message.src);
        for (const [id, name, room] of message.members) this.#roster.enter(id, message.src, name, room);
        this.#startTicket.waitingFor.delete(message.src);
        this.#checkStart();
        break;
      case 'who-reply':
        if (message.to === this.#o.id) this.#answerWho(message.request, message.names);
        break;
      case 'who':
        break; // for the bridge
    }
  }

  /** Applies another participant's event to the roster, with presence for this thread's members. */
  #apply(src: number, event: MemberEvent, _seq: number): void {
    switch (event.kind) {
      case 'enter': {
        const change = this.#roster.enter(event.id, src, event.name, event.room);
        if (change === null) break; // an event its sender's roster had already told us
        if (change !== NEW_MEMBER) this.#presence(change, `!LEFT ${change} ${event.name}`, null);
        this.#presence(event.room, `!JOINED ${event.room} ${event.name}`, null);
        break;
      }
      case 'leave': {
        const info = this.#roster.leave(event.id);
        if (info) this.#presence(info.room, `!LEFT ${info.room} ${info.name}`, null);
        break;
      }
      case 'rename':
        this.#roster.rename(event.id, event.name);
        break;
    }
  }

  #answerWho(request: number, names: string[] | null): void {
    const waiting = this.#whoWaiting.get(request);
    if (!waiting) return;
    this.#whoWaiting.delete(request);
    // null: the bridge could not ask Redis; this server's own roster is what there is. Names from
    // Redis were written by other servers (or anyone): only those that can be a <from> are listed.
    const others = names === null ? this.#othersIn(waiting.room, waiting.member) : names.filter(isListableName);
    waiting.ticket.frame = this.#whoFrame(waiting.name, waiting.room, others);
    waiting.ticket.done = true;
    this.#touchMember(waiting.member);
  }

  #checkTickets(): void {
    let released = false;
    for (const ticket of this.#tickets) {
      for (const p of ticket.waitingFor) if ((this.#acked.get(p) ?? 0) >= ticket.seq) ticket.waitingFor.delete(p);
      if (ticket.waitingFor.size === 0) {
        ticket.done = released = true;
        if (ticket.member) this.#touchMember(ticket.member);
      }
    }
    if (released) this.#tickets.splice(0, this.#tickets.length, ...this.#tickets.filter((t) => !t.done));
  }

  #checkStart(): void {
    if (this.#startTicket.done || this.#startTicket.waitingFor.size > 0) return;
    this.#startTicket.done = true;
    this.#readyResolve();
    for (const member of this.#members.values()) this.#touchMember(member);
  }

  // --- the end of the turn

  #touch(room: LocalRoom): void {
    if (!room.dirty) {
      room.dirty = true;
      this.#dirtyRooms.add(room);
    }
    this.#scheduleFlush();
  }

  #touchMember(member: ChatMember): void {
    if (!member.dirty && !member.gone) {
      member.dirty = true;
      this.#dirtyMembers.add(member);
    }
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  /** Hands out a room's batch now: to this thread's members, and once to each other participant with members there. */
  #distribute(room: LocalRoom): void {
    room.dirty = false;
    this.#dirtyRooms.delete(room);
    if (!room.pending) return;
    const { deliveries, forward, forwardCount } = room.distribute();
    if (deliveries > 0) this.#o.onDelivered(deliveries);
    for (const member of room.members) this.#touchMember(member);
    if (forward) {
      const to: number[] = [];
      for (const thread of this.#roster.threadsIn(room.name)) if (thread !== this.#o.id) to.push(thread);
      if (this.#o.bridge) to.push(BRIDGE_ID);
      if (to.length > 0) {
        this.#postEvents(); // membership first, so that each participant sees things in the order they happened
        this.#bus.post({ type: 'deliver', src: this.#o.id, room: room.name, to, count: forwardCount, frames: forward });
      }
    }
  }

  /**
   * Once per turn: batches handed out, the bus told, every connection written once. It runs
   * from setImmediate, outside every session's read path, so it is its own failure boundary:
   * a throw while a room's batch is handed out ends that room's members here, one while a
   * connection is written ends that connection (Session.crashed: `[ERROR]`, a session fault);
   * the thread and every other connection go on.
   */
  #flush(): void {
    this.#flushScheduled = false;
    for (const room of this.#dirtyRooms) {
      try {
        this.#distribute(room);
      } catch (err) {
        for (const member of [...room.members]) member.connection.crashed('chat-flush', err);
      }
    }
    this.#postEvents();
    if (this.#acksDue.size > 0) {
      this.#bus.post({ type: 'ack', src: this.#o.id, seqs: [...this.#acksDue] });
      this.#acksDue.clear();
    }
    const { acks, maxPendingBytes } = this.#o;
    // A member that leaves while this loop runs hands out its room's batch, which touches the room's
    // members, some already written this turn: they go into the fresh set, for the next flush.
    const members = this.#dirtyMembers;
    this.#dirtyMembers = this.#flushingMembers;
    this.#flushingMembers = members;
    for (const member of members) {
      if (!member.dirty) continue; // written meanwhile (flushMember), or gone
      member.dirty = false;
      try {
        this.#write(member, acks, maxPendingBytes);
      } catch (err) {
        member.connection.crashed('chat-flush', err);
      }
    }
    members.clear();
  }

  /** One member's write of this turn; one that does not read (more than maxPendingBytes unsent) is failed. */
  #write(member: ChatMember, acks: PrebuiltAcks, maxPendingBytes: number): void {
    member.flush(acks);
    // Unsent: what the socket holds, and the replies still waiting behind a membership change.
    if (!member.gone && member.connection.unsentBytes + member.queuedBytes > maxPendingBytes) {
      member.connection.fail(
        new SlowConsumerError(`more than ${maxPendingBytes} bytes queued for this connection: it does not read`),
      );
    }
  }

  #frame(payload: string): Buffer {
    return encodeTextFrame(payload, this.#o.headerBytes);
  }
}
