/**
 * What a chat measurement runs against: N handoff chat servers (1 or more
 * workers each) on one bus the bench starts (--servers, --bus: their own
 * threads, a redis-server, a 3-master Redis Cluster or a 3-node NATS cluster),
 * a nats-server or a redis-server started on a free loopback port, or a
 * running server (--target). Each is seen as its endpoints, the processes whose CPU it
 * costs, and (handoff) its stats lines.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerStats } from '../../../server/server.ts';
import type { Strategy } from '../../../server/options.ts';
import { startEmbeddedServer, type ServerUnderTest } from '../embedded-server.ts';
import { startListeningProgram, type StartedProcess } from '../processes.ts';
import { processCpuSeconds } from '../../shared/system.ts';
import type { BenchBus, TargetKind } from '../../results/chat-result.ts';
import { type BusPrograms, type BusService, startBusService, startRedisNode } from './bus-services.ts';

/** One line of a chat run's chart: a server and how it is run. */
export interface ChatVariant {
  name: string;
  kind: TargetKind;
  /** Embedded handoff: worker threads of each server. */
  serverWorkers: number | null;
  /** Embedded handoff: how many servers, and the bus that joins them (`local`: one server alone). */
  servers: number;
  bus: BenchBus;
  /** A running server (--target) instead of one started here. */
  external: { host: string; port: number } | null;
}

export function variantName(
  kind: TargetKind,
  serverWorkers: number | null,
  servers: number,
  bus: BenchBus,
  external: boolean,
): string {
  if (external) return `${kind} target`;
  if (kind !== 'handoff') return `${kind}-server`;
  return `handoff w${serverWorkers}${bus === 'local' ? '' : ` x${servers} +${bus}`}`;
}

export interface ChatTarget {
  readonly variant: ChatVariant;
  readonly endpoints: Array<{ host: string; port: number }>;
  /** The processes serving the room (the handoff servers and their bus's), for CPU and the report. */
  readonly processes: Array<{ name: string; pid: number }>;
  /** Messages and deliveries the handoff servers counted (summed); null for other servers. */
  stats(): Promise<{ messages: number; deliveries: number } | null>;
  /** Waits (bounded) until the servers have closed the previous measurement's connections. */
  settle(): Promise<void>;
  /** CPU seconds of all the processes together, or null when they are not ours. */
  cpuSeconds(): number | null;
  stop(): Promise<void>;
}

export interface TargetStartOptions extends BusPrograms {
  strategy: Strategy;
  headerBytes: number;
  maxConnections: number;
  serverCommand: readonly string[];
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
  // Pub/sub output buffer limits stay Redis's defaults.
  return startRedisNode(program, 'redis-server', ['--maxclients', String(maxClients)]);
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
  const bus = variant.bus === 'local' ? null : await startBusService(variant.bus, o);
  const servers = await startServers(variant, o, bus);
  const processes = servers.map((s, i) => ({ name: servers.length > 1 ? `handoff ${i + 1}` : 'handoff', pid: s.pid! }));
  if (bus) processes.push(...bus.processes);
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
      await bus?.stop();
    },
  };
}

/** The variant's handoff servers, server i on `bus.urlFor(i)`; a failure stops the ones started and the bus. */
async function startServers(variant: ChatVariant, o: TargetStartOptions, bus: BusService | null) {
  const servers: ServerUnderTest[] = [];
  try {
    for (let i = 0; i < variant.servers; i++) {
      servers.push(
        await startEmbeddedServer({
          workers: variant.serverWorkers!,
          strategy: o.strategy,
          mode: 'chat',
          headerBytes: o.headerBytes,
          maxConnections: o.maxConnections,
          command: o.serverCommand,
          ...(bus ? { bus: bus.urlFor(i) } : {}),
        }),
      );
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.stop()));
    await bus?.stop();
    throw err;
  }
  return servers;
}
