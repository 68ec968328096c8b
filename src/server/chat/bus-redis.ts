/**
 * The bus on one redis-server (`--bus redis://host:port`, today's `--redis`): PUBLISH and
 * SUBSCRIBE per room on `handoff:chat:<room>`, the hashes and keys of bus-redis-core.ts
 * under `handoff:`. Two connections: one for commands and publishing (one connection, so
 * this server's batches stay in order), one in subscriber mode.
 *
 * One Redis process carries every message of every room: the bus to outgrow is this one
 * (bus-redis-cluster.ts, bus-nats.ts).
 */
import { Redis } from 'ioredis';
import { type RedisLayout, redisFamilyBus, type RedisTransport, type RedisTransportEvents } from './bus-redis-core.ts';
import {
  type CommonBusOptions,
  COMMAND_TIMEOUT_MS,
  retryDelayMs,
  type ServerBus,
  type ServerBusHandlers,
} from './server-bus.ts';

export interface RedisBusOptions extends CommonBusOptions {
  /** `redis://host:port` (or `rediss://` for TLS), validated by the caller. */
  url: string;
}

const KEY = 'handoff:';
export const REDIS_LAYOUT: RedisLayout = Object.freeze({
  room: (room: string) => `${KEY}room:${room}`,
  channel: (room: string) => `${KEY}chat:${room}`,
  members: (server: string) => `${KEY}members:${server}`,
  alive: (server: string) => `${KEY}alive:${server}`,
  reapLock: (server: string) => `${KEY}reap:${server}`,
  reaped: (server: string) => `${KEY}reaped:${server}`,
  servers: `${KEY}servers`,
});

export function createRedisBus(options: RedisBusOptions, handlers: ServerBusHandlers): ServerBus {
  return redisFamilyBus('redis', REDIS_LAYOUT, (id) => new StandaloneTransport(options, id), handlers, options);
}

class StandaloneTransport implements RedisTransport {
  readonly commands: Redis;
  readonly #sub: Redis;
  #up = false;

  constructor(options: RedisBusOptions, serverId: string) {
    const common = {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      // Commands fail at once while Redis is away: the chat goes on within the server meanwhile.
      enableOfflineQueue: false,
      retryStrategy: retryDelayMs,
      commandTimeout: options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS,
      connectTimeout: options.commandTimeoutMs ?? COMMAND_TIMEOUT_MS,
    };
    this.commands = new Redis(options.url, { ...common, connectionName: `handoff-${serverId}-pub` });
    this.#sub = new Redis(options.url, { ...common, connectionName: `handoff-${serverId}-sub` });
    for (const client of [this.commands, this.#sub]) client.on('error', () => {}); // 'close' reports it
  }

  listen(events: RedisTransportEvents): void {
    const bothReady = () => {
      if (this.#up || this.commands.status !== 'ready' || this.#sub.status !== 'ready') return;
      this.#up = true;
      events.up();
    };
    const lost = () => {
      if (!this.#up) return;
      this.#up = false;
      events.down();
    };
    for (const client of [this.commands, this.#sub]) {
      client.on('ready', bothReady);
      client.on('close', lost);
    }
    this.#sub.on('messageBuffer', (channel: Buffer, message: Buffer) => events.message(channel, message));
  }

  async connect(): Promise<void> {
    await Promise.all([this.commands.connect(), this.#sub.connect()]);
  }

  publish(channel: string, message: Buffer): Promise<unknown> {
    return this.commands.publish(channel, message);
  }

  subscribe(channel: string): Promise<unknown> {
    return this.#sub.subscribe(channel);
  }

  unsubscribe(channel: string): Promise<unknown> {
    return this.#sub.unsubscribe(channel);
  }

  /** Subscriptions asked for while Redis was away were refused (no offline queue): asked again. */
  renew(channels: string[]): Promise<unknown> {
    return channels.length > 0 ? this.#sub.subscribe(...channels) : Promise.resolve();
  }

  async quit(): Promise<void> {
    await Promise.all([this.commands.quit(), this.#sub.quit()]);
  }

  disconnect(): void {
    this.commands.disconnect();
    this.#sub.disconnect();
  }

  /** Both connections dropped and made again (ioredis reconnects them): a link that loses bytes never closes. */
  reconnect(): void {
    this.commands.disconnect(true);
    this.#sub.disconnect(true);
  }
}
