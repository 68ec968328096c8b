/**
 * The bus on NATS (`--bus nats://host:port[,host:port...]`): core NATS only, no JetStream,
 * so it runs on any nats-server (2.9 included), alone or clustered, with nothing stored.
 * docs/several-servers-design.md says why (and why not JetStream KV).
 *
 * - messages: a room is the subject `handoff.chat.<room>` (a room is one subject token: a
 *   `.` in its name is written `~`); batches are published there in envelopes.
 * - membership: each server is the authority on its own members and answers for them.
 *   `who(room)` is a scatter-gather request on `handoff.who`: every live server replies
 *   with its members in the room (none, often), so a member is listed as soon as its server has it
 *   (effective on reply). Membership changes are also published on the room's subject
 *   (`m` enter/rename, `l` leave, `s` a server's whole list there), in order with the
 *   batches, so every server subscribed to a room knows who of the others is in it.
 * - liveness: a presence heartbeat on `handoff.alive` every HEARTBEAT_MS, and a `hello`
 *   request on `handoff.hello` when a server (re)connects, which every other server
 *   answers. A server not heard from for DEAD_AFTER_MS is dead: each server that is
 *   subscribed to one of its rooms reports its members gone there (no lock is needed:
 *   every server reports to its own members only). A server that stops cleanly says `bye`.
 *
 * While the connection is lost, the client (nats.js) reconnects with backoff, to any
 * node of the cluster it has heard of; publishes are dropped meanwhile (at most once,
 * as on Redis), and once it is back this server says hello again and publishes its
 * members of every room.
 */
