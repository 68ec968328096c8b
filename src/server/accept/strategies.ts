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
import { Admission, handOffTo } from './acceptor.ts';
import { injectedFaults } from '../session/injected-faults.ts';
import type { ServerCounters, SharedCountersMemory } from '../observe/counters.ts';
import type { ServerLog } from '../observe/log.ts';
import type { ResolvedServerOptions, Strategy } from '../options.ts';
import { WorkerPool } from './pool.ts';
import { allocatePortCell, listenOn } from './reuseport-group.ts';
import { ThreadSessions } from '../session/thread-sessions.ts';
import type { TlsMaterial } from '../prelude/tls.ts';

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
  const admission = new Admission(counters, options, log, tls);
  // serve() never rejects.
  const listener = net.createServer(
    { pauseOnConnect: true },
    admission.onConnection((socket) => void sessions.serve(socket)),
  );
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

async function startPool(context: StrategyContext, reuseport: SharedArrayBuffer | null): Promise<WorkerPool> {
  const { options, counters, memory, log, chat, tls } = context;
  const channel = `handoff-${process.pid}-${randomUUID()}`;
  const boot = { options, counters: memory, channel, reuseport, chat, tls };
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
  const { options, counters, log, tls } = context;
  const pool = await startPool(context, null);
  const listener = net.createServer(
    { pauseOnConnect: true },
    handOffTo(pool, new Admission(counters, options, log, tls)),
  );
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
  // The main thread never listens: the first pool thread binds the port, the others join
  // it (reuseport-group.ts), so the port accepts only once a thread can serve.
  const pool = await startPool(context, allocatePortCell());
  return {
    address: pool.address!,
    threads: context.options.workers,
    stop: (deadline) => pool.stop(deadline),
  };
}

export const START_STRATEGY: Record<Strategy, (context: StrategyContext) => Promise<Serving>> = {
  handoff: startHandoff,
  reuseport: startReuseport,
  single: startSingle,
};
