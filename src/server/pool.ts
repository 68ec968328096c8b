import { Piscina } from 'piscina';
import type { SharedCountersMemory } from './counters.ts';
import type { ResolvedServerOptions } from './options.ts';
import type { WorkerBoot } from './worker-boot.ts';

/** Tasks beyond the connection limit: the reuseport listen task and warm-ups. */
const SPARE_TASKS_PER_WORKER = 16;

/**
 * The worker-thread pool. Each connection is a long-lived task, so:
 * - `atomics: 'disabled'`: the default 'sync' parks a thread in Atomics.wait
 *   whenever it has no task running. Every connection is a running task, but a
 *   thread must never stop its event loop while it may own any handle (a socket
 *   in transfer, a reuseport listener, a last flush): we never let it block;
 * - `concurrentTasksPerWorker` as high as the connection limit: one thread holds
 *   thousands of connections at once;
 * - fixed min = max threads and no idle timeout: threads own sockets and must never be reaped.
 * piscina's default least-busy balancer then sends each new connection to the
 * thread that holds the fewest, which is the balance we want.
 */
export function createWorkerPool(
  options: ResolvedServerOptions,
  counters: SharedCountersMemory,
  channel: string,
): Piscina {
  const boot: WorkerBoot = { options, counters, channel };
  return new Piscina({
    filename: new URL('./worker.ts', import.meta.url).href,
    minThreads: options.workers,
    maxThreads: options.workers,
    idleTimeout: Number.POSITIVE_INFINITY,
    concurrentTasksPerWorker: options.maxConnections + SPARE_TASKS_PER_WORKER,
    atomics: 'disabled',
    workerData: boot,
  });
}