import { connect, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { BusUnavailableError, CHAT_NAME_PATTERN } from '../../protocol/index.ts';
import { controlOf, ENTRY, openEnvelope, sealControl, sealEnvelope } from './bus-envelope.ts';
import {
  bounded,
  type BusMember,
  BusState,
  type BusStats,
  callSafely,
  type CommonBusOptions,
  countMalformed,
  COMMAND_TIMEOUT_MS,
  DEAD_AFTER_MS,
  FIRST_CONNECT_MS,
  HEARTBEAT_MS,
  MEMBER_NAME,
  newServerId,
  newStats,
  retryDelayMs,
  type ServerBus,
  type ServerBusHandlers,
} from './server-bus.ts';

export interface NatsBusOptions extends CommonBusOptions {
  /** `nats://host:port` of one or more nodes, validated by the caller; the others are discovered. */
  servers: string[];
}

/** How long who() waits for the servers it knows to answer (one that died unnoticed makes it wait this long). */
const WHO_WAIT_MS = 1_000;
/** How long hello waits for a gap after the last answer. */
const HELLO_STALL_MS = 200;

const token = (room: string) => room.replaceAll('.', '~');
export const NATS_SUBJECTS = Object.freeze({
  chat: (room: string) => `handoff.chat.${token(room)}`,
  who: 'handoff.who',
  alive: 'handoff.alive',
  hello: 'handoff.hello',
});

/** What this server knows of another's members in one room. */
interface RemoteList {
  seq: number;
  members: Map<number, string>;
}

interface Room {
  subscription: Subscription | undefined;
  /** server -> its members here, for the rooms this server is subscribed to. */
  remote: Map<string, RemoteList>;
}

export function createNatsBus(options: NatsBusOptions, handlers: ServerBusHandlers): ServerBus {
  return new NatsBus(options, handlers);
}

class NatsBus implements ServerBus {
  readonly kind = 'nats' as const;
  readonly serverId = newServerId();
  readonly stats: BusStats = newStats();
  readonly #o: NatsBusOptions;
  readonly #handlers: ServerBusHandlers;
  readonly #timeoutMs: number;
  readonly #members = new Map<number, { name: string; room: string }>();
  readonly #rooms = new Map<string, Room>();
  /** Other servers, by the time they were last heard from. */
  readonly #lastHeard = new Map<string, number>();
  /** Other servers' records (CommonBusOptions.record), from their heartbeats and hellos. */
  readonly #records = new Map<string, string>();
  readonly #record: string;
  /** Bumped by every membership change of this server: others keep the newest they saw. */
  #seq = 0;
  #nc: NatsConnection | undefined;
  #state: BusState = BusState.DOWN;
  #connected = false;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;
  #whenUp: (() => void) | undefined;

  constructor(options: NatsBusOptions, handlers: ServerBusHandlers) {
    this.#o = options;
    this.#handlers = handlers;
    this.#timeoutMs = options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
    this.#record = options.record ?? '';
  }

  get state(): BusState {
    return this.#state;
  }

  async start(): Promise<void> {
    this.#timer = setInterval(() => this.#heartbeat(), HEARTBEAT_MS);
    this.#timer.unref();
    const up = new Promise<void>((resolve) => (this.#whenUp = resolve));
    connect({
      servers: this.#o.servers,
      name: `handoff-${this.serverId}`,
      // Our own publications never come back to us: nothing to drop, no bytes spent.
      noEcho: true,
      waitOnFirstConnect: true,
      maxReconnectAttempts: -1,
      reconnectDelayHandler: () => retryDelayMs(++this.#attempt),
      timeout: this.#timeoutMs,
      pingInterval: 5_000,
      maxPingOut: 2,
    }).then(
      (nc) => this.#onConnected(nc),
      () => {}, // only when closed before it ever connected
    );
    let late: NodeJS.Timeout | undefined;
    await Promise.race([up, new Promise((resolve) => (late = setTimeout(resolve, FIRST_CONNECT_MS)))]);
    clearTimeout(late);
  }

  publish(room: string, batch: Uint8Array): void {
    if (!this.#connected || this.#stopping) {
      this.stats.publishDropped++; // at most once: lost while NATS is away
      return;
    }
    try {
      this.#nc!.publish(NATS_SUBJECTS.chat(room), sealEnvelope(ENTRY.BATCH, this.serverId, batch));
      this.stats.published++;
    } catch {
      this.stats.publishDropped++; // larger than the server's max_payload, or the connection closing
    }
  }

  async subscribe(room: string): Promise<void> {
    if (this.#rooms.has(room)) return;
    const entry: Room = { subscription: undefined, remote: new Map() };
    this.#rooms.set(room, entry);
    if (!this.#connected) return; // subscribed once connected
    this.#subscribeOn(this.#nc!, room, entry);
    await this.#flush('subscribe');
    void this.#askWho(room); // who of the others is there, for reporting them gone
  }

  async unsubscribe(room: string): Promise<void> {
    const entry = this.#rooms.get(room);
    if (!entry) return;
    this.#rooms.delete(room);
    try {
      entry.subscription?.unsubscribe();
    } catch {
      // closed meanwhile
    }
    await this.#flush('unsubscribe');
  }

  async enter(member: BusMember): Promise<void> {
    const previous = this.#members.get(member.id);
    this.#members.set(member.id, { name: member.name, room: member.room });
    const seq = ++this.#seq;
    if (previous && previous.room !== member.room)
      this.#control(NATS_SUBJECTS.chat(previous.room), { t: 'l', seq, id: member.id });
    this.#control(NATS_SUBJECTS.chat(member.room), { t: 'm', seq, id: member.id, name: member.name });
    await this.#flush('enter');
  }

  async leave(id: number): Promise<void> {
    const previous = this.#members.get(id);
    if (!previous) return;
    this.#members.delete(id);
    this.#control(NATS_SUBJECTS.chat(previous.room), { t: 'l', seq: ++this.#seq, id });
    await this.#flush('leave');
  }

  async rename(id: number, name: string): Promise<void> {
    const member = this.#members.get(id);
    if (!member) return;
    member.name = name;
    this.#control(NATS_SUBJECTS.chat(member.room), { t: 'm', seq: ++this.#seq, id, name });
    await this.#flush('rename');
  }

  /** Known from their heartbeats and their answers to this server's hello (said before UP). */
  peers(): Promise<Array<{ server: string; record: string }>> {
    if (!this.#connected) return Promise.reject(new BusUnavailableError('NATS is not reachable now'));
    const out: Array<{ server: string; record: string }> = [];
    for (const server of this.#lastHeard.keys()) {
      const record = this.#records.get(server);
      if (record !== undefined) out.push({ server, record });
    }
    return Promise.resolve(out);
  }

  async who(room: string): Promise<string[]> {
    const others = await this.othersIn(room);
    const mine: string[] = [];
    for (const member of this.#members.values()) if (member.room === room) mine.push(member.name);
    return [...mine, ...others];
  }

  async othersIn(room: string): Promise<string[]> {
    if (!this.#connected) throw new BusUnavailableError('NATS is not reachable now');
    const names: string[] = [];
    const expected = this.#lastHeard.size;
    if (expected === 0) return names;
    const replies = await bounded(
      this.#nc!.requestMany(NATS_SUBJECTS.who, sealControl(this.serverId, { t: 'who', room }), {
        strategy: 'count',
        maxMessages: expected,
        maxWait: WHO_WAIT_MS,
      }),
      this.#timeoutMs,
      'who',
    );
    const seen = new Set<string>();
    try {
      for await (const reply of replies) {
        const list = this.#listOf(reply.data);
        if (!list || seen.has(list.server)) continue;
        seen.add(list.server);
        this.#heard(list.server);
        for (const name of list.members.values()) names.push(name);
        this.#merge(room, list.server, list);
      }
    } catch {
      // no responders, or the connection went: what came is the answer
    }
    return names;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    const nc = this.#nc;
    if (nc && this.#connected) {
      for (const [id, member] of this.#members) {
        this.#control(NATS_SUBJECTS.chat(member.room), { t: 'l', seq: ++this.#seq, id }, true);
      }
      this.#control(NATS_SUBJECTS.alive, { t: 'bye' }, true);
      await bounded(nc.drain(), this.#timeoutMs, 'leave').catch(() => {
        this.stats.commandFailures++;
      });
    }
    this.#members.clear();
    if (nc) await bounded(nc.close(), this.#timeoutMs, 'close').catch(() => {});
  }

  disconnect(): void {
    this.#stopping = true;
    clearInterval(this.#timer);
    // close() sends nothing more: to the others this server has just gone silent.
    void this.#nc?.close().catch(() => {});
  }

  // --- the connection

  #onConnected(nc: NatsConnection): void {
    if (this.#stopping) {
      void nc.close().catch(() => {});
      return;
    }
    this.#nc = nc;
    nc.subscribe(NATS_SUBJECTS.alive, { callback: (_err, msg) => this.#onPresence(msg) });
    nc.subscribe(NATS_SUBJECTS.hello, { callback: (_err, msg) => this.#onPresence(msg) });
    nc.subscribe(NATS_SUBJECTS.who, { callback: (_err, msg) => this.#onWho(msg) });
    for (const [room, entry] of this.#rooms) this.#subscribeOn(nc, room, entry);
    void this.#watch(nc);
    void this.#onUp();
  }

  async #watch(nc: NatsConnection): Promise<void> {
    try {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') this.#onDown();
        else if (status.type === 'reconnect') void this.#onUp();
      }
    } catch {
      // the iterator ends with the connection
    }
    this.#onDown();
  }

  async #onUp(): Promise<void> {
    if (this.#stopping) return;
    this.#connected = true;
    this.#attempt = 0;
    // Silence while this server was away says nothing about the others: a new period for each.
    const now = performance.now();
    for (const server of this.#lastHeard.keys()) this.#lastHeard.set(server, now);
    await this.#hello();
    // Our members of every room, for servers that missed a change meanwhile or reaped us.
    for (const room of new Set([...this.#members.values()].map((m) => m.room))) {
      this.#control(NATS_SUBJECTS.chat(room), this.#listFor(room));
    }
    for (const room of this.#rooms.keys()) void this.#askWho(room);
    await this.#flush('announce');
    if (this.#connected && this.#state !== BusState.UP) {
      this.#state = BusState.UP;
      this.#report(() => this.#handlers.onState(BusState.UP));
      this.#whenUp?.();
      this.#whenUp = undefined;
    }
  }

  #onDown(): void {
    this.#connected = false;
    if (this.#state === BusState.DOWN || this.#stopping) return;
    this.#state = BusState.DOWN;
    this.#report(() => this.#handlers.onState(BusState.DOWN));
  }

  #subscribeOn(nc: NatsConnection, room: string, entry: Room): void {
    entry.subscription = nc.subscribe(NATS_SUBJECTS.chat(room), {
      callback: (_err, msg) => this.#onRoomEntry(room, msg),
    });
  }

  /** Publishes a control entry; `always` sends it even while stopping. */
  #control(subject: string, control: object, always = false): void {
    if (!this.#connected || (this.#stopping && !always)) return;
    try {
      this.#nc!.publish(subject, sealControl(this.serverId, control));
    } catch {
      this.stats.commandFailures++;
    }
  }

  /** Resolves once NATS has everything published so far (or at once while it is away). Never rejects. */
  async #flush(what: string): Promise<void> {
    if (!this.#connected) return;
    try {
      await bounded(this.#nc!.flush(), this.#timeoutMs, what);
    } catch {
      this.stats.commandFailures++;
    }
  }

  #listFor(room: string): { t: 's'; seq: number; members: Array<[number, string]> } {
    const members: Array<[number, string]> = [];
    for (const [id, member] of this.#members) if (member.room === room) members.push([id, member.name]);
    return { t: 's', seq: this.#seq, members };
  }

  // --- presence

  /** Says hello; every server that answers (and every one that hears it) knows the other is alive. */
  async #hello(): Promise<void> {
    try {
      const replies = await bounded(
        this.#nc!.requestMany(NATS_SUBJECTS.hello, sealControl(this.serverId, { t: 'hello', record: this.#record }), {
          strategy: 'stall',
          stall: HELLO_STALL_MS,
          maxWait: this.#timeoutMs,
        }),
        this.#timeoutMs,
        'hello',
      );
      for await (const reply of replies) this.#onPresence(reply);
    } catch {
      // nobody else there yet (no responders), or the connection went
    }
  }

  #heartbeat(): void {
    if (!this.#connected || this.#stopping) return;
    this.#control(NATS_SUBJECTS.alive, { t: 'hb', record: this.#record });
    const now = performance.now();
    for (const [server, heard] of this.#lastHeard) {
      if (now - heard > DEAD_AFTER_MS) this.#dead(server);
    }
  }

  /** A server gone silent: its members are gone from every room this server is subscribed to. */
  #dead(server: string): void {
    this.#lastHeard.delete(server);
    this.#records.delete(server);
    this.stats.reaped++;
    for (const [room, entry] of this.#rooms) {
      const list = entry.remote.get(server);
      if (!list) continue;
      entry.remote.delete(server);
      const names = [...list.members.values()];
      if (names.length > 0) this.#report(() => this.#handlers.onMembersGone(room, names));
    }
  }

  #heard(server: string): void {
    if (server !== this.serverId) this.#lastHeard.set(server, performance.now());
  }

  /** A heartbeat, a hello, an answer to our hello, or a bye. */
  #onPresence(msg: Msg): void {
    const envelope = openEnvelope(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.length));
    const control = envelope && controlOf(envelope);
    if (!envelope || !control || typeof control.t !== 'string') {
      this.#malformed(msg.subject);
      return;
    }
    if (envelope.server === this.serverId) return;
    if (control.t === 'bye') {
      // Left cleanly: its members have left one by one already.
      this.#lastHeard.delete(envelope.server);
      this.#records.delete(envelope.server);
      for (const entry of this.#rooms.values()) entry.remote.delete(envelope.server);
      return;
    }
    this.#heard(envelope.server);
    if (typeof control.record === 'string') this.#records.set(envelope.server, control.record);
    if (control.t === 'hello' && msg.reply) {
      try {
        msg.respond(sealControl(this.serverId, { t: 'here', record: this.#record }));
      } catch {
        this.stats.commandFailures++;
      }
    }
  }

  // --- rooms

  async #askWho(room: string): Promise<void> {
    try {
      await this.who(room); // merges every answer into the room's list
    } catch {
      this.stats.commandFailures++;
    }
  }

  /** Another server's who(): every server answers, with its members in the room (often none). */
  #onWho(msg: Msg): void {
    const envelope = openEnvelope(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.length));
    const control = envelope && controlOf(envelope);
    const room = control?.room;
    if (!msg.reply || !envelope || typeof room !== 'string' || !CHAT_NAME_PATTERN.test(room)) {
      this.#malformed(msg.subject);
      return;
    }
    if (envelope.server === this.serverId) return;
    this.#heard(envelope.server);
    try {
      msg.respond(sealControl(this.serverId, this.#listFor(room)));
    } catch {
      this.stats.commandFailures++;
    }
  }

  /** A batch or a membership entry of another server on a room this server is subscribed to. */
  #onRoomEntry(room: string, msg: Msg): void {
    const envelope = openEnvelope(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.length));
    if (!envelope) {
      this.stats.malformed++;
      this.#report(() => this.#handlers.onUnreadable(msg.subject, 'not a bus envelope'));
      return;
    }
    if (envelope.server === this.serverId) return;
    this.#heard(envelope.server);
    if (envelope.kind === ENTRY.BATCH) {
      this.stats.received++;
      this.#report(() => this.#handlers.onBatch(room, envelope.body));
      return;
    }
    const control = controlOf(envelope);
    const seq = control?.seq;
    if (!control || typeof seq !== 'number' || !Number.isSafeInteger(seq)) {
      this.#malformed(msg.subject);
      return;
    }
    if (control.t === 's') {
      const list = this.#membersOf(control.members);
      if (list) this.#mergeAnnounced(room, envelope.server, { seq, members: list });
      else this.#malformed(msg.subject);
      return;
    }
    const id = control.id;
    if (typeof id !== 'number' || !Number.isSafeInteger(id)) {
      this.#malformed(msg.subject);
      return;
    }
    const entry = this.#rooms.get(room);
    if (!entry) return;
    let list = entry.remote.get(envelope.server);
    if (!list) entry.remote.set(envelope.server, (list = { seq: -1, members: new Map() }));
    if (seq <= list.seq) return; // older than a list we already have
    if (control.t === 'l') {
      list.members.delete(id);
    } else if (control.t === 'm' && typeof control.name === 'string' && MEMBER_NAME.test(control.name)) {
      list.members.set(id, control.name);
    } else {
      this.#malformed(msg.subject);
      return;
    }
    list.seq = seq;
  }

  /** A server's whole list in a room replaces what this server knew, unless it already has newer. */
  #merge(room: string, server: string, list: RemoteList): void {
    const entry = this.#rooms.get(room);
    if (!entry) return;
    const known = entry.remote.get(server);
    if (!known || list.seq >= known.seq) entry.remote.set(server, list);
  }

  /**
   * A server's whole list, published when it (re)connected: its members that this server's
   * members did not hear come or go while it was away (or since it was taken for dead) are
   * reported, so they hear the `!JOINED` / `!LEFT` they missed.
   */
  #mergeAnnounced(room: string, server: string, list: RemoteList): void {
    const entry = this.#rooms.get(room);
    if (!entry) return;
    const known = entry.remote.get(server);
    if (known && list.seq < known.seq) return;
    entry.remote.set(server, list);
    const gone: string[] = [];
    const came: string[] = [];
    if (known) for (const [id, name] of known.members) if (!list.members.has(id)) gone.push(name);
    for (const [id, name] of list.members) if (!known?.members.has(id)) came.push(name);
    if (gone.length > 0) this.#report(() => this.#handlers.onMembersGone(room, gone));
    if (came.length > 0) this.#report(() => this.#handlers.onMembersCame(room, came));
  }

  /** An answer to who(): `{server, seq, members}`, or null when it is not one. */
  #listOf(data: Uint8Array): (RemoteList & { server: string }) | null {
    const envelope = openEnvelope(Buffer.from(data.buffer, data.byteOffset, data.length));
    const control = envelope && controlOf(envelope);
    const members = control && control.t === 's' ? this.#membersOf(control.members) : null;
    if (!envelope || !members || typeof control!.seq !== 'number') {
      this.#malformed(NATS_SUBJECTS.who);
      return null;
    }
    return { server: envelope.server, seq: control!.seq, members };
  }

  #membersOf(value: unknown): Map<number, string> | null {
    if (!Array.isArray(value)) return null;
    const members = new Map<number, string>();
    for (const pair of value) {
      if (!Array.isArray(pair) || pair.length !== 2) return null;
      const [id, name] = pair as [unknown, unknown];
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || typeof name !== 'string' || !MEMBER_NAME.test(name))
        return null;
      members.set(id, name);
    }
    return members;
  }

  #malformed(where: string): void {
    countMalformed(this.stats, this.#handlers, where);
  }

  #report(call: () => void): void {
    if (!callSafely(call)) this.stats.handlerErrors++;
  }
}
