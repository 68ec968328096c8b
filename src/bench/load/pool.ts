/**
 * The load threads, seen from the orchestrator. Plain worker_threads rather
 * than a task pool (piscina): each thread keeps its connections open across
 * several orders of one measurement, a long conversation rather than
 * independent tasks.
 */
import { Worker } from 'node:worker_threads';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { LoadThreadError } from '../../protocol/index.ts';
import {
  allocateLoadCounters,
  C,
  CONTROL_BYTES,
  Control,
  FIELDS,
  readCounters,
  readThreadField,
  type CounterSnapshot,
} from './counters.ts';
import type { FromWorker, LoadSetup, ToWorker } from './messages.ts';
import { siblingModule } from '../../options/sibling-module.ts';

type Typed = { type: string };
type Reply<From extends Typed, T extends From['type']> = Extract<From, { type: T }>;

/** What a pool's threads run and report: the thread's script and its counter layout. */
export interface ThreadScript {
  url: URL;
  /** Counter fields per thread, and which of them holds the rate-mode spin time. */
  fields: number;
  spinField: number;
}

const LOAD_SCRIPT: ThreadScript = {
  url: siblingModule('worker', import.meta.url),
  fields: FIELDS,
  spinField: C.SPIN_MS,
};

/**
 * Load threads that take orders (`To`) and answer each in turn (`From`), with
 * live counters in shared memory and the phase word (Control) they all read.
 */
export class ThreadPool<To extends Typed, From extends Typed> {
  readonly size: number;
  readonly control: Control;
  readonly countersMemory: SharedArrayBuffer;
  readonly #script: ThreadScript;
  readonly #workers: Worker[] = [];
  readonly #pending: Array<Array<(msg: From | null) => void>> = [];
  #failure: LoadThreadError | null = null;

  constructor(threads: number, script: ThreadScript) {
    this.size = threads;
    this.#script = script;
    this.countersMemory = allocateLoadCounters(threads, script.fields);
    const controlMemory = new SharedArrayBuffer(CONTROL_BYTES);
    this.control = new Control(controlMemory);
    for (let index = 0; index < threads; index++) {
      const worker = new Worker(script.url, {
        workerData: { index, counters: this.countersMemory, control: controlMemory },
      });
      const queue: Array<(msg: From | null) => void> = [];
      worker.on('message', (msg: From) => queue.shift()?.(msg));
      worker.on('error', (err) => {
        const message = err instanceof Error ? err.message : String(err);
        this.#failure = new LoadThreadError(`load thread ${index} failed: ${message}`, { cause: err });
        for (const waiter of queue.splice(0)) waiter(null);
      });
      this.#workers.push(worker);
      this.#pending.push(queue);
    }
  }

  /** Event-loop utilisation of each thread (cumulative; diff two readings for a window). */
  utilization(): EventLoopUtilization[] {
    return this.#workers.map((w) => w.performance.eventLoopUtilization());
  }

  /** Spin time of each thread so far (rate mode; see C.SPIN_MS). */
  spinMs(): number[] {
    const { fields, spinField } = this.#script;
    return this.#workers.map((_, i) => readThreadField(this.countersMemory, i, fields, spinField));
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

  #ask<T extends From['type']>(index: number, order: To): Promise<Reply<From, T>> {
    return new Promise((resolve, reject) => {
      if (this.#failure) {
        reject(this.#failure);
        return;
      }
      this.#pending[index]!.push((msg) => {
        if (msg === null || this.#failure) reject(this.#failure ?? new LoadThreadError(`load thread ${index} failed`));
        else resolve(msg as Reply<From, T>);
      });
      this.#workers[index]!.postMessage(order);
    });
  }

  /** Gives every thread the order (or its own, from a function of its index) and awaits every answer. */
  all<T extends From['type']>(order: To | ((i: number) => To)): Promise<Array<Reply<From, T>>> {
    return Promise.all(this.#workers.map((_, i) => this.#ask<T>(i, typeof order === 'function' ? order(i) : order)));
  }

  async destroy(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** The ack/echo load threads (worker.ts). */
export class LoadPool extends ThreadPool<ToWorker, FromWorker> {
  constructor(threads: number) {
    super(threads, LOAD_SCRIPT);
  }

  counters(): CounterSnapshot {
    return readCounters(this.countersMemory);
  }

  setup(setups: LoadSetup[]): Promise<Array<Reply<FromWorker, 'connected'>>> {
    return this.all<'connected'>((i) => ({ type: 'setup', setup: setups[i]! }));
  }

  start(): Promise<Array<Reply<FromWorker, 'ramped'>>> {
    return this.all<'ramped'>({ type: 'start' });
  }

  drain(timeoutMs: number): Promise<Array<Reply<FromWorker, 'drained'>>> {
    return this.all<'drained'>({ type: 'drain', timeoutMs });
  }

  close(): Promise<Array<Reply<FromWorker, 'closed'>>> {
    return this.all<'closed'>({ type: 'close' });
  }
}

/** Splits `total` into `parts` near-equal integers (the first ones get the remainder). */
export function split(total: number, parts: number): number[] {
  const base = Math.floor(total / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < total % parts ? 1 : 0));
}
