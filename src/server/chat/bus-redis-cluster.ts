/**
 * The bus on a Redis Cluster (`--bus redis-cluster://host:port[,host:port...]`), with
 * sharded pub/sub (Redis 7): a room's channel `handoff:{r:<room>}:chat` is SPUBLISHed and
 * SSUBSCRIBEd on the master that owns its hash slot, so rooms spread over the masters and
 * adding masters adds capacity (classic PUBLISH in a cluster goes to every node). The
 * room's member hash carries the same hash tag (`handoff:{r:<room>}:members`), so a room's
 * membership lives on the shard of its channel; a server's own keys are tagged with its id
 * (`handoff:{s:<id>}:members`, `...:alive`, `...:reap`). The servers set is one key.
 *
 * ioredis 5.11's Cluster does the routing: commands follow MOVED and ASK, and with
 * `shardedSubscribers` it keeps one subscriber connection per master and subscribes each
 * channel on the master of its slot. Two things it does not do by itself, handled here:
 * - a master that moves a slot away (a resharding) pushes SUNSUBSCRIBE to its subscribers,
 *   which ioredis does not act on; the subscriptions follow the slot only when ioredis next
 *   refreshes its slot map, so the map is read every SLOTS_REFRESH_MS: what is
 *   published on the moved room in between is lost for this server (at most once);
 * - a master that died and came back has lost its keys (a cluster without replicas, or
 *   without persistence): when a node joins again, every member is written again at the
 *   next heartbeat.
 */
import { Cluster } from 'ioredis';
import { type RedisLayout, redisFamilyBus, type RedisTransport, type RedisTransportEvents } from './bus-redis-core.ts';
import {
  type CommonBusOptions,
  COMMAND_TIMEOUT_MS,
  retryDelayMs,
  type ServerBus,
  type ServerBusHandlers,
} from './server-bus.ts';

export interface RedisClusterBusOptions extends CommonBusOptions {
  /** Seed masters, validated by the caller; the others are discovered. */
  nodes: Array<{ host: string; port: number }>;
}

/** How often the slot map is read again: the longest a moved room's subscription stays on its old master. */
export const SLOTS_REFRESH_MS = 1_000;

export const REDIS_CLUSTER_LAYOUT: RedisLayout = Object.freeze({
  room: (room: string) => `handoff:{r:${room}}:members`,
  channel: (room: string) => `handoff:{r:${room}}:chat`,
  members: (server: string) => `handoff:{s:${server}}:members`,
  alive: (server: string) => `handoff:{s:${server}}:alive`,
  reapLock: (server: string) => `handoff:{s:${server}}:reap`,
  reaped: (server: string) => `handoff:{s:${server}}:reaped`,
  servers: 'handoff:servers',
});

export function createRedisClusterBus(options: RedisClusterBusOptions, handlers: ServerBusHandlers): ServerBus {
  return redisFamilyBus(
    'redis-cluster',
    REDIS_CLUSTER_LAYOUT,
    (id) => new ClusterTransport(options, id),
    handlers,
    options,
  );
}

interface Publish {
  message: Buffer;
  resolve: (value: unknown) => void;
  reject: (reason: unknown) => void;
}

/**
 * The longest a room's flight holds the publishes behind it: a publish that neither
 * succeeds nor fails by then (it never should: ioredis fails what it queued for a master
 * once that connection ends) no longer holds the room.
 */
const FLIGHT_LIMIT_MS = 10_000;
/** A room's publishes waiting for the flight before them, at most this many bytes (then dropped). */
const MAX_WAITING_BYTES = 8 * 1024 * 1024;

class ClusterTransport implements RedisTransport {
  readonly commands: Cluster;
  /** Per channel with a flight on its way: the publishes that wait for it. */
  readonly #waiting = new Map<string, { items: Publish[]; bytes: number }>();
  #up = false;
  #refresh: NodeJS.Timeout | undefined;

