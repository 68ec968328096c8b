/**
 * The cross-server bus a `--bus` URL names (options.ts parsed it): one ServerBus
 * implementation per service, chosen at start-up. Nothing else in the chat knows which.
 */
import type { BusSpec } from '../options.ts';
import { createNatsBus } from './bus-nats.ts';
import { createRedisClusterBus } from './bus-redis-cluster.ts';
import { createRedisBus } from './bus-redis.ts';
import type { ServerBus, ServerBusHandlers } from './server-bus.ts';

/** `record` is what this server publishes with its heartbeat (its limits, for the others' start-up check). */
export function openServerBus(spec: BusSpec, record: string, handlers: ServerBusHandlers): ServerBus {
  switch (spec.kind) {
    case 'redis':
      return createRedisBus({ url: spec.url, record }, handlers);
    case 'redis-cluster':
      return createRedisClusterBus({ nodes: spec.nodes, record }, handlers);
    case 'nats':
      return createNatsBus({ servers: spec.servers, record }, handlers);
  }
}
