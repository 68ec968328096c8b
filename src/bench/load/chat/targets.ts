/**
 * What a chat measurement runs against: a handoff chat server (1 or more
 * workers), two of them joined by a Redis the bench starts (--redis), a
 * nats-server or a redis-server started on a free loopback port, or a running
 * server (--target). Each is seen as its endpoints, the processes whose CPU it
 * costs, and (handoff) its stats lines.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerStats } from '../../../server/server.ts';
import type { Strategy } from '../../../server/options.ts';
import { startEmbeddedServer, type ServerUnderTest } from '../embedded-server.ts';
import { startListeningProgram, type StartedProcess } from '../processes.ts';
import { processCpuSeconds } from '../../shared/system.ts';
import type { TargetKind } from '../../results/chat-result.ts';

/** One line of a chat run's chart: a server and how it is run. */
export interface ChatVariant {
  name: string;
  kind: TargetKind;
  /** Embedded handoff: worker threads of each server. */
  serverWorkers: number | null;
  /** Embedded handoff: two servers on a Redis the bench starts. */
  redis: boolean;
  /** A running server (--target) instead of one started here. */
  external: { host: string; port: number } | null;
}

export function variantName(kind: TargetKind, serverWorkers: number | null, redis: boolean, external: boolean): string {
  if (external) return `${kind} target`;
  if (kind !== 'handoff') return `${kind}-server`;
  return `handoff w${serverWorkers}${redis ? ' x2 +redis' : ''}`;
}

export interface ChatTarget {
  readonly variant: ChatVariant;
  readonly endpoints: Array<{ host: string; port: number }>;
  /** The processes serving the room (both handoff servers and their Redis), for CPU and the report. */
  readonly processes: Array<{ name: string; pid: number }>;
  /** Messages and deliveries the handoff servers counted (summed); null for other servers. */
  stats(): Promise<{ messages: number; deliveries: number } | null>;
  /** Waits (bounded) until the servers have closed the previous measurement's connections. */
  settle(): Promise<void>;
  /** CPU seconds of all the processes together, or null when they are not ours. */
  cpuSeconds(): number | null;
  stop(): Promise<void>;
}

export interface TargetStartOptions {
  strategy: Strategy;
  headerBytes: number;
  maxConnections: number;
  serverCommand: readonly string[];
  natsServer: string;
  redisServer: string;
}

const SETTLE_LIMIT_MS = 5_000;

function sumStats(all: Array<ServerStats | null>): { messages: number; deliveries: number } | null {
  if (all.some((s) => s === null)) return null;
  return {
    messages: all.reduce((a, s) => a + s!.messages, 0),
    deliveries: all.reduce((a, s) => a + s!.deliveries, 0),
  };
}

function startNats(program: string): Promise<StartedProcess> {
  return startListeningProgram('nats-server', program, (port) => ['-a', '127.0.0.1', '-p', String(port)]);
}

/** A redis-server on a free loopback port, no persistence (the chat bench's comparison, the chat fuzz's bus). */
export function startRedisServer(program: string, maxClients: number): Promise<StartedProcess> {
  // No persistence, loopback only; pub/sub output buffer limits stay Redis's defaults.
  return startListeningProgram('redis-server', program, (port) => [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--maxclients',
    String(maxClients),
    '--loglevel',
    'warning',
  ]);
}

function ofPrograms(variant: ChatVariant, programs: StartedProcess[]): ChatTarget {
  return {
    variant,
    endpoints: programs.map((p) => ({ host: '127.0.0.1', port: p.port })),
    processes: programs.map((p) => ({ name: p.name, pid: p.pid })),
    stats: () => Promise.resolve(null),
    settle: () => sleep(50),
    cpuSeconds: () => sumCpu(programs.map((p) => p.pid)),
    stop: async () => {
      await Promise.all(programs.map((p) => p.stop()));
    },
  };
}

function sumCpu(pids: number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    const s = processCpuSeconds(pid);
    if (s === null) return null;
    total += s;
  }
  return total;
}

/** Starts (or, for --target, describes) what `variant` measures. */
export async function startChatTarget(variant: ChatVariant, o: TargetStartOptions): Promise<ChatTarget> {
  if (variant.external) {
    const { host, port } = variant.external;
    return {
      variant,
      endpoints: [{ host, port }],
      processes: [],
      stats: () => Promise.resolve(null),
      settle: () => sleep(50),
      cpuSeconds: () => null,
      stop: () => Promise.resolve(),
    };
  }
  if (variant.kind === 'nats') return ofPrograms(variant, [await startNats(o.natsServer)]);
  if (variant.kind === 'redis') return ofPrograms(variant, [await startRedisServer(o.redisServer, o.maxConnections)]);
  const bridge = variant.redis ? await startRedisServer(o.redisServer, 64) : null;
  const servers: ServerUnderTest[] = [];
  try {
    for (let i = 0; i < (bridge ? 2 : 1); i++) {
      servers.push(
        await startEmbeddedServer({
          workers: variant.serverWorkers!,
          strategy: o.strategy,
          mode: 'chat',
          headerBytes: o.headerBytes,
          maxConnections: o.maxConnections,
          command: o.serverCommand,
          ...(bridge ? { redis: `redis://127.0.0.1:${bridge.port}` } : {}),
        }),
      );
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    await bridge?.stop();
    throw err;
  }
  const processes = servers.map((s, i) => ({ name: servers.length > 1 ? `handoff ${i + 1}` : 'handoff', pid: s.pid! }));
  if (bridge) processes.push({ name: 'redis-server (bridge)', pid: bridge.pid });
  return {
    variant,
    endpoints: servers.map((s) => ({ host: s.host, port: s.port })),
    processes,
    stats: async () => sumStats(await Promise.all(servers.map((s) => s.stats()))),
    async settle() {
      const deadline = performance.now() + SETTLE_LIMIT_MS;
      for (;;) {
        const all = await Promise.all(servers.map((s) => s.stats()));
        if (all.every((s) => !s || s.activeConnections === 0) || performance.now() > deadline) return;
        await sleep(50);
      }
    },
    cpuSeconds: () => sumCpu(processes.map((p) => p.pid)),
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
      await bridge?.stop();
    },
  };
}
