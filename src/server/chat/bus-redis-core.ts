/**
 * What the two Redis buses share (bus-redis.ts: one redis-server; bus-redis-cluster.ts:
 * a Redis Cluster): membership in hashes, liveness by keys that expire, the reaper, and
 * pub/sub of envelopes. They differ only in their key names (a cluster needs hash tags)
 * and in how they publish and subscribe (PUBLISH/SUBSCRIBE or SPUBLISH/SSUBSCRIBE), which
 * a RedisTransport hides.
 *
 * - membership: each member is a field `<server>:<id>` = name in its room's hash (what
 *   who() reads, on every server), and a field `<id>` = `<room> <name>` in its server's
 *   own hash (what a reaper reads). No MULTI: a cluster keeps the two hashes on different
 *   shards, so both buses write them as two commands.
 * - liveness: every HEARTBEAT_MS each server sets its alive key with a DEAD_AFTER_MS expiry
 *   and adds itself to the servers set; it then looks at every other server's alive key,
 *   and reaps those that expired (one reaper per dead server: a lock with an expiry): their
 *   members leave their room hashes, and a `gone` control entry is published on each of
 *   those rooms, so every server subscribed there says `!LEFT` for them.
 * - repair: a server whose SADD finds it missing from the servers set (it was reaped while
 *   away, or Redis lost its data), or whose service may have lost data (a reconnection, a
 *   cluster node back), or whose commands failed, makes its own hash and the room hashes
 *   hold exactly its members again, and renews its subscriptions. Its own hash is what the
 *   others were last told: the members it held and this server no longer has are published
 *   `gone`, those it lacks `came` (all of them after a reap), so the other servers' members
 *   hear the `!LEFT` and `!JOINED` they missed.
 * - a reaper only reaps once this server has been heard by Redis for a whole DEAD_AFTER_MS:
 *   after Redis stalled, every alive key may have expired, and nobody is dead.
 */
import type { ChainableCommander, RedisCommander } from 'ioredis';
import { controlOf, ENTRY, openEnvelope, sealControl, sealEnvelope } from './bus-envelope.ts';
import {
  bounded,
  type BusKind,
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
  SERVER_ID,
  type ServerBus,
  type ServerBusHandlers,
} from './server-bus.ts';
import { BusUnavailableError } from '../../protocol/index.ts';

/** A reaper holds its lock this long: if it dies mid-way, another one takes over after it. */
const REAP_LOCK_MS = 30_000;
/** How long a reaper's mark stays: a server away longer than this is taken for one whose data was lost. */
const REAPED_MARK_MS = 3_600_000;
/** Heartbeats that fail in a row before the connections are dropped and made again. */
const RECONNECT_AFTER_FAILED_BEATS = 2;

/** Where each thing lives in Redis. */
export interface RedisLayout {
  /** Hash of a room's members on every server: `<server>:<id>` -> name. */
  room(room: string): string;
  /** The channel a room's envelopes are published on. */
  channel(room: string): string;
  /** Hash of one server's members: `<id>` -> `<room> <name>`. */
  members(server: string): string;
  /** A server's heartbeat, expiring after DEAD_AFTER_MS. */
  alive(server: string): string;
  /** The reaper's lock on a dead server. */
  reapLock(server: string): string;
  /**
   * Set by the reaper of a server (REAPED_MARK_MS): the others were told its members are gone.
   * What tells a server that comes back "you were reaped" from "the service lost its data".
   */
  reaped(server: string): string;
  /** Set of the server ids that have not left. */
  servers: string;
}

export interface RedisTransportEvents {
  message(channel: Buffer, message: Buffer): void;
  /** Commands can be sent again (the first connection, or a reconnection). */
  up(): void;
  down(): void;
  /** Part of the service may have lost its data (a cluster node came back): write everything again. */
  dataMayBeLost(): void;
}

/** The commands both a Redis and a Cluster client take. */
type RedisCommands = RedisCommander & { multi(): ChainableCommander };

