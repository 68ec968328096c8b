import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';
import { BroadcastChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { admit, ConnectionHost } from './connection-host.ts';
import { allocateCounters, ServerCounters } from './counters.ts';
import { createServerLog, type ServerLog } from './log.ts';
import { type ResolvedServerOptions, resolveServerOptions, type ServerOptions } from './options.ts';
import { createWorkerPool } from './pool.ts';
import { SHUTDOWN_MESSAGE } from './worker-boot.ts';

type RunOptions = NonNullable<Parameters<Piscina['run']>[1]>;

/** Cumulative counters since start; `workers` has one entry per thread that serves connections. */
export interface ServerStats {
  activeConnections: number;
  /** Connections accepted and served (refused ones are not counted here). */
  totalConnections: number;
  /** Connections refused with SERVER_FULL. */
  refusedConnections: number;
  /** Complete frames received (each is answered). */
  messages: number;
  bytesIn: number;
  bytesOut: number;
  workers: Array<{ activeConnections: number; totalConnections: number; messages: number }>;
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  readonly options: ResolvedServerOptions;
  stats(): ServerStats;
  /** Graceful stop: no new connections, SHUTTING_DOWN to each open one, flush, close. */
  close(): Promise<void>;
}

/** Longest close() waits for connections before it tears the threads down. */
const CLOSE_DEADLINE_MS = 4_000;

function listenOn(server: net.Server, options: net.ListenOptions): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve(server.address() as net.AddressInfo);
    });
  });
}

/** Every address a client on the same network can use, when bound to a wildcard address. */
export function reachableAddresses(host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host];
  const out: string[] = [];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (host === '0.0.0.0' && a.family !== 'IPv4') continue;
      out.push(a.address);
    }
  }
  return out;
}

/**
 * Starts a server and resolves once it accepts connections.
 * Strategy 'handoff': this thread only accepts and hands each socket to a pool thread.
 * Strategy 'reuseport': every pool thread listens on the port (SO_REUSEPORT).
 * Strategy 'single': this thread serves everything itself.
 */
