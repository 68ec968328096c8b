// The four ways chat servers are one chat, as a table the chat tests run through the server:
// local (no --bus: one server, its worker threads are the sides), one redis-server, a
// 3-master Redis Cluster, a 3-node routed NATS cluster. Each entry starts its service once
// (for a whole describe(): suiteScope()) and says which `--bus` flag the `i`th server takes.
import type { TestContext } from 'node:test';
import { REDIS_TIME_SCALE_ENV } from '../../src/server/chat/injected-faults.ts';
import { listening, nthEvent, run, type Spawned } from './process.ts';
import { natsAvailable, type NatsClusterProcess, startNatsCluster } from './nats-cluster.ts';
import { redisClusterAvailable, type RedisClusterProcess, startRedisCluster } from './redis-cluster.ts';
import { redisAvailable, type RedisProcess, startRedis } from './redis.ts';

export type ChatBusKind = 'local' | 'redis' | 'redis-cluster' | 'nats';

export interface ChatServer {
  p: Spawned;
  address: { host: string; port: number };
  metricsPort: number;
}

/**
 * The bus's times halved (heartbeat 1 s, a dead server's members gone within ~6 s instead of
 * ~12 s), as the fault tests have them: long enough for a busy machine, short for a test.
 */
export const BUS_TEST_ENV = { [REDIS_TIME_SCALE_ENV]: '0.5' };

/** `bin/handoff serve --mode chat` with metrics, JSON lines, `bus` (its --bus flag, or none) and `args`. */
export async function chatServerOn(
  t: TestContext,
  bus: string[],
  args: string[] = [],
  env?: NodeJS.ProcessEnv,
): Promise<ChatServer> {
  const p = run(t, ['serve', '--port', '0', '--json', '--mode', 'chat', ...bus, '--metrics-port', '0', ...args], env);
  const address = await listening(p);
  const metricsPort = Number((await nthEvent(p, 'metrics')).port);
  return { p, address, metricsPort };
}

export interface ChatBusService {
  kind: ChatBusKind;
  /** The flags that put server `i` on this bus (none for local). */
  flags(i: number): string[];
  redis?: RedisProcess;
  cluster?: RedisClusterProcess;
  nats?: NatsClusterProcess;
}

export interface ChatBusTarget {
  kind: ChatBusKind;
  skip: string | false;
  /** Whether several server processes share the chat (false: one server, its threads are the sides). */
  servers: boolean;
  start(t: TestContext): Promise<ChatBusService>;
}

const TARGETS: ChatBusTarget[] = [
  {
    kind: 'local',
    skip: false,
    servers: false,
    start: async () => ({ kind: 'local', flags: () => [] }),
  },
  {
    kind: 'redis',
    skip: redisAvailable() ? false : 'redis-server is not installed (apt-get install redis-server)',
    servers: true,
    async start(t) {
      const redis = await startRedis(t);
      return { kind: 'redis', redis, flags: () => ['--bus', redis.url] };
    },
  },
  {
    kind: 'redis-cluster',
    skip: redisClusterAvailable()
      ? false
      : 'redis-server or redis-cli is not installed (apt-get install redis-server redis-tools)',
    servers: true,
    async start(t) {
      const cluster = await startRedisCluster(t, 3);
      const seeds = cluster.seeds.map((s) => `${s.host}:${s.port}`).join(',');
      return { kind: 'redis-cluster', cluster, flags: () => ['--bus', `redis-cluster://${seeds}`] };
    },
  },
  {
    kind: 'nats',
    skip: natsAvailable() ? false : 'nats-server is not installed (apt-get install nats-server)',
    servers: true,
    async start(t) {
      const nats = await startNatsCluster(t, 3);
      // Each server on its own node (it learns the others from the cluster), so that what
      // crosses between servers crosses the routes too.
      return { kind: 'nats', nats, flags: (i) => ['--bus', nats.url(i % nats.nodes.length)] };
    },
  },
];
export const CHAT_BUSES: readonly ChatBusTarget[] = Object.freeze(TARGETS);

/**
 * A context for what a describe() starts once (services, servers), whose `after` hooks run,
 * last first, when the suite's own after() calls close(): the helpers take a TestContext only
 * for t.after, and a before() hook's own context would clean up at the end of that hook.
 */
export function suiteScope(): { t: TestContext; close(): Promise<void> } {
  const hooks: Array<() => unknown> = [];
  const t = { after: (fn: () => unknown) => void hooks.push(fn) } as unknown as TestContext;
  return {
    t,
    async close() {
      for (const hook of hooks.reverse()) await hook();
    },
  };
}
