/**
 * The cross-server bus: what several chat servers share so that they are one chat.
 * One interface, chosen at start-up, with one implementation per service:
 * bus-redis.ts (one redis-server), bus-redis-cluster.ts (a Redis Cluster, sharded
 * pub/sub) and bus-nats.ts (a NATS server or cluster). docs/several-servers-design.md
 * says which keys and subjects each one uses and what each fault loses.
 *
 * The bus carries bytes: a batch is whatever the caller publishes (the chat bridge's
 * encoding of its payloads stays the bridge's business); the bus only wraps it with this
 * server's id, so that nobody gets its own batches back.
 *
 * Delivery is AT MOST ONCE. A batch published while the service is unreachable, or while
 * a receiver's subscription is being moved (a resharding, a node restart), is lost for
 * that receiver; nothing is retried or replayed. What does arrive arrives once, and the
 * batches of one publisher arrive in the order it published them (on a Redis Cluster,
 * inside the outage of a master, one may still come after a later one: see
 * docs/several-servers-design.md).
 *
 * Everything that comes from the service is untrusted: a malformed entry is dropped and
 * counted (stats.malformed), and an exception from a handler is caught and counted
 * (stats.handlerErrors); neither ever escapes into the caller's event loop.
 */
import { randomBytes } from 'node:crypto';
import { BusTimeoutError, BusUnavailableError } from '../../protocol/index.ts';
import { REDIS_TIME_SCALE_ENV } from './injected-faults.ts';

/** Which service a bus uses. */
export type BusKind = 'redis' | 'redis-cluster' | 'nats';

/** Whether the bus can reach its service. */
export const BusState = { UP: 'up', DOWN: 'down' } as const;
export type BusState = (typeof BusState)[keyof typeof BusState];

/** A member of this server: `id` is unique within this server, `name` is its `<from>`. */
export interface BusMember {
  id: number;
  name: string;
  room: string;
}

export interface ServerBusHandlers {
  /** Another server published `batch` on `room`, which this server is subscribed to. */
  onBatch(room: string, batch: Buffer): void;
  /**
   * Members of a server that died without leaving (its heartbeat stopped) are gone from
   * `room`, which this server is subscribed to: deliver `!LEFT <room> <name>` for each.
   * Every live server subscribed to `room` hears it once.
   */
  onMembersGone(room: string, names: string[]): void;
  /**
   * Members of another server are in `room` (which this server is subscribed to) and this
   * server's members may not have heard them join: the other server was away (reaped, or
   * its `!JOINED` published while it could not reach the service) and is back. Deliver
   * `!JOINED <room> <name>` for each. After a data loss of the service this may repeat a
   * `!JOINED` that was heard already (presence, not messages: never a message twice).
   */
  onMembersCame(room: string, names: string[]): void;
  /**
   * The service became unreachable, or this server's heartbeat failed (DOWN: the others
   * reap it if that lasts), or both work again (UP). Before UP is reported the bus has
   * written this server's members again and renewed its subscriptions (the service may
   * have lost them, or another server may have reaped this one meanwhile). While DOWN the
   * bus still tries every publish it can: on a cluster, most rooms may still work.
   */
  onState(state: BusState): void;
  /**
   * Something that is not a bus entry arrived on `channel` (a room's channel or subject, as
   * the service names it): anyone can publish there. Dropped; said so that it is counted.
   */
  onUnreadable(channel: string, detail: string): void;
  /**
   * `count` other entries read from the service (at `where`: a channel, subject or key) were
   * not well-formed: a control entry, a member name, a server id. Skipped; said so that it is
   * counted (stats.malformed counts them too, and the unreadable ones).
   */
  onMalformed(where: string, count: number): void;
}

/** What every bus takes, besides where its service is. */
export interface CommonBusOptions {
  /** Text this server publishes with its heartbeat, what the others' peers() return (its limits). */
  record?: string;
  /** Bound of every command (default COMMAND_TIMEOUT_MS). */
  commandTimeoutMs?: number;
}

/** What a bus has counted since it started. */
export interface BusStats {
  /** Batches handed to the service. */
  published: number;
  /** Batches not published: the service was unreachable, or refused or timed out the publish. */
  publishDropped: number;
  /** Other servers' batches handed to onBatch. */
  received: number;
  /** Entries from the service that were not well-formed (dropped). */
  malformed: number;
  /** Exceptions thrown by a handler (caught). */
  handlerErrors: number;
  /** Commands that failed or timed out (membership, liveness, subscriptions). */
  commandFailures: number;
  /** Dead servers this bus removed (it held the reaper's lock, or saw them die). */
  reaped: number;
}

export interface ServerBus {
  readonly kind: BusKind;
  /** This server's id on the bus: 16 lower-case hex characters, new at every start. */
  readonly serverId: string;
  readonly state: BusState;
  readonly stats: Readonly<BusStats>;

  /**
   * Connects and starts the heartbeat. Resolves once the service is reachable, or after
   * a few seconds without it (the bus keeps trying, with backoff; until then the chat
   * stays within this server): a chat server starts whether or not its bus is up.
   */
  start(): Promise<void>;

  /** Hands `batch` to every other server subscribed to `room`. At most once; never throws. */
  publish(room: string, batch: Uint8Array): void;

