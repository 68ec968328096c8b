/**
 * Rate mode's clock for a load thread: sends what is due, then sleeps until
 * the next message is. libuv timers have millisecond granularity and fire
 * late by up to a millisecond, which would add itself to every latency; so
 * the timer wakes the thread a millisecond early and the rest is spun with
 * setImmediate (spin time is counted, so it is not mistaken for load: see
 * C.SPIN_MS).
 */
export interface Scheduled {
  /** Sends every message now due, as far as the window allows. */
  pump(now: number): void;
  /** When the next message is due; +Infinity while the window is full (an answer, not the timer, sends it). */
  nextDue(): number;
}

export class RateClock {
  readonly #counters: Float64Array;
  readonly #spinField: number;
  readonly #stopped: () => boolean;
  #items: readonly Scheduled[] = [];
  #timer: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;
  #spinSince = -1;
  /** When the earliest message is due, as of the last tick: readers check it to send on time mid-batch. */
  nextAt = Number.POSITIVE_INFINITY;

  /** `stopped()` says when to stop ticking (the drain began); spin time goes to `counters[spinField]`. */
  constructor(counters: Float64Array, spinField: number, stopped: () => boolean) {
    this.#counters = counters;
    this.#spinField = spinField;
    this.#stopped = stopped;
  }

  start(items: readonly Scheduled[]): void {
    this.#items = items;
    this.tick();
  }

  stop(): void {
    this.#cancel();
    this.nextAt = Number.POSITIVE_INFINITY;
  }

  /**
   * From a read callback: when a message fell due while the thread was busy reading,
   * sends it now rather than after the timer (a long run of reads would delay it).
   */
  poke(now: number): void {
    if (now < this.nextAt) return;
    this.#cancel();
    // The time since the spin began went to reading, not spinning.
    this.#spinSince = -1;
    this.tick();
  }

  #cancel(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#immediate) clearImmediate(this.#immediate);
    this.#timer = null;
    this.#immediate = null;
  }

  readonly tick = (): void => {
    this.#cancel();
    const now = performance.now();
    if (this.#spinSince >= 0) {
      this.#counters[this.#spinField]! += now - this.#spinSince;
      this.#spinSince = -1;
    }
    if (this.#stopped()) {
      this.nextAt = Number.POSITIVE_INFINITY;
      return;
    }
    let next = Number.POSITIVE_INFINITY;
    for (const item of this.#items) {
      item.pump(now);
      const due = item.nextDue();
      if (due < next) next = due;
    }
    this.nextAt = next;
    // With every window full, an answer (not the timer) sends the next message; poll slowly meanwhile.
    const after = performance.now();
    const wait = next === Number.POSITIVE_INFINITY ? 5 : next - after;
    if (wait < 1.5) {
      this.#spinSince = after;
      this.#immediate = setImmediate(this.tick);
    } else {
      this.#timer = setTimeout(this.tick, Math.floor(wait - 1));
    }
  };
}
