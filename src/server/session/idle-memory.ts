/**
 * Memory given back once a thread is idle. Under load each thread's V8 heap grows
 * (10,000 short connections leave a worker with a 45-53 MB heap, 30 MB of it
 * used, mostly garbage) and V8 collects only when JavaScript allocates, which an
 * idle server does not. So when a thread has had no connection for
 * IDLE_RELEASE_MS, it drops its echo buffer pool and runs one full collection
 * (measured: heap 52 -> 19 MB, used 30 -> 11 MB). The process's RSS does not
 * follow (results/published/memory-after-load.md): what holds it is outside the JS heaps.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** A thread with no connection for this long gives its spare memory back. */
const IDLE_RELEASE_MS = 5_000;

type Collect = () => void;
let collect: Collect | null | undefined;

/**
 * V8's full collection. Without --expose-gc it is switched on here: the flag only
 * adds the `gc` function to contexts made from now on, which is all this needs.
 */
function fullCollection(): Collect | null {
  if (collect !== undefined) return collect;
  const exposed = (globalThis as { gc?: Collect }).gc;
  if (typeof exposed === 'function') return (collect = exposed);
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    collect = typeof gc === 'function' ? (gc as Collect) : null;
  } catch {
    collect = null;
  }
  return collect;
}

/** Runs `release` and a full collection once the thread has stayed idle; call `cancel` on new activity. */
export class IdleRelease {
  readonly #release: () => void;
  readonly #afterMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(release: () => void, afterMs = IDLE_RELEASE_MS) {
    this.#release = release;
    this.#afterMs = afterMs;
  }

  /** The thread's last connection closed. */
  idle(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#release();
      fullCollection()?.();
    }, this.#afterMs);
    this.#timer.unref();
  }

  /** A connection opened. */
  busy(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