export async function startServer(input: ServerOptions = {}): Promise<RunningServer> {
  const options = resolveServerOptions(input);
  const log = createServerLog(options);
  const threads = options.strategy === 'single' ? 1 : options.workers;
  const memory = allocateCounters(threads);
  const counters = new ServerCounters(memory);
  const channelName = `handoff-${process.pid}-${randomUUID()}`;
  const control = new BroadcastChannel(channelName);
  const tasks = new Set<Promise<unknown>>();
  let pool: Piscina | undefined;
  let localHost: ConnectionHost | undefined;
  let listener: net.Server;

  log.essential('starting', '[STARTING] server is starting...');

  const track = (task: Promise<unknown>, onFailure: () => void) => {
    tasks.add(task);
    task.then(
      () => tasks.delete(task),
      (err: unknown) => {
        tasks.delete(task);
        onFailure();
        log.essential('worker-error', `[ERROR] a worker failed: ${(err as Error).message}`);
      },
    );
  };

  // The acceptor of strategy handoff: count, then transfer. It never reads,
  // writes or sets an encoding on the socket, or Node refuses the transfer.
  const handOff = (socket: net.Socket) => {
    if (!admit(socket, counters, options, log)) return;
    // piscina's types do not know a net.Socket is transferable (Node >= 24.20 / 26.6).
    const transferList = [socket] as unknown as RunOptions['transferList'];
    // A worker that died with the connection never un-counted it.
    track(pool!.run({ socket }, { transferList }), () => counters.closed());
  };

  try {
    if (options.strategy === 'single') {
      localHost = new ConnectionHost({ options, counters, thread: counters.claimSlot(), log });
      const host = localHost;
      listener = net.createServer({ pauseOnConnect: true }, (socket) => host.accept(socket));
      await listenOn(listener, { host: options.host, port: options.port });
    } else {
      pool = createWorkerPool(options, memory, channelName);
      pool.on('error', (err: Error) => log.essential('worker-error', `[ERROR] worker pool: ${err.message}`));
      // Start every thread now, not when the first client is waiting.
      await Promise.all(Array.from({ length: threads }, () => pool!.run(null, { name: 'warmup' })));
      listener = net.createServer({ pauseOnConnect: true }, handOff);
      if (options.strategy === 'handoff') {
        await listenOn(listener, { host: options.host, port: options.port });
      } else {
        // reuseport: bind here first so port 0 becomes one concrete port for all threads,
        // then let every thread listen on it, then step aside.
        const { port } = await listenOn(listener, { host: options.host, port: options.port, reusePort: true });
        const listening = Array.from({ length: threads }, () =>
          pool!.run({ host: options.host, port }, { name: 'listen' }),
        );
        for (const task of listening) track(task, () => {});
        const failed = Promise.race(listening).then(() => {
          throw new Error('a worker stopped listening during start-up');
        });
        while (counters.listening < threads) await Promise.race([delay(5), failed]);
        failed.catch(() => {});
      }
    }
  } catch (err) {
    control.close();
    await pool?.destroy();
    throw err;
  }

  const address = listener.address() as net.AddressInfo;
  if (options.strategy === 'reuseport') listener.close();

  const stats = (): ServerStats => {
    const perThread = counters.threads();
    let totalConnections = 0;
    let messages = 0;
    let bytesIn = 0;
    let bytesOut = 0;
    for (const t of perThread) {
      totalConnections += t.totalConnections;
      messages += t.messages;
      bytesIn += t.bytesIn;
      bytesOut += t.bytesOut;
    }
    return {
      activeConnections: counters.active,
      totalConnections,
      refusedConnections: counters.refused,
      messages,
      bytesIn,
      bytesOut,
      workers: perThread.map((t) => ({
        activeConnections: t.activeConnections,
        totalConnections: t.totalConnections,
        messages: t.messages,
      })),
    };
  };

  const where = reachableAddresses(options.host).map((h) => (h.includes(':') ? `[${h}]` : h));
  const threadsText = options.strategy === 'single' ? 'main thread only' : `${threads} workers`;
  log.essential(
    'listening',
    `[LISTENING] Server is listening on ${where[0]}:${address.port} (${threadsText}, strategy ${options.strategy}, mode ${options.mode})`,
    {
      host: address.address,
      port: address.port,
      addresses: where,
      workers: threads,
      strategy: options.strategy,
      mode: options.mode,
      ack: options.ack,
      headerBytes: options.headerBytes,
    },
  );
  for (const other of where.slice(1))
    log.essential('listening-also', `[LISTENING] also reachable at ${other}:${address.port}`);

  const statsTimer = startStatsLine(options, log, stats);

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(statsTimer);
      listener.close();
      control.postMessage(SHUTDOWN_MESSAGE);
      const drained = Promise.allSettled([localHost?.shutdown(), ...tasks]);
      await Promise.race([drained, delay(CLOSE_DEADLINE_MS)]);
      await pool?.destroy();
      control.close();
      const final = stats();
      log.essential('stopped', `[STOPPED] ${final.totalConnections} connections, ${final.messages} messages served`, {
        ...final,
      });
      log.flush();
    })();
    return closing;
  };

  return { host: address.address, port: address.port, options, stats, close };
}

/** A line every few seconds while busy: connections per thread, messages/s, bytes/s. */
function startStatsLine(
  options: ResolvedServerOptions,
  log: ServerLog,
  stats: () => ServerStats,
): NodeJS.Timeout | undefined {
  if (options.statsIntervalMs === 0 || !log.verbose) return undefined;
  let last = stats();
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const now = stats();
    const at = performance.now();
    const seconds = (at - lastAt) / 1000;
    const messages = now.messages - last.messages;
    if (messages > 0 || now.activeConnections !== last.activeConnections) {
      const perThread = now.workers.map((w) => w.activeConnections).join('/');
      const rate = Math.round(messages / seconds);
      const inMBs = (now.bytesIn - last.bytesIn) / seconds / 1e6;
      const outMBs = (now.bytesOut - last.bytesOut) / seconds / 1e6;
      log.info(
        'stats',
        `[STATS] ${now.activeConnections} connections (per worker ${perThread}) | ${rate} msg/s | in ${inMBs.toFixed(2)} MB/s | out ${outMBs.toFixed(2)} MB/s`,
        {
          ...now,
          messagesPerSecond: rate,
          bytesInPerSecond: Math.round(inMBs * 1e6),
          bytesOutPerSecond: Math.round(outMBs * 1e6),
        },
      );
    }
    last = now;
    lastAt = at;
  }, options.statsIntervalMs);
  timer.unref();
  return timer;
}
