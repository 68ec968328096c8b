/** The main thread's side of one thread-hop worker. */
import { Worker } from 'node:worker_threads';
import type { FromWorker, ToWorker, WorkerInit } from './wire.ts';

/** One worker and a queue of its answers, taken in order by type. */
export class Peer {
  readonly worker: Worker;
  readonly #inbox: FromWorker[] = [];
  #waiter: (() => void) | null = null;
  #error: Error | null = null;

  constructor(init: WorkerInit) {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), {
      workerData: init,
      transferList: init.port ? [init.port] : [],
    });
    this.worker.on('message', (m: FromWorker) => {
      this.#inbox.push(m);
      this.#wake();
    });
    this.worker.on('error', (err) => {
      this.#error = err instanceof Error ? err : new Error(String(err));
      this.#wake();
    });
    this.worker.on('exit', (code) => {
      this.#error ??= new Error(`worker ${init.role} exited with code ${code}`);
      this.#wake();
    });
  }

  #wake(): void {
    const w = this.#waiter;
    this.#waiter = null;
    w?.();
  }

  send(m: ToWorker): void {
    this.worker.postMessage(m);
  }

  async take<T extends FromWorker['type']>(type: T, timeoutMs = 30_000): Promise<Extract<FromWorker, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.#inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.#inbox.splice(i, 1)[0] as Extract<FromWorker, { type: T }>;
      if (this.#error) throw this.#error;
      if (Date.now() > deadline) throw new Error(`no '${type}' from the worker within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.#waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}
