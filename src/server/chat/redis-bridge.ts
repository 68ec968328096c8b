/**
 * `--redis URL`: several servers become one chat. The bridge runs on each server's
 * main thread as one more participant of the chat bus (BRIDGE_ID):
 *
 * - messages: every batch a thread forwards (this server's own messages to a
 *   room) becomes ONE PUBLISH on the room's channel, tagged with this server's id;
 *   what other servers publish on the rooms this server has members in (SUBSCRIBE
 *   per room, while it has members there) becomes one batch of frames, built once,
 *   handed to the threads with members there. A server's own publications are
 *   dropped when they come back, so nothing is delivered twice. One connection
 *   publishes everything in order, so per-sender order holds across servers.
 * - membership: each member is in a Redis hash per room (what `!WHO` reads, on
 *   every server) and in its server's own hash; a thread's membership change is
 *   confirmed to it (its reply may go) only once Redis has it and this server is
 *   subscribed to the room: effective on reply, across servers.
 * - presence: `!JOINED` / `!LEFT` payloads are published like messages.
 * - liveness: each server refreshes a key with a 10 s expiry every 2 s; a server
 *   whose key has expired is reaped by one of the others (a lock): its members
 *   leave their rooms, with `!LEFT` published, within about 12 s.
 *
 * While Redis is unreachable the bridge logs it once, ioredis retries with
 * backoff, confirmations are given at once and chat goes on within this server;
 * on reconnection its members are written again. Pub/sub is at most once: what
 * is published while a server is away is lost for it.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { parseHeader, writeHeader } from '../../protocol/index.ts';
import type { ServerLog } from '../log.ts';
import { BRIDGE_ID, Bus, type BusMessage, type MemberEvent } from './bus.ts';
import { Roster } from './roster.ts';

const KEY = 'handoff:';
const roomKey = (room: string) => `${KEY}room:${room}`;
const channelOf = (room: string) => `${KEY}chat:${room}`;
const membersKey = (server: string) => `${KEY}members:${server}`;
const aliveKey = (server: string) => `${KEY}alive:${server}`;
const SERVERS = `${KEY}servers`;

const HEARTBEAT_MS = 2_000;
/** A server whose heartbeat is older than this is dead (its members leave within this + HEARTBEAT_MS). */
const ALIVE_TTL_MS = 10_000;
const REAP_LOCK_MS = 30_000;
/** Longest wait between reconnection attempts. */
const MAX_RETRY_MS = 2_000;
/** How long start() waits for Redis before it serves without it. */
const FIRST_CONNECT_MS = 3_000;

/** The sender id of `!LEFT` payloads published for a reaped server: every server delivers them. */
const REAPER = 'reaper';

export interface RedisBridgeOptions {
  url: string;
  busName: string;
  headerBytes: number;
  log: ServerLog;
}

/** One published batch: sender server id, then payloads, each with its length. */
function encodeBatch(server: string, payloads: Uint8Array[]): Buffer {
  const id = Buffer.from(server, 'latin1');
  let size = 1 + id.length + 4;
  for (const p of payloads) size += 4 + p.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = id.length;
  id.copy(out, 1);
  let at = 1 + id.length;
  out.writeUInt32BE(payloads.length, at);
  at += 4;
  for (const p of payloads) {
    out.writeUInt32BE(p.length, at);
    out.set(p, at + 4);
    at += 4 + p.length;
  }
  return out;
}