/** The part that differs between one redis-server and a cluster. */
export interface RedisTransport {
  readonly commands: RedisCommands;
  listen(events: RedisTransportEvents): void;
  connect(): Promise<void>;
  publish(channel: string, message: Buffer): Promise<unknown>;
  subscribe(channel: string): Promise<unknown>;
  unsubscribe(channel: string): Promise<unknown>;
  /** After a reconnection: the subscriptions the client does not renew by itself. */
  renew(channels: string[]): Promise<unknown>;
  /** Heartbeats keep failing on open connections (a link that loses bytes): make them again. */
  reconnect(): void;
  quit(): Promise<void>;
  disconnect(): void;
}

interface RedisBusCoreOptions {
  kind: BusKind;
  serverId: string;
  layout: RedisLayout;
  transport: RedisTransport;
  handlers: ServerBusHandlers;
  options: CommonBusOptions;
}

/** A Redis-family bus with a new server id, on the transport `connect` makes for that id. */
export function redisFamilyBus(
  kind: BusKind,
  layout: RedisLayout,
  connect: (serverId: string) => RedisTransport,
  handlers: ServerBusHandlers,
  options: CommonBusOptions,
): ServerBus {
  const serverId = newServerId();
  return new RedisFamilyBus({ kind, serverId, layout, transport: connect(serverId), handlers, options });
}

class RedisFamilyBus implements ServerBus {
  readonly kind: BusKind;
  readonly serverId: string;
  readonly stats: BusStats = newStats();
  readonly #layout: RedisLayout;
  readonly #transport: RedisTransport;
  readonly #redis: RedisCommands;
  readonly #handlers: ServerBusHandlers;
  readonly #timeoutMs: number;
  readonly #record: string;
  /** This server's members: what is written again after a loss. */
  readonly #members = new Map<number, { name: string; room: string }>();
  /**
   * This server's members as the service last confirmed them: what the others were told
   * (their rooms' !JOINED went with those writes), kept here because the service may lose it
   * (a restart without persistence, a cluster master back empty). A repair announces only the
   * difference between this and #members, so nobody hears a !JOINED twice after a data loss.
   */
  #written = new Map<number, { name: string; room: string }>();
  /** Subscribed rooms, by channel name (what a message names). */
  readonly #rooms = new Map<string, string>();
  #state: BusState = BusState.DOWN;
  /** Commands can be sent (the transport is up); the state says UP once the repair after it is done. */
  #connected = false;
  /** Whether this server has been in the servers set since it (re)connected. */
  #listed = false;
  #repairWanted = false;
  #beat: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Since when every heartbeat has succeeded (null: the last one failed, or none yet). */
  #healthySince: number | null = null;
  #failedBeats = 0;
  /** While a repair reads this server's hash: the members changed meanwhile (their own commands put them right). */
  #changedDuringRepair: Set<number> | null = null;
  #stopping = false;
  #whenUp: (() => void) | undefined;