  constructor(options: RedisClusterBusOptions, serverId: string) {
    const timeoutMs = options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS;
    this.commands = new Cluster(options.nodes, {
      lazyConnect: true,
      shardedSubscribers: true,
      slotsRefreshTimeout: timeoutMs,
      // Kept on (ioredis's default): with it off, a command to a master whose connection is
      // still being made fails at once. The bus itself sends nothing while the cluster is
      // down, and bounds every command in time.
      enableOfflineQueue: true,
      clusterRetryStrategy: retryDelayMs,
      // A command that meets a closed connection or CLUSTERDOWN fails at once instead of being
      // sent again later: a publish retried after the ones that followed it would break the
      // publisher's order. It is lost (at most once); membership is repaired by the heartbeat.
      // MOVED is still followed at once, in order, so a resharding costs almost nothing.
      retryDelayOnFailover: 0,
      retryDelayOnClusterDown: 0,
      redisOptions: {
        maxRetriesPerRequest: 1,
        // No commandTimeout: ioredis's rejects the caller but leaves the command queued for a
        // master still connecting, to be sent later; a publish sent after the ones behind it
        // would break their order. The bus bounds every command itself (bounded()), and a
        // room's flight is held until its publishes are really answered (FLIGHT_LIMIT_MS).
        connectTimeout: timeoutMs,
        connectionName: `handoff-${serverId}`,
      },
    });
    this.commands.on('error', () => {}); // 'close' and failed commands report it
    this.commands.on('node error', () => {});
    this.commands.on('nodeError', () => {});
  }

  listen(events: RedisTransportEvents): void {
    this.commands.on('ready', () => {
      if (this.#up) return;
      this.#up = true;
      events.up();
    });
    const lost = () => {
      if (!this.#up) return;
      this.#up = false;
      events.down();
    };
    this.commands.on('close', lost);
    this.commands.on('end', lost);
    // A node (re)joining the pool after the first connection may be a master that lost its keys.
    this.commands.on('+node', () => {
      if (this.#up) events.dataMayBeLost();
    });
    this.commands.on('smessageBuffer', (channel: Buffer, message: Buffer) => events.message(channel, message));
  }

  async connect(): Promise<void> {
    // The slot map read every SLOTS_REFRESH_MS by our own timer, not ioredis's
    // slotsRefreshInterval: a refresh still running when the cluster is closed re-arms that
    // one for good (ioredis 5.11), and a closed bus would keep its process alive.
    this.#refresh = setInterval(() => {
      if (this.commands.status === 'ready') this.commands.refreshSlotsCache();
    }, SLOTS_REFRESH_MS);
    this.#refresh.unref();
    await this.commands.connect();
  }

  /**
   * One flight per channel: the publishes of a room that come while some are on their way
   * wait, and go together once those are answered. A publish redirected (MOVED) or failed
   * therefore cannot let a later one of the same room overtake it through the retries
   * turned off above: per-publisher order holds through a resharding, for at most one
   * round trip of delay. (Around a master's restart one batch is still, rarely, seen after
   * a later one: docs/several-servers-design.md.)
   */
  publish(channel: string, message: Buffer): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const waiting = this.#waiting.get(channel);
      if (!waiting) {
        this.#waiting.set(channel, { items: [], bytes: 0 });
        this.#fly(channel, [{ message, resolve, reject }]);
      } else if (waiting.bytes + message.length > MAX_WAITING_BYTES) {
        reject(new Error(`more than ${MAX_WAITING_BYTES} bytes waiting for ${channel}`));
      } else {
        waiting.items.push({ message, resolve, reject });
        waiting.bytes += message.length;
      }
    });
  }

  #fly(channel: string, items: Publish[]): void {
    const sent = items.map((item) => this.commands.spublish(channel, item.message).then(item.resolve, item.reject));
    let late: NodeJS.Timeout | undefined;
    const limit = new Promise((resolve) => (late = setTimeout(resolve, FLIGHT_LIMIT_MS)));
    void Promise.race([Promise.allSettled(sent), limit]).then(() => {
      clearTimeout(late);
      const waiting = this.#waiting.get(channel)!;
      if (waiting.items.length === 0) {
        this.#waiting.delete(channel);
        return;
      }
      this.#waiting.set(channel, { items: [], bytes: 0 });
      this.#fly(channel, waiting.items);
    });
  }

  subscribe(channel: string): Promise<unknown> {
    return this.commands.ssubscribe(channel);
  }

  unsubscribe(channel: string): Promise<unknown> {
    return this.commands.sunsubscribe(channel);
  }

  /**
   * Nothing to do: ioredis's sharded subscriber group keeps every channel asked for (even
   * while a master is away) and subscribes it again on the slot's master after a refresh.
   * Asking again would list the channel twice there.
   */
  renew(): Promise<unknown> {
    return Promise.resolve();
  }

  async quit(): Promise<void> {
    clearInterval(this.#refresh);
    await this.commands.quit();
  }

  disconnect(): void {
    clearInterval(this.#refresh);
    this.commands.disconnect();
  }

  /**
   * Nothing to do: the cluster client has one connection per node and makes a failed one
   * again by itself; dropping them all would cost every room for one node's silence.
   */
  reconnect(): void {}
}