  /**
   * From the moment this resolves, what other servers publish on `room` reaches onBatch
   * (while the service stays reachable). Resolves (never rejects) also when the service
   * is away or does not answer in time: the subscription is then renewed once it is back.
   */
  subscribe(room: string): Promise<void>;
  /** Stops the deliveries of `room`. Never rejects. */
  unsubscribe(room: string): Promise<void>;

  /**
   * `member` is now in `member.room` (taken out of the room it was in, if any), known as
   * `member.name`. Resolves once every server's who() lists it, or at once when the service
   * is away (it is written once the service is back). Never rejects.
   */
  enter(member: BusMember): Promise<void>;
  /** Member `id` of this server is gone. Same resolution as enter(). */
  leave(id: number): Promise<void>;
  /** Member `id` of this server is now known as `name`. Same resolution as enter(). */
  rename(id: number, name: string): Promise<void>;
  /**
   * The records (CommonBusOptions.record) of the other live servers, as they published them:
   * untrusted text, for the start-up check that every server of one chat runs the same limits.
   * Rejects like who().
   */
  peers(): Promise<Array<{ server: string; record: string }>>;
  /**
   * The names of every member of `room` on every live server, this one included, in no
   * particular order. Rejects with BusUnavailableError or BusTimeoutError when the service
   * cannot answer (the caller then answers from this server's own members).
   */
  who(room: string): Promise<string[]>;
  /**
   * who() without this server's members: the names of `room`'s members on every other live
   * server. What the bridge answers `!WHO` from, with this server's own members added from its
   * own roster, which is always right (the service may have lost this server's entries, or not
   * have them back yet after a reconnection). Rejects like who().
   */
  othersIn(room: string): Promise<string[]>;

  /** Leaves cleanly: this server's members and keys are removed, connections closed. */
  stop(): Promise<void>;
  /** Closes the connections without leaving, as a crash would: the others reap this server. */
  disconnect(): void;
}

// ---------------------------------------------------------------------------
// The shared timing, documented in PROTOCOL.md ("Several servers": a dead server's
// members are gone within 15 s).

/**
 * Test-only: REDIS_TIME_SCALE_ENV multiplies every time below (e.g. 0.5), so that faults
 * longer than a liveness period take seconds in a test. Read once, when this module loads.
 */
const SCALE = (() => {
  const scale = Number(process.env[REDIS_TIME_SCALE_ENV] ?? 1);
  return scale > 0 ? scale : 1;
})();
const scaled = (ms: number) => Math.max(1, Math.round(ms * SCALE));

/** How often a server tells the others it is alive. */
export const HEARTBEAT_MS = scaled(2_000);
/** A server not heard from for this long is dead: its members are gone within this + HEARTBEAT_MS. */
export const DEAD_AFTER_MS = scaled(10_000);
/** Default bound of every command to the service. */
export const COMMAND_TIMEOUT_MS = scaled(2_000);
/** How long start() waits for the service before it resolves without it. */
export const FIRST_CONNECT_MS = scaled(3_000);
/** Longest wait between two reconnection attempts. */
const MAX_RETRY_MS = scaled(2_000);

/** The wait before reconnection attempt `attempt` (1, 2, ...): doubling from 100 ms up to MAX_RETRY_MS. */
export function retryDelayMs(attempt: number): number {
  return Math.min(scaled(100) * 2 ** Math.max(0, attempt - 1), MAX_RETRY_MS);
}

export function newStats(): BusStats {
  return {
    published: 0,
    publishDropped: 0,
    received: 0,
    malformed: 0,
    handlerErrors: 0,
    commandFailures: 0,
    reaped: 0,
  };
}

/** A server id: what serverId is made of, and what an id read from the service must look like. */
export const SERVER_ID = /^[0-9a-f]{16}$/;

/** A new server id (SERVER_ID): random, so a restarted server is a new one to the others. */
export function newServerId(): string {
  return randomBytes(8).toString('hex');
}

/**
 * A member's name as read from the service (another server wrote it): printable ASCII
 * without spaces, 1 to 64 bytes. PROTOCOL.md's names are 1 to 32 bytes of
 * `A-Z a-z 0-9 _ . -`, addresses `ip:port` or `[v6]:port`; anything else is malformed.
 */
export const MEMBER_NAME = /^[\x21-\x7e]{1,64}$/;

/** Counts `count` malformed entries (stats.malformed) and tells the handler. */
export function countMalformed(stats: BusStats, handlers: ServerBusHandlers, where: string, count = 1): void {
  if (count <= 0) return;
  stats.malformed += count;
  if (!callSafely(() => handlers.onMalformed(where, count))) stats.handlerErrors++;
}

/**
 * Calls a handler so that nothing it throws reaches the service client's event loop.
 * Returns false when it threw (the caller counts it).
 */
export function callSafely(call: () => void): boolean {
  try {
    call();
    return true;
  } catch {
    return false;
  }
}

/**
 * `promise`, or a BusTimeoutError after `ms`; any other failure becomes a BusUnavailableError
 * with the service client's error as its cause. Every command a bus sends goes through here,
 * so none can hang a caller, whatever the client library does with it.
 */
export async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BusTimeoutError(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } catch (err) {
    if (err instanceof BusTimeoutError || err instanceof BusUnavailableError) throw err;
    const text = err instanceof Error ? err.message : String(err);
    // ioredis's own commandTimeout says so in words.
    if (/timed out/i.test(text)) throw new BusTimeoutError(`${what}: ${text}`, { cause: err });
    throw new BusUnavailableError(`${what}: ${text}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}
