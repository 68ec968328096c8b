/**
 * `--redis URL`: several servers become one chat. The bridge runs on each server's
 * main thread as one more participant of the chat bus (BRIDGE_ID):
 *
 * - messages: every batch a thread forwards (this server's own messages to a
 *   room) becomes ONE PUBLISH on the room's channel (batch-codec.ts: a format
 *   version, this server's limits and id, the payloads); what other servers
 *   publish on the rooms this server has members in (SUBSCRIBE per room, while it
 *   has members there) becomes one batch of frames, built once, handed to the
 *   threads with members there. A batch this server cannot serve (not a handoff
 *   batch, another version or other limits, truncated, a payload too long or not a
 *   delivery of that room) is dropped, counted and logged once per burst. A
 *   server's own publications are dropped when they come back. One connection
 *   publishes everything in order, so per-sender order holds across servers.
 * - membership: each member is in a Redis hash per room (what `!WHO` reads, on
 *   every server) and in its server's own hash; a thread's membership change is
 *   confirmed to it (its reply may go) once Redis has it and this server is
 *   subscribed to the room, or after CONFIRM_DEADLINE_MS at the latest (logged):
 *   effective on reply across servers while Redis answers, and replies that never
 *   wait long when it does not.
 * - presence: `!JOINED` / `!LEFT` payloads are published like messages.
 * - liveness: each server refreshes a key (its limits, for the start-up check of
 *   servers that join later) with a 10 s expiry every 2 s, one heartbeat after the
 *   other; a server whose key has expired is reaped by one of the others (a lock),
 *   but only by a server that has itself been heard by Redis for a whole expiry:
 *   after Redis stalled, every key may have expired, and nobody is dead.
 *
 * Faults (docs/chat.md, "Several servers"): every command times out after
 * COMMAND_TIMEOUT_MS; a connection that fails DEAD_AFTER_FAILURES heartbeats in a
 * row is dropped and made again (a network that drops packets never closes it);
 * ioredis retries with backoff; while Redis is unreachable confirmations are given
 * at once and chat goes on within this server. On reconnection, or when this server
 * finds it was reaped or Redis lost its data, it writes its members again, removes
 * those that left meanwhile, and publishes the `!JOINED`/`!LEFT` that the others
 * missed. Pub/sub is at most once: what is published while a server is away is lost
 * for it.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { escapeOptionText, InvalidOptionError, isChatName, parseHeader, writeHeader } from '../../protocol/index.ts';
import type { BusDropReason, ServerCounters } from '../observe/counters.ts';
import type { ServerLog } from '../observe/log.ts';
import { busFaultMarker, REDIS_TIME_SCALE_ENV } from './injected-faults.ts';
import {
  BATCH_FORMAT_VERSION,
  type BusLimits,
  decodeBatch,
  decodeServerRecord,
  encodeBatch,
  encodeServerRecord,
  limitsMismatch,
  refusalOf,
} from './batch-codec.ts';
import { BRIDGE_ID, Bus, type BusMessage, type MemberEvent } from './bus.ts';
import { BurstLog } from './burst-log.ts';
import { Roster } from './roster.ts';
import { isListableName, maxWhoBytes } from './who.ts';

const KEY = 'handoff:';
const roomKey = (room: string) => `${KEY}room:${room}`;
const CHANNEL_PREFIX = `${KEY}chat:`;
const channelOf = (room: string) => `${CHANNEL_PREFIX}${room}`;
const membersKey = (server: string) => `${KEY}members:${server}`;
const aliveKey = (server: string) => `${KEY}alive:${server}`;
const reapedKey = (server: string) => `${KEY}reaped:${server}`;
const SERVERS = `${KEY}servers`;

/** The bridge's times; REDIS_TIME_SCALE_ENV scales them in tests. */
interface Timing {
  heartbeatMs: number;
  /** A server whose heartbeat is older than this is dead (its members leave within this + heartbeatMs). */
  aliveTtlMs: number;
  reapLockMs: number;
  /** How long a reaped server's tombstone says so (it republishes its members' presence when it is back). */
  tombstoneMs: number;
  /** Every Redis command: a Redis that stalls (SIGSTOP, a network that drops packets) fails commands, never hangs them. */
  commandTimeoutMs: number;
  /** A membership change is confirmed to its thread after this at the latest, Redis or not. */
  confirmDeadlineMs: number;
  /** Longest wait between reconnection attempts. */
  maxRetryMs: number;
  /** How long start() waits for Redis before it serves without it. */
  firstConnectMs: number;
}

