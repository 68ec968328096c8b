import type net from 'node:net';
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { WorkerStartError } from '../../protocol/index.ts';
import type { ServerCounters } from '../observe/counters.ts';
import type { ServerLog } from '../observe/log.ts';
import type { ResolvedServerOptions } from '../options.ts';
import { type ControlMessage, SERVE_CONNECTION_TASK, type WorkerBoot } from './worker-boot.ts';
import { siblingModule } from '../../options/sibling-module.ts';

type RunOptions = NonNullable<Parameters<Piscina['run']>[1]>;
/** What piscina tells of each of its threads (its PiscinaWorker, which it does not export). */
interface PoolWorker {
  readonly id: number;
  readonly currentUsage: number;
  readonly terminating: boolean;
  readonly destroyed: boolean;
}

/** A thread that is not ready by then (it failed without a word) fails the start-up. */
const START_DEADLINE_MS = 30_000;
/** Tasks beyond the connection limit a thread may hold (none are expected: headroom only). */
const SPARE_TASKS_PER_WORKER = 16;

/**
 * The worker-thread pool (piscina) and what the main thread knows of it. Each
 * connection is a long-lived task, so:
 * - `atomics: 'disabled'`: the default 'sync' parks a thread in Atomics.wait
 *   whenever it has no task running; a thread that owns live sockets (or a
 *   reuseport listener) must never stop its event loop;
 * - `concurrentTasksPerWorker` as high as the connection limit: one thread holds
 *   thousands of connections at once;
 * - fixed min = max threads and no idle timeout: threads own sockets and must
 *   never be reaped;
 * - our own least-busy balancer (piscina's rule: the thread holding the fewest
 *   tasks), which also records where each connection went, so that when a
 *   thread dies the connections lost with it are known exactly.
 *
 * A thread that dies loses only its own connections: piscina starts a
 * replacement, the dead thread's counter slot is given back, and the crash is
 * logged with its cause.
 */
export class WorkerPool {
  readonly #piscina: Piscina;
  readonly #control: BroadcastChannel;
  readonly #counters: ServerCounters;
  readonly #log: ServerLog;
  /** Connection tasks handed to each thread (by thread id), for the accounting when one dies. */
  readonly #routed = new Map<number, number>();
  readonly #ready = new Set<number>();
  readonly #stopped = new Set<number>();
  /** Everyone waiting for a condition on the threads (started(), stop()): each is checked at every change. */
  readonly #waiters = new Set<() => void>();
  /** The error piscina reported last: the cause of the death being handled. */
  #lastFailure: Error | undefined;
  /** A thread failed before every thread was ready: start-up has failed. */
  #startFailure: Error | undefined;
  #allReady = false;
  #stopping = false;
  #address: net.AddressInfo | null = null;

  readonly #onThreadGone: (threadId: number) => void;

