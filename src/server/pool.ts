import type net from 'node:net';
import { BroadcastChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { WorkerStartError } from '../protocol/index.ts';
import type { ServerCounters } from './counters.ts';
import type { ServerLog } from './log.ts';
import type { ResolvedServerOptions } from './options.ts';
import { type ControlMessage, SERVE_CONNECTION_TASK, type WorkerBoot } from './worker-boot.ts';
import { siblingModule } from '../options/sibling-module.ts';

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
  #onControl: (() => void) | null = null;
  /** The error piscina reported last: the cause of the death being handled. */
  #lastFailure: Error | undefined;
  #stopping = false;

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
      if (message.type === 'ready') this.#ready.add(message.threadId);
      else if (message.type === 'stopped') this.#stopped.add(message.threadId);
      this.#onControl?.();
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
    });
    this.#piscina.on('workerDestroy', (worker: PoolWorker) => this.#onWorkerGone(worker.id));
  }

  /** Resolves once every thread is ready to serve (reuseport: listening); rejects if one fails to start. */
  async started(threads: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const failed = new Promise<never>((_, reject) => {
      this.#piscina.once('error', (err: Error) =>
        reject(new WorkerStartError(`a worker thread failed to start: ${err.message}`, { cause: err })),
      );
      timer = setTimeout(
        () =>
          reject(
            new WorkerStartError(
              `${threads - this.#ready.size} of ${threads} worker threads not ready after ${START_DEADLINE_MS / 1000} s`,
            ),
          ),
        START_DEADLINE_MS,
      );
    });
    failed.catch(() => {});
    try {
      await Promise.race([this.#until(() => this.#ready.size >= threads), failed]);
    } finally {
      clearTimeout(timer);
    }
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
    const live = this.#piscina.threads.map((t) => t.threadId);
    this.#control.postMessage({ type: 'shutdown' } satisfies ControlMessage);
    await Promise.race([this.#until(() => live.every((id) => this.#stopped.has(id))), deadline]);
    this.#onControl = null;
    this.#control.close();
    await this.#piscina.destroy();
  }

  #until(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      this.#onControl = () => {
        if (!condition()) return;
        this.#onControl = null;
        resolve();
      };
    });
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