function decodeBatch(batch: Buffer): { server: string; payloads: Buffer[] } {
  const idLength = batch[0]!;
  const server = batch.toString('latin1', 1, 1 + idLength);
  let at = 1 + idLength;
  const count = batch.readUInt32BE(at);
  at += 4;
  const payloads: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const length = batch.readUInt32BE(at);
    payloads.push(batch.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return { server, payloads };
}

export class RedisBridge {
  readonly serverId = randomUUID().replaceAll('-', '').slice(0, 16);
  readonly #o: RedisBridgeOptions;
  readonly #bus: Bus;
  readonly #pub: Redis;
  readonly #sub: Redis;
  /** This server's members, fed by its threads' events. */
  readonly #roster = new Roster();
  /** Rooms this server is subscribed to (it has members there). */
  readonly #subscribed = new Map<string, Promise<unknown>>();
  /** Confirmations are sent in the order the events came. */
  #confirmations: Promise<void> = Promise.resolve();
  #connected = false;
  #everConnected = false;
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;

  private constructor(options: RedisBridgeOptions) {
    this.#o = options;
    const common = {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      // Commands fail at once while Redis is away: chat goes on within the server meanwhile.
      enableOfflineQueue: false,
      retryStrategy: (attempt: number) => Math.min(100 * 2 ** attempt, MAX_RETRY_MS),
    };
    this.#pub = new Redis(options.url, { ...common, connectionName: `handoff-${this.serverId}-pub` });
    this.#sub = new Redis(options.url, { ...common, connectionName: `handoff-${this.serverId}-sub` });
    for (const client of [this.#pub, this.#sub]) client.on('error', () => {}); // reported by 'close' below
    this.#pub.on('ready', () => this.#onReady());
    this.#pub.on('close', () => this.#onLost());
    this.#sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.#onPublished(channel, message));
    this.#bus = new Bus(options.busName, BRIDGE_ID, (message) => this.#onBus(message));
  }

  /** Connects (waiting a little for Redis) and starts the heartbeat; serves without Redis if it is away. */
  static async start(options: RedisBridgeOptions): Promise<RedisBridge> {
    const bridge = new RedisBridge(options);
    const connecting = Promise.all([bridge.#pub.connect(), bridge.#sub.connect()]);
    const late = new Promise<'late'>((resolve) => setTimeout(resolve, FIRST_CONNECT_MS, 'late').unref());
    const first = await Promise.race([
      connecting.then(
        () => 'ok' as const,
        () => 'failed' as const,
      ),
      late,
    ]);
    connecting.catch(() => {}); // ioredis keeps retrying
    if (first !== 'ok') {
      options.log.essential(
        'redis',
        `[REDIS] cannot reach ${options.url} yet; retrying; until then chat stays within this server`,
        { url: options.url },
      );
    }
    bridge.#timer = setInterval(() => void bridge.#heartbeat(), HEARTBEAT_MS);
    bridge.#timer.unref();
    return bridge;
  }

  /** A thread died: its members leave (the threads' own rosters hear it on the control channel). */
  onThreadGone(threadId: number): void {
    for (const member of this.#roster.membersOf(threadId)) {
      void this.#apply({ kind: 'leave', id: member.id, room: member.room }, threadId);
    }
  }

  /** Called once the threads have stopped: this server leaves Redis. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#timer);
    this.#bus.close();
    if (this.#connected) {
      await this.#pub
        .multi()
        .del(membersKey(this.serverId), aliveKey(this.serverId))
        .srem(SERVERS, this.serverId)
        .exec()
        .catch(() => {});
    }
    this.#pub.disconnect();
    this.#sub.disconnect();
  }

  // --- Redis

  #onReady(): void {
    const again = this.#connected === false && this.#everConnected;
    this.#connected = true;
    this.#everConnected = true;
    this.#o.log.essential(
      'redis',
      `[REDIS] ${again ? 'connected again to' : 'connected to'} ${this.#o.url} as server ${this.serverId}`,
      {
        url: this.#o.url,
        server: this.serverId,
      },
    );
    void this.#heartbeat();
    // Subscriptions made while Redis was away, and every member of this server, written again:
    // Redis may have lost them, or another server may have reaped this one meanwhile.
    const rooms = [...this.#subscribed.keys()];
    if (rooms.length > 0) this.#sub.subscribe(...rooms.map(channelOf)).catch(() => {});
    // Write this server's members again: Redis may have lost them, or another server reaped them.
    for (const room of this.#roster.rooms()) {
      for (const member of this.#roster.membersIn(room)) this.#register(member.id, member.name, room).catch(() => {});
    }
  }

  #onLost(): void {
    if (!this.#connected || this.#stopping) return;
    this.#connected = false;
    this.#o.log.essential(
      'redis',
      `[REDIS] lost the connection to ${this.#o.url}; retrying; chat stays within this server meanwhile`,
      {
        url: this.#o.url,
      },
    );
  }

  async #heartbeat(): Promise<void> {
    if (!this.#connected || this.#stopping) return;
    try {
      await this.#pub.multi().set(aliveKey(this.serverId), '1', 'PX', ALIVE_TTL_MS).sadd(SERVERS, this.serverId).exec();
      const servers = await this.#pub.smembers(SERVERS);
      for (const server of servers) {
        if (server !== this.serverId && (await this.#pub.exists(aliveKey(server))) === 0) await this.#reap(server);
      }
    } catch {
      // Redis went away meanwhile: the next heartbeat tries again.
    }
  }

  /** A server that stopped its heartbeat without leaving: one server (the lock holder) removes its members. */
  async #reap(server: string): Promise<void> {
    if ((await this.#pub.set(`${KEY}reap:${server}`, this.serverId, 'PX', REAP_LOCK_MS, 'NX')) !== 'OK') return;
    const members = await this.#pub.hgetall(membersKey(server));
    const leftByRoom = new Map<string, Buffer[]>();
    const removal = this.#pub.multi();
    for (const [id, place] of Object.entries(members)) {
      const space = place.indexOf(' ');
      const room = place.slice(0, space);
      removal.hdel(roomKey(room), `${server}:${id}`);
      let left = leftByRoom.get(room);
      if (!left) leftByRoom.set(room, (left = []));
      left.push(Buffer.from(`!LEFT ${room} ${place.slice(space + 1)}`, 'latin1'));
    }
    removal.del(membersKey(server)).srem(SERVERS, server);
    for (const [room, payloads] of leftByRoom) removal.publish(channelOf(room), encodeBatch(REAPER, payloads));
    await removal.exec();
    this.#o.log.essential(
      'redis',
      `[REDIS] server ${server} stopped answering: its ${Object.keys(members).length} members left their rooms`,
      { server, members: Object.keys(members).length },
    );
  }

  /** Writes one member of this server into Redis. */
  #register(id: number, name: string, room: string): Promise<unknown> {
    return this.#pub
      .multi()
      .hset(roomKey(room), `${this.serverId}:${id}`, name)
      .hset(membersKey(this.serverId), String(id), `${room} ${name}`)
      .exec();
  }

  #publish(room: string, payloads: Uint8Array[]): void {
    if (!this.#connected || payloads.length === 0) return; // at most once: lost while Redis is away
    this.#pub.publish(channelOf(room), encodeBatch(this.serverId, payloads)).catch(() => {});
  }

  /** What another server published on a room this server has members in. */
  #onPublished(channel: Buffer, message: Buffer): void {
    const room = channel.toString('latin1').slice(`${KEY}chat:`.length);
    const { server, payloads } = decodeBatch(message);
    if (server === this.serverId || payloads.length === 0) return; // our own, back from Redis
    const to = [...this.#roster.threadsIn(room)];
    if (to.length === 0) return;
    const h = this.#o.headerBytes;
    let size = 0;
    for (const p of payloads) size += h + p.length;
    const frames = Buffer.allocUnsafeSlow(size);
    let at = 0;
    for (const p of payloads) {
      writeHeader(frames, at, p.length, h);
      frames.set(p, at + h);
      at += h + p.length;
    }
    this.#bus.post({ type: 'deliver', src: BRIDGE_ID, room, to, count: payloads.length, frames });
  }

  // --- the bus

  #onBus(message: BusMessage): void {
    switch (message.type) {
      case 'hello':
        this.#bus.post({ type: 'roster', src: BRIDGE_ID, to: message.src, seq: 0, members: [] });
        break;
      case 'events': {
        const work = message.events.map((event) => this.#apply(event, message.src));
        const seq = message.seq;
        const src = message.src;
        // Confirmed once Redis has it (or at once while Redis is away), in order.
        this.#confirmations = this.#confirmations
          .then(() => Promise.allSettled(work))
          .then(() => this.#bus.post({ type: 'ack', src: BRIDGE_ID, seqs: [[src, seq]] }));
        break;
      }
      case 'deliver':
        if (message.to.includes(BRIDGE_ID))
          this.#publish(message.room, this.#payloadsOf(message.frames, message.count));
        break;
      case 'who':
        void this.#who(message.src, message.request, message.room);
        break;
      default:
        break;
    }
  }

  /** The payloads of `count` frames built by a thread (with this server's header size). */
  #payloadsOf(frames: Uint8Array, count: number): Uint8Array[] {
    const h = this.#o.headerBytes;
    const out: Uint8Array[] = [];
    for (let at = 0, i = 0; i < count && at + h <= frames.length; i++) {
      const length = parseHeader(frames, at, h, frames.length);
      out.push(frames.subarray(at + h, at + h + length));
      at += h + length;
    }
    return out;
  }

  /** A membership change of this server: into Redis, presence published, subscriptions kept right. */
  #apply(event: MemberEvent, thread: number): Promise<unknown> {
    const online = this.#connected;
    const pending: Array<Promise<unknown>> = [];
    switch (event.kind) {
      case 'enter': {
        const previous = this.#roster.get(event.id)?.room;
        this.#roster.enter(event.id, thread, event.name, event.room);
        if (previous && previous !== event.room) {
          this.#publish(previous, [Buffer.from(`!LEFT ${previous} ${event.name}`, 'latin1')]);
          if (online) pending.push(this.#pub.hdel(roomKey(previous), `${this.serverId}:${event.id}`));
          this.#unsubscribeIfEmpty(previous);
        }
        pending.push(this.#subscribe(event.room));
        if (online) pending.push(this.#register(event.id, event.name, event.room));
        this.#publish(event.room, [Buffer.from(`!JOINED ${event.room} ${event.name}`, 'latin1')]);
        break;
      }
      case 'leave': {
        const info = this.#roster.leave(event.id);
        if (!info) break;
        this.#publish(info.room, [Buffer.from(`!LEFT ${info.room} ${info.name}`, 'latin1')]);
        if (online) {
          pending.push(
            this.#pub
              .multi()
              .hdel(roomKey(info.room), `${this.serverId}:${event.id}`)
              .hdel(membersKey(this.serverId), String(event.id))
              .exec(),
          );
        }
        this.#unsubscribeIfEmpty(info.room);
        break;
      }
      case 'rename': {
        this.#roster.rename(event.id, event.name);
        const info = this.#roster.get(event.id);
        if (info && online) pending.push(this.#register(event.id, event.name, info.room));
        break;
      }
    }
    return Promise.all(pending).catch(() => {});
  }

  #subscribe(room: string): Promise<unknown> {
    let subscribing = this.#subscribed.get(room);
    if (!subscribing) {
      subscribing = this.#connected ? this.#sub.subscribe(channelOf(room)).catch(() => {}) : Promise.resolve();
      this.#subscribed.set(room, subscribing);
    }
    return subscribing;
  }

  #unsubscribeIfEmpty(room: string): void {
    if ([...this.#roster.threadsIn(room)].length > 0 || !this.#subscribed.has(room)) return;
    this.#subscribed.delete(room);
    if (this.#connected) this.#sub.unsubscribe(channelOf(room)).catch(() => {});
  }

  async #who(thread: number, request: number, room: string): Promise<void> {
    let names: string[] | null = null;
    if (this.#connected) {
      try {
        names = Object.values(await this.#pub.hgetall(roomKey(room)));
      } catch {
        names = null; // the thread answers from this server's roster
      }
    }
    this.#bus.post({ type: 'who-reply', src: BRIDGE_ID, to: thread, request, names });
  }
}