const TIMING: Timing = {
  heartbeatMs: 2_000,
  aliveTtlMs: 10_000,
  reapLockMs: 30_000,
  tombstoneMs: 3_600_000,
  commandTimeoutMs: 2_000,
  confirmDeadlineMs: 2_000,
  maxRetryMs: 2_000,
  firstConnectMs: 3_000,
};
/** Heartbeats that fail in a row before the connections are dropped and made again. */
const DEAD_AFTER_FAILURES = 2;

function timing(): Timing {
  const scale = Number(process.env[REDIS_TIME_SCALE_ENV] ?? 1);
  if (!(scale > 0) || scale === 1) return TIMING;
  const out = { ...TIMING };
  for (const key of Object.keys(out) as Array<keyof Timing>) out[key] = Math.max(1, Math.round(out[key] * scale));
  return out;
}

export interface RedisBridgeOptions {
  url: string;
  busName: string;
  headerBytes: number;
  maxMessageBytes: number;
  log: ServerLog;
  counters: ServerCounters;
}

/** A member as this server last wrote it to Redis (its own hash: `id -> "room name"`). */
interface Written {
  room: string;
  name: string;
}

/** A thread's membership events not yet confirmed, in order. */
interface Confirmation {
  seq: number;
  settled: boolean;
}

/** One `ioredis` MULTI reply entry's value (null if that command failed). */
function valueOf(replies: Array<[Error | null, unknown]> | null, i: number): unknown {
  const entry = replies?.[i];
  return entry && entry[0] === null ? entry[1] : null;
}

export class RedisBridge {
  readonly serverId = randomUUID().replaceAll('-', '').slice(0, 16);
  readonly #o: RedisBridgeOptions;
  readonly #t = timing();
  readonly #limits: BusLimits;
  /** This server's entry in Redis: its limits and where it runs. */
  readonly #record: string;
  readonly #maxDeliveryBytes: number;
  readonly #bus: Bus;
  readonly #pub: Redis;
  readonly #sub: Redis;
  /** This server's members, fed by its threads' events. */
  readonly #roster = new Roster();
  /** Rooms this server is subscribed to (it has members there). */
  readonly #subscribed = new Map<string, Promise<unknown>>();
  /** Per thread: its events not yet confirmed. Confirmations go in order, each by its own deadline. */
  readonly #confirmations = new Map<number, Confirmation[]>();
  readonly #drops: BurstLog;
  readonly #late: BurstLog;
  readonly #fault: Buffer | null = busFaultMarker();
  #connected = false;
  #everConnected = false;
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;
  /** Since when every heartbeat has succeeded (null: the last one failed, or none yet). */
  #healthySince: number | null = null;
  #failedBeats = 0;
  /** A heartbeat has added this server to the set of servers before (so a later "added" means it was removed). */
  #registered = false;
  /** Resync: running, asked again meanwhile, still due (the last one failed), members changed meanwhile. */
  #resyncing = false;
  #resyncAgain = false;
  #resyncDue = false;
  #changedDuringResync: Set<number> | null = null;

