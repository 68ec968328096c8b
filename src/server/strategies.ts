/**
 * How each strategy starts serving and how it stops; all three run the same
 * session code (ThreadSessions, Session).
 * - handoff: the main thread only accepts and hands each socket to a pool thread;
 * - reuseport: every pool thread listens on the port (SO_REUSEPORT), the kernel spreads connections;
 * - single: the main thread serves everything itself.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { threadId } from 'node:worker_threads';
import { guardAccepts } from './accept-guard.ts';
import { admit, handOffTo } from './acceptor.ts';
import { injectedFaults } from './injected-faults.ts';
import type { ServerCounters, SharedCountersMemory } from './counters.ts';
import type { ServerLog } from './log.ts';
import type { ResolvedServerOptions, Strategy } from './options.ts';
import { WorkerPool } from './pool.ts';
import { ThreadSessions } from './thread-sessions.ts';
import type { TlsMaterial } from './tls.ts';

export interface StrategyContext {
  options: ResolvedServerOptions;
  log: ServerLog;
  counters: ServerCounters;
  memory: SharedCountersMemory;
  /** Chat mode: the bus every thread of this server shares, and whether a Redis bridge is on it. */
  chat: { busName: string; bridge: boolean } | null;
  /** TLS: the certificate and key every serving thread builds its context from. */
  tls: TlsMaterial | null;
  /** A pool thread has died (after its slot was given back). */
  onThreadGone(threadId: number): void;
}

/** A strategy that is serving. */
export interface Serving {
  readonly address: net.AddressInfo;
  /** Threads that serve connections. */
  readonly threads: number;
  /**
   * Stops accepting, sends SHUTTING_DOWN to every connection, and resolves once all
   * are flushed and closed, or at `deadline`, whichever comes first.
   */
  stop(deadline: Promise<void>): Promise<void>;
}

function listenOn(server: net.Server, options: net.ListenOptions): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve(server.address() as net.AddressInfo);
    });
  });
}

async function startSingle({ options, log, counters, chat, tls }: StrategyContext): Promise<Serving> {
  const sessions = new ThreadSessions({
    options,
    counters,
    thread: counters.claimSlot(threadId),
    log,
    faults: injectedFaults(), // only tests set it
    chat: chat && { threadId, ...chat },
    tls,
  });
  await sessions.chat?.ready;
  const listener = net.createServer({ pauseOnConnect: true }, (socket) => {
    if (admit(socket, counters, options, log)) void sessions.serve(socket); // serve() never rejects
  });
  const listenOptions = { host: options.host, port: options.port };
  const address = await listenOn(listener, listenOptions);
  const guard = guardAccepts(listener, listenOptions, log);
  return {
    address,
    threads: 1,
    async stop(deadline) {
      guard.stop();
      listener.close();
      await Promise.race([sessions.shutdown(), deadline]);
    },
  };
}

async function startPool(context: StrategyContext, listenPort: number | null): Promise<WorkerPool> {
  const { options, counters, memory, log, chat, tls } = context;
  const channel = `handoff-${process.pid}-${randomUUID()}`;
  const boot = { options, counters: memory, channel, listenPort, chat, tls };
  const pool = new WorkerPool(options, boot, counters, log, (threadId) => context.onThreadGone(threadId));
  try {
    await pool.started(options.workers);
  } catch (err) {
    await pool.stop(Promise.resolve());
    throw err;
  }
  return pool;
}

async function startHandoff(context: StrategyContext): Promise<Serving> {
  const { options, counters, log } = context;
  const pool = await startPool(context, null);
  const listener = net.createServer({ pauseOnConnect: true }, handOffTo(pool, counters, options, log));
  const listenOptions = { host: options.host, port: options.port };
  let address: net.AddressInfo;
  try {
    address = await listenOn(listener, listenOptions);
  } catch (err) {
    await pool.stop(Promise.resolve());
    throw err;
  }
  const guard = guardAccepts(listener, listenOptions, log);
  return {
    address,
    threads: options.workers,
    async stop(deadline) {
      guard.stop();
      listener.close();
      await pool.stop(deadline);
    },
  };
}

async function startReuseport(context: StrategyContext): Promise<Serving> {
  const { options, counters, log } = context;
  // Bind here first so that port 0 becomes one concrete port for every thread; whatever
  // reaches this listener before it steps aside is handed off like strategy handoff.
  let pool: WorkerPool | undefined;
  const probe = net.createServer({ pauseOnConnect: true }, (socket) => {
    if (pool) handOffTo(pool, counters, options, log)(socket);
    else socket.destroy();
  });
  const address = await listenOn(probe, { host: options.host, port: options.port, reusePort: true });
  try {
    pool = await startPool(context, address.port);
  } finally {
    probe.close();
  }
  const serving = pool;
  return {
    address,
    threads: options.workers,
    stop: (deadline) => serving.stop(deadline),
  };
}

export const START_STRATEGY: Record<Strategy, (context: StrategyContext) => Promise<Serving>> = {
  handoff: startHandoff,
  reuseport: startReuseport,
  single: startSingle,
};
