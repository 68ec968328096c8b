/**
 * Live counters shared by every thread of one server, in shared memory, so the
 * acceptor enforces one connection limit for all workers and prints totals
 * without asking the workers anything.
 *
 * Per-thread counters live in a slot that only its own thread writes (plain
 * stores, no atomics on the hot path); server-wide ones use Atomics.
 */
const ACTIVE = 0;
const TOTAL = 1;
const MESSAGES = 2;
const BYTES_IN = 3;
const BYTES_OUT = 4;
const FIELDS = 5;

const G_ACTIVE = 0;
const G_REFUSED = 1;
const G_NEXT_SLOT = 2;
const G_LISTENING = 3;

export interface SharedCountersMemory {
  perThread: SharedArrayBuffer;
  global: SharedArrayBuffer;
  slots: number;
}

export function allocateCounters(slots: number): SharedCountersMemory {
  return {
    perThread: new SharedArrayBuffer(slots * FIELDS * Float64Array.BYTES_PER_ELEMENT),
    global: new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT),
    slots,
  };
}

export interface ThreadTotals {
  activeConnections: number;
  totalConnections: number;
  messages: number;
  bytesIn: number;
  bytesOut: number;
}

/** Server-wide view: the connection limit and the totals. */
export class ServerCounters {
  readonly #perThread: Float64Array;
  readonly #global: Int32Array;
  readonly #slots: number;

  constructor(memory: SharedCountersMemory) {
    this.#perThread = new Float64Array(memory.perThread);
    this.#global = new Int32Array(memory.global);
    this.#slots = memory.slots;
  }

  /** Counts a new connection if the limit allows; false means refuse it. */
  tryOpen(maxConnections: number): boolean {
    if (Atomics.add(this.#global, G_ACTIVE, 1) >= maxConnections) {
      Atomics.sub(this.#global, G_ACTIVE, 1);
      Atomics.add(this.#global, G_REFUSED, 1);
      return false;
    }
    return true;
  }

  /** Returns the number still open after this one closed. */
  closed(): number {
    return Atomics.sub(this.#global, G_ACTIVE, 1) - 1;
  }

  get active(): number {
    return Atomics.load(this.#global, G_ACTIVE);
  }

  /** A worker listening on its own (strategy reuseport) says so here. */
  markListening(): void {
    Atomics.add(this.#global, G_LISTENING, 1);
  }

  get listening(): number {
    return Atomics.load(this.#global, G_LISTENING);
  }

  get refused(): number {
    return Atomics.load(this.#global, G_REFUSED);
  }

  /** Claims the slot of the calling thread. */
  claimSlot(): ThreadCounters {
    const slot = Atomics.add(this.#global, G_NEXT_SLOT, 1);
    if (slot >= this.#slots) throw new Error(`more serving threads than the ${this.#slots} counter slots`);
    return new ThreadCounters(this.#perThread, slot * FIELDS);
  }

  threads(): ThreadTotals[] {
    const used = Math.min(Atomics.load(this.#global, G_NEXT_SLOT), this.#slots);
    const out: ThreadTotals[] = [];
    for (let slot = 0; slot < used; slot++) {
      const base = slot * FIELDS;
      const a = this.#perThread;
      out.push({
        activeConnections: a[base + ACTIVE]!,
        totalConnections: a[base + TOTAL]!,
        messages: a[base + MESSAGES]!,
        bytesIn: a[base + BYTES_IN]!,
        bytesOut: a[base + BYTES_OUT]!,
      });
    }
    return out;
  }
}

/** One thread's own counters; written only by that thread. */
export class ThreadCounters {
  readonly #a: Float64Array;
  readonly #base: number;
  constructor(array: Float64Array, base: number) {
    this.#a = array;
    this.#base = base;
  }
  opened(): void {
    this.#a[this.#base + ACTIVE] = this.#a[this.#base + ACTIVE]! + 1;
    this.#a[this.#base + TOTAL] = this.#a[this.#base + TOTAL]! + 1;
  }
  closed(): void {
    this.#a[this.#base + ACTIVE] = this.#a[this.#base + ACTIVE]! - 1;
  }
  /** Added once per read, not per message. */
  received(messages: number, bytes: number): void {
    this.#a[this.#base + MESSAGES] = this.#a[this.#base + MESSAGES]! + messages;
    this.#a[this.#base + BYTES_IN] = this.#a[this.#base + BYTES_IN]! + bytes;
  }
  sent(bytes: number): void {
    this.#a[this.#base + BYTES_OUT] = this.#a[this.#base + BYTES_OUT]! + bytes;
  }
}