  constructor(
    options: ResolvedServerOptions,
    boot: WorkerBoot,
    counters: ServerCounters,
    log: ServerLog,
    onThreadGone: (threadId: number) => void = () => {},
  ) {
    this.#onThreadGone = onThreadGone;
    this.#counters = counters;
    this.#log = log;
    this.#control = new BroadcastChannel(boot.channel);
    this.#control.onmessage = (event) => {
      const message = (event as { data: ControlMessage }).data;
      if (message.type === 'ready') {
        this.#ready.add(message.threadId);
        this.#address ??= message.address;
        // After start-up, a ready thread is the replacement of one that died: say that it serves now.
        if (this.#allReady && !this.#stopping) {
          this.#log.essential(
            'worker-replaced',
            `[INFO] worker thread ${message.threadId} serves in place of the one that died`,
            {
              threadId: message.threadId,
            },
          );
        }
      } else if (message.type === 'stopped') {
        this.#stopped.add(message.threadId);
      }
      this.#wake();
    };
    const maximumUsage = options.maxConnections + SPARE_TASKS_PER_WORKER;
    this.#piscina = new Piscina({
      filename: siblingModule('worker', import.meta.url).href,
      minThreads: options.workers,
      maxThreads: options.workers,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: maximumUsage,
      atomics: 'disabled',
      workerData: boot,
      loadBalancer: (task, workers) => {
        const chosen = leastBusy(workers, maximumUsage);
        if (chosen && task.name === SERVE_CONNECTION_TASK) {
          this.#routed.set(chosen.id, (this.#routed.get(chosen.id) ?? 0) + 1);
        }
        return chosen;
      },
    });
    this.#piscina.on('error', (err: Error) => {
      this.#lastFailure = err;
      if (!this.#allReady) {
        this.#startFailure ??= err;
        this.#wake();
      }
    });
    this.#piscina.on('workerDestroy', (worker: PoolWorker) => this.#onWorkerGone(worker.id));
  }

  /** Where the threads listen (strategy reuseport: the port the first thread bound); null under handoff. */
  get address(): net.AddressInfo | null {
    return this.#address;
  }

  /**
   * Resolves once every thread is ready to serve (reuseport: listening); rejects if one
   * fails to start, if stop() is called first, or after START_DEADLINE_MS.
   */
  async started(threads: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, START_DEADLINE_MS);
    });
    const over = () => this.#ready.size >= threads || this.#startFailure !== undefined || this.#stopping;
    try {
      await Promise.race([this.#until(over), late]);
    } finally {
      clearTimeout(timer);
    }
    const failure = this.#startFailure;
    if (failure) throw new WorkerStartError(`a worker thread failed to start: ${failure.message}`, { cause: failure });
    if (this.#ready.size < threads) {
      const why = this.#stopping ? 'the pool was stopped' : `not ready after ${START_DEADLINE_MS / 1000} s`;
      throw new WorkerStartError(`${threads - this.#ready.size} of ${threads} worker threads not started: ${why}`);
    }
    this.#allReady = true;
  }

  /** Transfers an admitted socket to the least busy thread; the task settles when the connection closes. */
  serve(socket: net.Socket): void {
    // piscina's types do not know a net.Socket is transferable (Node >= 24.20 / 26.6).
    const transferList = [socket] as unknown as RunOptions['transferList'];
    this.#piscina.run({ socket }, { name: SERVE_CONNECTION_TASK, transferList }).catch((err: Error) => {
      // The thread died with the connection: #onWorkerGone accounts for it and logs the cause once.
      this.#lastFailure = err;
    });
  }

  /**
   * Asks every thread to stop (SHUTTING_DOWN to its connections) and resolves once
   * each has said it stopped, or at the deadline; then ends the threads.
   */
  async stop(deadline: Promise<void>): Promise<void> {
    this.#stopping = true;
    this.#wake(); // a started() still waiting gives up now
    // Only threads that started can say they stopped; the others are ended by destroy().
    const live = this.#piscina.threads.map((t) => t.threadId).filter((id) => this.#ready.has(id));
    this.#control.postMessage({ type: 'shutdown' } satisfies ControlMessage);
    await Promise.race([this.#until(() => live.every((id) => this.#stopped.has(id))), deadline]);
    this.#waiters.clear();
    this.#control.close();
    await this.#piscina.destroy();
  }

  /** Resolves once `condition()` holds, checked at every change the threads report. */
  #until(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!condition()) return;
        this.#waiters.delete(check);
        resolve();
      };
      this.#waiters.add(check);
    });
  }

  #wake(): void {
    for (const check of [...this.#waiters]) check();
  }

  #onWorkerGone(threadId: number): void {
    if (this.#stopping) return;
    const { lostConnections } = this.#counters.retireSlot(threadId, this.#routed.get(threadId) ?? 0);
    this.#routed.delete(threadId);
    this.#ready.delete(threadId);
    // Chat mode: the other threads drop its members (their rooms get !LEFT).
    this.#control.postMessage({ type: 'gone', threadId } satisfies ControlMessage);
    this.#onThreadGone(threadId);
    // piscina hands the cause to the thread's tasks (or its 'error' event) right after this event.
    setImmediate(() => {
      const cause = this.#lastFailure;
      const lost = `${lostConnections} connection${lostConnections === 1 ? '' : 's'} lost`;
      this.#log.essential(
        'worker-died',
        `[ERROR] worker thread ${threadId} died: ${cause?.message ?? 'no cause reported'}; ${lost}, a new thread takes its place`,
        { threadId, lostConnections, cause: cause?.message },
      );
    });
  }
}

/** piscina's own rule: the thread with the fewest tasks, if it has room for one more. */
function leastBusy<W extends PoolWorker>(workers: readonly W[], maximumUsage: number): W | null {
  let best: W | null = null;
  for (const worker of workers) {
    if (worker.terminating || worker.destroyed || worker.currentUsage >= maximumUsage) continue;
    if (best === null || worker.currentUsage < best.currentUsage) best = worker;
  }
  return best;
}