  constructor(options: RedisBusCoreOptions) {
    this.kind = options.kind;
    this.serverId = options.serverId;
    this.#layout = options.layout;
    this.#transport = options.transport;
    this.#redis = options.transport.commands;
    this.#handlers = options.handlers;
    this.#timeoutMs = options.options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
    this.#record = options.options.record ?? '1';
    this.#transport.listen({
      message: (channel, message) => this.#onMessage(channel, message),
      up: () => void this.#onUp(),
      down: () => this.#onDown(),
      dataMayBeLost: () => {
        this.#repairWanted = true;
      },
    });
  }

  get state(): BusState {
    return this.#state;
  }

  async start(): Promise<void> {
    this.#scheduleHeartbeat();
    const up = new Promise<void>((resolve) => (this.#whenUp = resolve));
    this.#transport.connect().catch(() => {}); // the client keeps retrying, with backoff
    let late: NodeJS.Timeout | undefined;
    await Promise.race([up, new Promise((resolve) => (late = setTimeout(resolve, FIRST_CONNECT_MS)))]);
    clearTimeout(late);
  }

  publish(room: string, batch: Uint8Array): void {
    if (!this.#connected || this.#stopping) {
      this.stats.publishDropped++; // at most once: lost while the service is away
      return;
    }
    bounded(
      this.#transport.publish(this.#layout.channel(room), sealEnvelope(ENTRY.BATCH, this.serverId, batch)),
      this.#timeoutMs,
      'publish',
    ).then(
      () => this.stats.published++,
      () => this.stats.publishDropped++,
    );
  }

  async subscribe(room: string): Promise<void> {
    const channel = this.#layout.channel(room);
    if (this.#rooms.has(channel)) return;
    this.#rooms.set(channel, room);
    if (!this.#connected) return; // renewed once the service is back
    await this.#command(this.#transport.subscribe(channel), 'subscribe');
  }

  async unsubscribe(room: string): Promise<void> {
    const channel = this.#layout.channel(room);
    if (!this.#rooms.delete(channel) || !this.#connected) return;
    await this.#command(this.#transport.unsubscribe(channel), 'unsubscribe');
  }

  async enter(member: BusMember): Promise<void> {
    this.#changedDuringRepair?.add(member.id);
    const previous = this.#members.get(member.id);
    this.#members.set(member.id, { name: member.name, room: member.room });
    if (!this.#connected) return;
    const writes = [this.#register(member.id, member.name, member.room)];
    if (previous && previous.room !== member.room) {
      writes.push(this.#redis.hdel(this.#layout.room(previous.room), this.#field(member.id)));
    }
    if (await this.#command(Promise.all(writes), 'enter')) this.#confirmed(member.id, member.name, member.room);
  }

  async leave(id: number): Promise<void> {
    this.#changedDuringRepair?.add(id);
    const previous = this.#members.get(id);
    if (!previous) return;
    this.#members.delete(id);
    if (!this.#connected) return;
    const done = await this.#command(
      Promise.all([
        this.#redis.hdel(this.#layout.room(previous.room), this.#field(id)),
        this.#redis.hdel(this.#layout.members(this.serverId), String(id)),
      ]),
      'leave',
    );
    if (done && !this.#members.has(id)) this.#written.delete(id);
  }

  async rename(id: number, name: string): Promise<void> {
    this.#changedDuringRepair?.add(id);
    const member = this.#members.get(id);
    if (!member) return;
    member.name = name;
    if (!this.#connected) return;
    if (await this.#command(this.#register(id, name, member.room), 'rename')) this.#confirmed(id, name, member.room);
  }

  async peers(): Promise<Array<{ server: string; record: string }>> {
    if (!this.#connected) throw new BusUnavailableError(`${this.kind} is not reachable now`);
    const servers = await bounded(this.#redis.smembers(this.#layout.servers), this.#timeoutMs, 'servers');
    // Every id, even one that is not ours in form: an older handoff must be seen to be refused.
    const others = servers.filter((server) => server !== this.serverId);
    // One GET per server, not MGET: in a cluster their keys live on different shards.
    const records = await bounded(
      Promise.all(others.map((server) => this.#redis.get(this.#layout.alive(server)))),
      this.#timeoutMs,
      'peers',
    );
    const out: Array<{ server: string; record: string }> = [];
    others.forEach((server, i) => {
      const record = records[i];
      if (typeof record === 'string') out.push({ server, record });
    });
    return out;
  }

  async who(room: string): Promise<string[]> {
    const others = await this.othersIn(room);
    const mine: string[] = [];
    for (const member of this.#members.values()) if (member.room === room) mine.push(member.name);
    return [...mine, ...others];
  }

  async othersIn(room: string): Promise<string[]> {
    if (!this.#connected) throw new BusUnavailableError(`${this.kind} is not reachable now`);
    const fields = await bounded(this.#redis.hgetall(this.#layout.room(room)), this.#timeoutMs, 'who');
    const ours = `${this.serverId}:`;
    const names: string[] = [];
    let malformed = 0;
    for (const [field, name] of Object.entries(fields)) {
      if (field.startsWith(ours)) continue;
      if (MEMBER_NAME.test(name)) names.push(name);
      else malformed++;
    }
    this.#malformed(this.#layout.room(room), malformed);
    return names;
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#timer);
    if (this.#connected) {
      const removals: Array<Promise<unknown>> = [];
      for (const [id, member] of this.#members) {
        removals.push(this.#redis.hdel(this.#layout.room(member.room), this.#field(id)));
      }
      removals.push(
        this.#redis.del(this.#layout.members(this.serverId)),
        this.#redis.del(this.#layout.alive(this.serverId)),
        this.#redis.srem(this.#layout.servers, this.serverId),
      );
      await bounded(Promise.all(removals), this.#timeoutMs, 'leave the bus').catch(() => {
        this.stats.commandFailures++; // the others reap this server instead
      });
    }
    this.#members.clear();
    await bounded(this.#transport.quit(), this.#timeoutMs, 'quit').catch(() => this.#transport.disconnect());
  }

  disconnect(): void {
    this.#stopping = true;
    clearTimeout(this.#timer);
    this.#transport.disconnect();
  }

  // --- the service

  #field(id: number): string {
    return `${this.serverId}:${id}`;
  }

  #register(id: number, name: string, room: string): Promise<unknown> {
    return Promise.all([
      this.#redis.hset(this.#layout.room(room), this.#field(id), name),
      this.#redis.hset(this.#layout.members(this.serverId), String(id), `${room} ${name}`),
    ]);
  }

  /** A command whose failure is counted and repaired at the next heartbeat, never thrown; false if it failed. */
  async #command(promise: Promise<unknown>, what: string): Promise<boolean> {
    try {
      await bounded(promise, this.#timeoutMs, what);
      return true;
    } catch {
      this.stats.commandFailures++;
      this.#repairWanted = true;
      return false;
    }
  }

  /** The service has member `id` as `name` in `room`: kept as told, unless it changed again meanwhile. */
  #confirmed(id: number, name: string, room: string): void {
    const now = this.#members.get(id);
    if (now && now.name === name && now.room === room) this.#written.set(id, { name, room });
  }

  async #onUp(): Promise<void> {
    if (this.#stopping) return;
    this.#connected = true;
    this.#listed = false;
    this.#repairWanted = true;
    await this.#beat; // one that started before: this one must repair after it
    await this.#heartbeat();
  }

  #onDown(): void {
    this.#connected = false;
    this.#healthySince = null;
    this.#setState(BusState.DOWN);
  }

  /**
   * UP once a heartbeat went through and this server's members are written; DOWN when the
   * client lost the service, or a heartbeat failed (on a cluster: the master of this
   * server's keys is away), for then the others may soon reap this server.
   */
  #setState(state: BusState): void {
    if (this.#state === state || this.#stopping) return;
    this.#state = state;
    this.#report(() => this.#handlers.onState(state));
    if (state === BusState.UP) {
      this.#whenUp?.();
      this.#whenUp = undefined;
    }
  }

  /**
   * Makes the service hold exactly this server's members as they are now, renews the
   * subscriptions, and tells the other servers what they missed (`gone` / `came`, against
   * this server's own hash: what they were last told). False if some write failed.
   */
  async #repair(): Promise<boolean> {
    this.#repairWanted = false;
    const changed = new Set<number>();
    this.#changedDuringRepair = changed;
    let held: Record<string, string>;
    let reaped: string | null;
    try {
      [held, reaped] = await bounded(
        Promise.all([
          this.#redis.hgetall(this.#layout.members(this.serverId)),
          this.#redis.get(this.#layout.reaped(this.serverId)),
        ]),
        this.#timeoutMs,
        'repair',
      );
    } catch {
      this.stats.commandFailures++;
      return false;
    } finally {
      this.#changedDuringRepair = null;
    }
    const gone = new Map<string, string[]>();
    const came = new Map<string, string[]>();
    const add = (map: Map<string, string[]>, room: string, name: string) => {
      let names = map.get(room);
      if (!names) map.set(room, (names = []));
      names.push(name);
    };
    const writes: Array<Promise<unknown>> = [this.#transport.renew([...this.#rooms.keys()])];
    // What the others were told: after a reap, that every member is gone; else what the
    // service confirmed, from our own hash, or from memory where the service lost it.
    const told = new Map<number, { name: string; room: string }>(reaped === null ? this.#written : []);
    if (reaped !== null) writes.push(this.#redis.del(this.#layout.reaped(this.serverId)));
    for (const [idText, place] of Object.entries(held)) {
      const id = Number(idText);
      const space = place.indexOf(' ');
      if (space <= 0 || !Number.isSafeInteger(id)) continue; // our own hash: only we write it
      const room = place.slice(0, space);
      const now = this.#members.get(id);
      if (reaped === null) told.set(id, { room, name: place.slice(space + 1) });
      if (changed.has(id) || (now && now.room === room)) continue;
      writes.push(this.#redis.hdel(this.#layout.room(room), this.#field(id)));
      if (!now) writes.push(this.#redis.hdel(this.#layout.members(this.serverId), idText));
    }
    const wasIn = new Map<number, string>();
    for (const [id, { room, name }] of told) {
      wasIn.set(id, room);
      const now = this.#members.get(id);
      if (changed.has(id) || (now && now.room === room)) continue;
      if (MEMBER_NAME.test(name)) add(gone, room, name);
    }
    for (const [id, member] of this.#members) {
      if (changed.has(id)) continue;
      writes.push(this.#register(id, member.name, member.room));
      if (wasIn.get(id) !== member.room) add(came, member.room, member.name);
    }
    for (const [room, names] of gone) writes.push(this.#notice(room, { t: 'gone', names }));
    for (const [room, names] of came) writes.push(this.#notice(room, { t: 'came', names }));
    if (await this.#command(Promise.all(writes), 'write the members again')) {
      this.#written = new Map([...this.#members].map(([id, m]) => [id, { ...m }]));
    }
    return !this.#repairWanted;
  }

  #notice(room: string, control: { t: 'gone' | 'came'; names: string[] }): Promise<unknown> {
    const notice = { ...control, server: this.serverId };
    return this.#transport.publish(this.#layout.channel(room), sealControl(this.serverId, notice));
  }

  /** One heartbeat at a time, each HEARTBEAT_MS after the last one ended, however long it took. */
  #scheduleHeartbeat(): void {
    if (this.#stopping) return;
    this.#timer = setTimeout(() => {
      void this.#heartbeat().finally(() => this.#scheduleHeartbeat());
    }, HEARTBEAT_MS);
    this.#timer.unref();
  }

  /** One heartbeat at a time: a call while one runs waits for it. */
  #heartbeat(): Promise<void> {
    if (!this.#connected || this.#stopping) return Promise.resolve();
    this.#beat ??= this.#beatOnce().finally(() => (this.#beat = undefined));
    return this.#beat;
  }

  async #beatOnce(): Promise<void> {
    try {
      // Alive first, then the members: a reaper never finds this server's members without its alive key.
      const [, added] = await bounded(
        Promise.all([
          this.#redis.set(this.#layout.alive(this.serverId), this.#record, 'PX', DEAD_AFTER_MS),
          this.#redis.sadd(this.#layout.servers, this.serverId),
        ]),
        this.#timeoutMs,
        'heartbeat',
      );
      // Missing from the set it was in: reaped while away, or the set was lost.
      if (added === 1 && this.#listed) this.#repairWanted = true;
      this.#listed = true;
      if (this.#repairWanted && !(await this.#repair())) throw new Error('members not written');
    } catch {
      this.stats.commandFailures++;
      this.#healthySince = null;
      this.#repairWanted = true; // what the service lost meanwhile is written at the next one that works
      if (this.#connected) this.#setState(BusState.DOWN);
      if (++this.#failedBeats >= RECONNECT_AFTER_FAILED_BEATS && this.#connected) {
        this.#failedBeats = 0;
        this.#transport.reconnect();
      }
      return;
    }
    this.#failedBeats = 0;
    this.#healthySince ??= performance.now();
    if (this.#connected) this.#setState(BusState.UP);
    // Heard by Redis for a whole expiry: an expired key is then a dead server, not Redis's stall.
    if (performance.now() - this.#healthySince < DEAD_AFTER_MS) return;
    try {
      await this.#reapSilent();
    } catch {
      this.stats.commandFailures++; // the next heartbeat tries again
    }
  }

  /** Every other server whose alive key has expired is reaped. */
  async #reapSilent(): Promise<void> {
    const servers = await bounded(this.#redis.smembers(this.#layout.servers), this.#timeoutMs, 'servers');
    const others = servers.filter((server) => server !== this.serverId);
    const valid = others.filter((server) => SERVER_ID.test(server));
    this.#malformed(this.#layout.servers, others.length - valid.length);
    const alive = await bounded(
      Promise.all(valid.map((server) => this.#redis.exists(this.#layout.alive(server)))),
      this.#timeoutMs,
      'liveness',
    );
    for (let i = 0; i < valid.length; i++) if (alive[i] === 0) await this.#reap(valid[i]!);
  }

  /** A server that stopped its heartbeat without leaving: the lock holder removes its members. */
  async #reap(server: string): Promise<void> {
    const locked = await bounded(
      this.#redis.set(this.#layout.reapLock(server), this.serverId, 'PX', REAP_LOCK_MS, 'NX'),
      this.#timeoutMs,
      'reap lock',
    );
    if (locked !== 'OK') return;
    // Its members read at the same instant as its silence: the keys share its hash tag, so
    // this is one MULTI on one shard even in a cluster.
    const [[, silent], [, members]] = (await bounded(
      this.#redis.multi().exists(this.#layout.alive(server)).hgetall(this.#layout.members(server)).exec(),
      this.#timeoutMs,
      'reap',
    )) as [[unknown, number], [unknown, Record<string, string>]];
    if (silent !== 0) return;
    const goneByRoom = new Map<string, string[]>();
    const removals: Array<Promise<unknown>> = [];
    for (const [id, place] of Object.entries(members)) {
      const space = place.indexOf(' ');
      const room = place.slice(0, space);
      const name = place.slice(space + 1);
      if (space <= 0 || !MEMBER_NAME.test(name)) {
        this.#malformed(this.#layout.members(server));
        continue;
      }
      removals.push(this.#redis.hdel(this.#layout.room(room), `${server}:${id}`));
      let names = goneByRoom.get(room);
      if (!names) goneByRoom.set(room, (names = []));
      names.push(name);
    }
    await bounded(Promise.all(removals), this.#timeoutMs, 'reap');
    const notices: Array<Promise<unknown>> = [];
    for (const [room, names] of goneByRoom) {
      notices.push(
        this.#transport.publish(this.#layout.channel(room), sealControl(this.serverId, { t: 'gone', server, names })),
      );
      // Our own notice is dropped when it comes back, like every entry of ours: say it here.
      if (this.#rooms.has(this.#layout.channel(room))) this.#report(() => this.#handlers.onMembersGone(room, names));
    }
    notices.push(
      this.#redis.set(this.#layout.reaped(server), this.serverId, 'PX', REAPED_MARK_MS),
      this.#redis.del(this.#layout.members(server)),
      this.#redis.srem(this.#layout.servers, server),
    );
    await bounded(Promise.all(notices), this.#timeoutMs, 'reap');
    this.stats.reaped++;
  }

  /** An entry from the service: untrusted bytes. */
  #onMessage(channel: Buffer, message: Buffer): void {
    const room = this.#rooms.get(channel.toString('latin1'));
    if (room === undefined) return; // a late one, after unsubscribe
    const envelope = openEnvelope(message);
    if (!envelope) {
      this.stats.malformed++;
      this.#report(() => this.#handlers.onUnreadable(channel.toString('latin1'), 'not a bus envelope'));
      return;
    }
    if (envelope.server === this.serverId) return; // ours, back from Redis
    if (envelope.kind === ENTRY.BATCH) {
      this.stats.received++;
      this.#report(() => this.#handlers.onBatch(room, envelope.body));
      return;
    }
    const control = controlOf(envelope);
    const names = control?.t === 'gone' || control?.t === 'came' ? control.names : undefined;
    if (!Array.isArray(names) || !names.every((name) => typeof name === 'string' && MEMBER_NAME.test(name))) {
      this.#malformed(channel.toString('latin1'));
      return;
    }
    if (control!.server === this.serverId) {
      // Another server reaped this one (it was away): say nothing to our own members, who
      // are still here, and write them again, which tells the others they came back.
      this.#repairWanted = true;
      return;
    }
    if (control!.t === 'gone') this.#report(() => this.#handlers.onMembersGone(room, names as string[]));
    else this.#report(() => this.#handlers.onMembersCame(room, names as string[]));
  }

  #malformed(where: string, count = 1): void {
    countMalformed(this.stats, this.#handlers, where, count);
  }

  #report(call: () => void): void {
    if (!callSafely(call)) this.stats.handlerErrors++;
  }
}