  private constructor(options: RedisBridgeOptions) {
    this.#o = options;
    this.#limits = {
      format: BATCH_FORMAT_VERSION,
      headerBytes: options.headerBytes,
      maxMessageBytes: options.maxMessageBytes,
    };
    this.#record = encodeServerRecord({ ...this.#limits, host: hostname(), pid: process.pid });
    this.#maxDeliveryBytes = maxWhoBytes(options.maxMessageBytes);
    this.#drops = new BurstLog(options.log, 'bus-dropped');
    this.#late = new BurstLog(options.log, 'redis-late');
    const t = this.#t;
    const common = {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      // Commands fail at once while Redis is away, and after commandTimeout while it does not
      // answer: chat goes on within the server meanwhile.
      enableOfflineQueue: false,
      commandTimeout: t.commandTimeoutMs,
      connectTimeout: t.commandTimeoutMs * 2,
      retryStrategy: (attempt: number) => Math.min(100 * 2 ** attempt, t.maxRetryMs),
    };
    this.#pub = new Redis(options.url, { ...common, connectionName: `handoff-${this.serverId}-pub` });
    this.#sub = new Redis(options.url, { ...common, connectionName: `handoff-${this.serverId}-sub` });
    for (const client of [this.#pub, this.#sub]) client.on('error', () => {}); // reported by 'close' below
    this.#pub.on('ready', () => this.#onReady());
    this.#pub.on('close', () => this.#onLost());
    this.#sub.on('ready', () => this.#resubscribe());
    this.#sub.on('close', () => this.#onSubscriberLost());
    // The failure boundary of what other servers (or anyone) publish: nothing that escapes may reach ioredis.
    this.#sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      try {
        this.#onPublished(channel, message);
      } catch (err) {
        this.#dropped(
          { reason: 'error', server: null, detail: err instanceof Error ? err.message : String(err) },
          channel,
        );
      }
    });
    this.#bus = new Bus(
      options.busName,
      BRIDGE_ID,
      (message) => this.#onBus(message),
      (err, message) => this.#onBusFailure(err, message),
    );
  }

  /**
   * Connects (waiting a little for Redis), refuses to join a chat whose live servers run
   * other limits (InvalidOptionError: one line, exit status 2), and starts the heartbeat;
   * serves without Redis if it is away.
   */
  static async start(options: RedisBridgeOptions): Promise<RedisBridge> {
    const bridge = new RedisBridge(options);
    const connecting = Promise.all([bridge.#pub.connect(), bridge.#sub.connect()]);
    const late = new Promise<'late'>((resolve) => setTimeout(resolve, bridge.#t.firstConnectMs, 'late').unref());
    const first = await Promise.race([
      connecting.then(
        () => 'ok' as const,
        () => 'failed' as const,
      ),
      late,
    ]);
    connecting.catch(() => {}); // ioredis keeps retrying
    if (first === 'ok') {
      try {
        await bridge.#checkCompatible();
      } catch (err) {
        await bridge.stop();
        throw err;
      }
    } else {
      options.log.essential(
        'redis',
        `[REDIS] cannot reach ${options.url} yet; retrying; until then chat stays within this server`,
        { url: options.url },
      );
    }
    bridge.#scheduleHeartbeat(0);
    return bridge;
  }

  /** A thread died: its members leave (the threads' own rosters hear it on the control channel). */
  onThreadGone(threadId: number): void {
    for (const member of this.#roster.membersOf(threadId)) {
      void this.#apply({ kind: 'leave', id: member.id, room: member.room }, threadId);
    }
    this.#confirmations.delete(threadId);
  }

  /** Called once the threads have stopped: this server leaves Redis. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    this.#bus.close();
    this.#drops.close();
    this.#late.close();
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

  // --- start-up

  /** Every live server of the chat must run this server's limits (their records, kept with their heartbeats). */
  async #checkCompatible(): Promise<void> {
    const servers = (await this.#pub.smembers(SERVERS)).filter((s) => s !== this.serverId);
    if (servers.length === 0) return;
    const records = await this.#pub.mget(...servers.map(aliveKey));
    servers.forEach((server, i) => {
      const text = records[i] ?? null;
      if (text === null) return; // not alive: it will be reaped
      const url = escapeOptionText(this.#o.url);
      const record = decodeServerRecord(text);
      if (record === null) {
        throw new InvalidOptionError(
          'redis',
          `cannot join the chat on {redis} ${url}: server ${server} there runs an older handoff, whose batches this server cannot read; every server of one chat must run the same batch format`,
        );
      }
      const mismatch = limitsMismatch(this.#limits, record);
      if (mismatch === null) return;
      const who = `server ${server} (host ${escapeOptionText(record.host)}, pid ${record.pid})`;
      const ours = mismatch.option === 'format' ? 'batch format version' : `{${mismatch.option}}`;
      throw new InvalidOptionError(
        mismatch.option === 'format' ? 'redis' : mismatch.option,
        `cannot join the chat on {redis} ${url}: ${who} runs ${ours} ${mismatch.theirs}, this server ${mismatch.mine}; every server of one chat needs the same {headerBytes}, {maxMessageBytes} and batch format`,
      );
    });
  }

  // --- Redis

  #onReady(): void {
    const again = this.#connected === false && this.#everConnected;
    this.#connected = true;
    this.#everConnected = true;
    this.#failedBeats = 0;
    this.#o.log.essential(
      'redis',
      `[REDIS] ${again ? 'connected again to' : 'connected to'} ${this.#o.url} as server ${this.serverId}`,
      { url: this.#o.url, server: this.serverId },
    );
    // Redis may have lost this server's members, another server may have reaped it, and
    // members came and went meanwhile: write them as they are now.
    void this.#resync(false);
  }

  #onLost(): void {
    this.#healthySince = null;
    if (!this.#connected || this.#stopping) return;
    this.#connected = false;
    this.#o.log.essential(
      'redis',
      `[REDIS] lost the connection to ${this.#o.url}; retrying; chat stays within this server meanwhile`,
      { url: this.#o.url },
    );
  }

  /**
   * The subscriber's connection closed (with the other one, or alone: Redis cuts off a subscriber
   * that falls behind its pub/sub output buffer limit). What is published until it is back is lost.
   */
  #onSubscriberLost(): void {
    if (this.#stopping || !this.#everConnected) return;
    this.#late.report(
      `[REDIS] the subscription connection to ${this.#o.url} closed; until it is back, what other servers publish does not reach this server`,
      { url: this.#o.url },
    );
  }

  /** The subscriber is (again) connected: every room this server has members in. */
  #resubscribe(): void {
    const rooms = [...this.#subscribed.keys()];
    if (rooms.length > 0) this.#sub.subscribe(...rooms.map(channelOf)).catch(() => {});
  }

  /** One heartbeat at a time: the next is scheduled once this one is over, however long it took. */
  #scheduleHeartbeat(delayMs: number): void {
    if (this.#stopping) return;
    this.#timer = setTimeout(() => {
      void this.#heartbeat().finally(() => this.#scheduleHeartbeat(this.#t.heartbeatMs));
    }, delayMs);
    this.#timer.unref();
  }

  async #heartbeat(): Promise<void> {
    if (!this.#connected || this.#stopping) return;
    try {
      const [replies] = await Promise.all([
        this.#pub
          .multi()
          .set(aliveKey(this.serverId), this.#record, 'PX', this.#t.aliveTtlMs)
          .sadd(SERVERS, this.serverId)
          .exec(),
        this.#sub.ping(), // the subscriber's connection can die silently too
      ]);
      if (replies === null || replies.some(([err]) => err !== null)) throw new Error('heartbeat refused');
      this.#failedBeats = 0;
      this.#healthySince ??= performance.now();
      const added = valueOf(replies, 1) === 1;
      if (added && this.#registered) {
        // Removed from the servers meanwhile: reaped, or Redis lost its data.
        await this.#resync(true);
      } else if (this.#resyncDue) {
        await this.#resync(false);
      }
      this.#registered = true;
      await this.#reapDead();
    } catch {
      this.#healthySince = null;
      this.#failedBeats++;
      if (this.#failedBeats >= DEAD_AFTER_FAILURES && this.#connected) {
        this.#failedBeats = 0;
        this.#o.log.essential(
          'redis',
          `[REDIS] ${this.#o.url} has not answered for ${DEAD_AFTER_FAILURES} heartbeats; connecting again`,
          { url: this.#o.url },
        );
        this.#pub.disconnect(true);
        this.#sub.disconnect(true);
      }
    }
  }

  /** Reaps the servers whose heartbeat key has expired, if this server has been heard by Redis for a whole expiry. */
  async #reapDead(): Promise<void> {
    const since = this.#healthySince;
    if (since === null || performance.now() - since < this.#t.aliveTtlMs) return;
    const servers = (await this.#pub.smembers(SERVERS)).filter((s) => s !== this.serverId);
    if (servers.length === 0) return;
    const alive = await this.#pub.mget(...servers.map(aliveKey));
    for (let i = 0; i < servers.length; i++) if (alive[i] === null) await this.#reap(servers[i]!);
  }

  /**
   * A server that stopped its heartbeat without leaving: one server (the lock holder) removes
   * its members and publishes their `!LEFT`, as if from that server, so that it drops them
   * itself should it be alive after all (and then publishes their `!JOINED` again: #resync).
   */
  async #reap(server: string): Promise<void> {
    const t = this.#t;
    if ((await this.#pub.set(`${KEY}reap:${server}`, this.serverId, 'PX', t.reapLockMs, 'NX')) !== 'OK') return;
    const members = await this.#pub.hgetall(membersKey(server));
    const leftByRoom = new Map<string, Buffer[]>();
    const removal = this.#pub.multi();
    for (const [id, place] of Object.entries(members)) {
      const space = place.indexOf(' ');
      const room = place.slice(0, space);
      const name = place.slice(space + 1);
      if (space < 0 || !isChatName(room)) continue;
      removal.hdel(roomKey(room), `${server}:${id}`);
      if (!isListableName(name)) continue;
      let left = leftByRoom.get(room);
      if (!left) leftByRoom.set(room, (left = []));
      left.push(Buffer.from(`!LEFT ${room} ${name}`, 'latin1'));
    }
    removal.del(membersKey(server)).srem(SERVERS, server).set(reapedKey(server), this.serverId, 'PX', t.tombstoneMs);
    for (const [room, payloads] of leftByRoom) {
      removal.publish(channelOf(room), encodeBatch(server, this.#limits, payloads));
    }
    await removal.exec();
    this.#o.log.essential(
      'redis',
      `[REDIS] server ${server} stopped answering: its ${Object.keys(members).length} members left their rooms`,
      { server, members: Object.keys(members).length },
    );
  }

  /**
   * Makes Redis hold exactly this server's members as they are now, and tells the other
   * servers' members what they missed: `!LEFT` for those that left while Redis did not
   * hear of it, `!JOINED` for those that came (all of them if this server was reaped).
   * When Redis lost its data, what the others believe is unknown: nothing is published.
   */
  async #resync(removedFromServers: boolean): Promise<void> {
    if (this.#resyncing) {
      this.#resyncAgain = true;
      return;
    }
    this.#resyncing = true;
    this.#changedDuringResync = new Set();
    try {
      this.#resyncDue = false;
      const replies = await this.#pub
        .multi()
        .hgetall(membersKey(this.serverId))
        .getdel(reapedKey(this.serverId))
        .sadd(SERVERS, this.serverId)
        .set(aliveKey(this.serverId), this.#record, 'PX', this.#t.aliveTtlMs)
        .exec();
      if (replies === null || replies.some(([err]) => err !== null)) throw new Error('resync refused');
      const view = new Map<number, Written>();
      for (const [id, place] of Object.entries((valueOf(replies, 0) ?? {}) as Record<string, string>)) {
        const space = place.indexOf(' ');
        view.set(Number(id), { room: space < 0 ? '' : place.slice(0, space), name: place.slice(space + 1) });
      }
      const reaped = valueOf(replies, 1) !== null;
      const lost = !reaped && (removedFromServers || valueOf(replies, 2) === 1) && view.size === 0;
      // What the other servers' members were last told of this server's members.
      const told = reaped ? new Map<number, Written>() : lost ? null : view;
      const changed = this.#changedDuringResync;
      const fix = this.#pub.multi();
      const presence = new Map<string, Buffer[]>();
      const announce = (room: string, payload: string) => {
        let list = presence.get(room);
        if (!list) presence.set(room, (list = []));
        list.push(Buffer.from(payload, 'latin1'));
      };
      for (const [id, was] of view) {
        if (changed.has(id)) continue; // its own commands, sent after the snapshot, put it right
        const now = this.#roster.get(id);
        if (now && now.room === was.room) continue;
        if (was.room !== '') fix.hdel(roomKey(was.room), `${this.serverId}:${id}`);
        if (!now) fix.hdel(membersKey(this.serverId), String(id));
        if (told?.has(id) && was.room !== '') announce(was.room, `!LEFT ${was.room} ${was.name}`);
      }
      for (const room of this.#roster.rooms()) {
        for (const member of this.#roster.membersIn(room)) {
          if (changed.has(member.id)) continue;
          this.#register(member.id, member.name, room, fix);
          if (told && told.get(member.id)?.room !== room) announce(room, `!JOINED ${room} ${member.name}`);
        }
      }
      await fix.exec();
      for (const [room, payloads] of presence) this.#publish(room, payloads);
    } catch {
      this.#resyncDue = true; // the next heartbeat tries again
    } finally {
      this.#resyncing = false;
      this.#changedDuringResync = null;
      if (this.#resyncAgain) {
        this.#resyncAgain = false;
        void this.#resync(false);
      }
    }
  }

  /** Writes one member of this server into Redis (into `multi` when given, else at once). */
  #register(id: number, name: string, room: string, multi = this.#pub.multi()): ReturnType<Redis['multi']> {
    return multi
      .hset(roomKey(room), `${this.serverId}:${id}`, name)
      .hset(membersKey(this.serverId), String(id), `${room} ${name}`);
  }

  #publish(room: string, payloads: Uint8Array[]): void {
    if (!this.#connected || payloads.length === 0) return; // at most once: lost while Redis is away
    this.#pub.publish(channelOf(room), encodeBatch(this.serverId, this.#limits, payloads)).catch(() => {});
  }

  /** What another server published on a room this server has members in. */
  #onPublished(channel: Buffer, message: Buffer): void {
    if (this.#fault && message.includes(this.#fault)) {
      throw new Error('injected fault: a batch asked the Redis handler to throw');
    }
    const roomBytes = channel.subarray(CHANNEL_PREFIX.length);
    const batch = decodeBatch(message);
    if (!batch.ok) {
      this.#dropped(batch, channel);
      return;
    }
    if (batch.server === this.serverId) return; // our own, back from Redis
    const refused = refusalOf(batch, this.#limits, roomBytes, this.#maxDeliveryBytes);
    if (refused) {
      this.#dropped(refused, channel);
      return;
    }
    const { payloads } = batch;
    if (payloads.length === 0) return;
    const room = roomBytes.toString('latin1');
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

  /** A batch this server cannot serve: counted, logged once per burst with who sent it and why. */
  #dropped(batch: { reason: BusDropReason; server: string | null; detail: string }, channel: Buffer): void {
    this.#o.counters.busDropped(batch.reason);
    const from = batch.server === null ? 'an unknown sender' : `server ${batch.server}`;
    const where = channel
      .toString('latin1')
      .replace(/[^\x21-\x7e]/g, '?')
      .slice(0, 80);
    this.#drops.report(`[REDIS] dropped a batch on ${where} from ${from} (${batch.reason}): ${batch.detail}`, {
      reason: batch.reason,
      server: batch.server,
      channel: where,
    });
  }

  // --- the bus

  #onBusFailure(err: unknown, message: BusMessage): void {
    this.#dropped(
      {
        reason: 'error',
        server: this.serverId,
        detail: `a ${String(message?.type)} message from thread ${String(message?.src)}: ${err instanceof Error ? err.message : String(err)}`,
      },
      Buffer.from('the chat bus'),
    );
    if (message?.type === 'events' && Number.isInteger(message.src) && Number.isInteger(message.seq)) {
      this.#bus.post({ type: 'ack', src: BRIDGE_ID, seqs: [[message.src, message.seq]] });
    }
  }

  #onBus(message: BusMessage): void {
    switch (message.type) {
      case 'hello':
        this.#bus.post({ type: 'roster', src: BRIDGE_ID, to: message.src, seq: 0, members: [] });
        break;
      case 'events':
        this.#confirm(
          message.src,
          message.seq,
          Promise.allSettled(message.events.map((event) => this.#apply(event, message.src))),
        );
        break;
      case 'deliver':
        if (message.to.includes(BRIDGE_ID))
          this.#publish(message.room, this.#payloadsOf(message.frames, message.count));
        break;
      case 'who':
        void this.#who(message.src, message.request, message.room, message.member);
        break;
      default:
        break;
    }
  }

  /**
   * Confirms `src`'s events up to `seq` once `work` (Redis has them) is done, or at the
   * deadline, whichever comes first, and never before the confirmations of its earlier
   * events: an ack covers every earlier seq. Each waits at most its own deadline, so
   * one stalled round trip never holds the ones behind it longer than theirs.
   */
  #confirm(src: number, seq: number, work: Promise<unknown>): void {
    let queue = this.#confirmations.get(src);
    if (!queue) this.#confirmations.set(src, (queue = []));
    const entry: Confirmation = { seq, settled: false };
    queue.push(entry);
    const settle = (late: boolean) => {
      if (entry.settled) return;
      entry.settled = true;
      if (late) {
        this.#late.report(
          `[REDIS] ${this.#o.url} did not confirm a membership change within ${this.#t.confirmDeadlineMs} ms; its reply goes anyway`,
          { url: this.#o.url },
        );
      }
      this.#releaseConfirmations(src);
    };
    const deadline = setTimeout(() => settle(true), this.#t.confirmDeadlineMs);
    deadline.unref();
    void work.then(() => {
      clearTimeout(deadline);
      settle(false);
    });
  }

  #releaseConfirmations(src: number): void {
    const queue = this.#confirmations.get(src);
    if (!queue) return;
    let last = -1;
    while (queue.length > 0 && queue[0]!.settled) last = queue.shift()!.seq;
    if (last >= 0 && !this.#stopping) this.#bus.post({ type: 'ack', src: BRIDGE_ID, seqs: [[src, last]] });
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
    this.#changedDuringResync?.add(event.id);
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
        if (online) pending.push(this.#register(event.id, event.name, event.room).exec());
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
        if (info && online) pending.push(this.#register(event.id, event.name, info.room).exec());
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

  /** `room`'s members on every server, `member` (the asker, of `thread`) left out. */
  async #who(thread: number, request: number, room: string, member: number): Promise<void> {
    let names: string[] | null = null;
    if (this.#connected) {
      try {
        const entries = await this.#pub.hgetall(roomKey(room));
        const asker = `${this.serverId}:${member}`;
        names = [];
        for (const [field, name] of Object.entries(entries)) if (field !== asker) names.push(name);
      } catch {
        names = null; // the thread answers from this server's roster
      }
    }
    this.#bus.post({ type: 'who-reply', src: BRIDGE_ID, to: thread, request, names });
  }
}
