/**
 * The load threads, seen from run.ts. Plain worker_threads rather than a task
 * pool (piscina): each thread keeps its connections open across several orders
 * of one measurement, a long conversation rather than independent tasks.
 */
import { Worker } from 'node:worker_threads';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { LoadThreadError } from '../../protocol/index.ts';
import {
  allocateLoadCounters,
  CONTROL_BYTES,
  Control,
  readCounters,
  readThreadSpinMs,
  type CounterSnapshot,
} from './counters.ts';
import type { FromWorker, LoadSetup, ToWorker } from './messages.ts';

type Reply<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

export class LoadPool {
  readonly size: number;
  readonly control: Control;
  readonly #counters: SharedArrayBuffer;
  readonly #workers: Worker[] = [];
  readonly #pending: Array<Array<(msg: FromWorker) => void>> = [];
  #failure: LoadThreadError | null = null;

  constructor(threads: number) {
    this.size = threads;
    this.#counters = allocateLoadCounters(threads);
    const controlMemory = new SharedArrayBuffer(CONTROL_BYTES);
    this.control = new Control(controlMemory);
    for (let index = 0; index < threads; index++) {
      const worker = new Worker(new URL('./worker.ts', import.meta.url), {
        workerData: { index, counters: this.#counters, control: controlMemory },
      });
      const queue: Array<(msg: FromWorker) => void> = [];
      worker.on('message', (msg: FromWorker) => queue.shift()?.(msg));
      worker.on('error', (err) => {
        const message = err instanceof Error ? err.message : String(err);
        this.#failure = new LoadThreadError(`load thread ${index} failed: ${message}`, { cause: err });
        for (const waiter of queue.splice(0)) waiter({ type: 'closed' });
      });
      this.#workers.push(worker);
      this.#pending.push(queue);
    }
  }

  counters(): CounterSnapshot {
    return readCounters(this.#counters);
  }

  /** Event-loop utilisation of each thread (cumulative; diff two readings for a window). */
  utilization(): EventLoopUtilization[] {
    return this.#workers.map((w) => w.performance.eventLoopUtilization());
  }

  /** Spin time of each thread so far (rate mode; see C.SPIN_MS). */
  spinMs(): number[] {
    return this.#workers.map((_, i) => readThreadSpinMs(this.#counters, i));
  }

  /** Busy share of each thread since `before`, not counting rate-mode spinning. */
  utilizationSince(before: EventLoopUtilization[], spinBefore: number[]): number[] {
    const spin = this.spinMs();
    return this.#workers.map((w, i) => {
      const elu = w.performance.eventLoopUtilization(before[i]);
      const total = elu.active + elu.idle;
      const spun = spin[i]! - spinBefore[i]!;
      return total > 0 ? Math.max(0, elu.active - spun) / total : 0;
    });
  }

  #ask<T extends FromWorker['type']>(index: number, order: ToWorker): Promise<Reply<T>> {
    return new Promise((resolve, reject) => {
      if (this.#failure) {
        reject(this.#failure);
        return;
      }
      this.#pending[index]!.push((msg) => (this.#failure ? reject(this.#failure) : resolve(msg as Reply<T>)));
      this.#workers[index]!.postMessage(order);
    });
  }

  #all<T extends FromWorker['type']>(order: ToWorker | ((i: number) => ToWorker)): Promise<Array<Reply<T>>> {
    return Promise.all(this.#workers.map((_, i) => this.#ask<T>(i, typeof order === 'function' ? order(i) : order)));
  }

  setup(setups: LoadSetup[]): Promise<Array<Reply<'connected'>>> {
    return this.#all<'connected'>((i) => ({ type: 'setup', setup: setups[i]! }));
  }

  start(): Promise<Array<Reply<'ramped'>>> {
    return this.#all<'ramped'>({ type: 'start' });
  }

  drain(timeoutMs: number): Promise<Array<Reply<'drained'>>> {
    return this.#all<'drained'>({ type: 'drain', timeoutMs });
  }

  close(): Promise<Array<Reply<'closed'>>> {
    return this.#all<'closed'>({ type: 'close' });
  }

  async destroy(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** Splits `total` into `parts` near-equal integers (the first ones get the remainder). */
export function split(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}
