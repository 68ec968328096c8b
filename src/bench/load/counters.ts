/**
 * Live counters of the load threads, in shared memory: each thread adds to its
 * own slot with plain stores (once per read or write, not per message) and the
 * orchestrator reads them whenever it likes (per-second samples, progress,
 * window boundaries) without a message round trip.
 */
export const C = {
  SENT: 0,
  ACKED: 1,
  TX_WIRE: 2,
  TX_HEADER: 3,
  RX_WIRE: 4,
  RX_HEADER: 5,
  ERRORS: 6,
  TIMEOUTS: 7,
  OPEN: 8,
  /** Rate mode: ms the thread spent spinning to hit send times closer than a timer can. */
  SPIN_MS: 9,
  /** --amount: 1 once the thread has sent its share and every reply is in (or its connections are gone). */
  DONE: 10,
  /** Connections made (churn: each connection sends its messages, closes and is made again). */
  CONNECTS: 11,
} as const;
export const FIELDS = 12;

export type CounterSnapshot = {
  sent: number;
  acked: number;
  txWire: number;
  txHeader: number;
  rxWire: number;
  rxHeader: number;
  errors: number;
  timeouts: number;
  open: number;
  spinMs: number;
  done: number;
  connects: number;
};

export function allocateLoadCounters(threads: number, fields: number = FIELDS): SharedArrayBuffer {
  return new SharedArrayBuffer(threads * fields * Float64Array.BYTES_PER_ELEMENT);
}

/** One thread's value of one field now (the spin time of C.SPIN_MS, say). */
export function readThreadField(memory: SharedArrayBuffer, thread: number, fields: number, field: number): number {
  return new Float64Array(memory)[thread * fields + field]!;
}

/** Each field summed over all threads now. */
function sumFields(memory: SharedArrayBuffer, fields: number): Float64Array {
  const a = new Float64Array(memory);
  const sums = new Float64Array(fields);
  for (let base = 0; base < a.length; base += fields) for (let f = 0; f < fields; f++) sums[f]! += a[base + f]!;
  return sums;
}

/** Each field of `layout` (name -> slot) summed over all threads now. */
export function readNamed<N extends string>(
  memory: SharedArrayBuffer,
  fields: number,
  layout: Readonly<Record<N, number>>,
): Record<N, number> {
  const sums = sumFields(memory, fields);
  const out = {} as Record<N, number>;
  for (const name of Object.keys(layout) as N[]) out[name] = sums[layout[name]]!;
  return out;
}

/** The snapshot's names for the slots of C. */
const SNAPSHOT: Readonly<Record<keyof CounterSnapshot, number>> = {
  sent: C.SENT,
  acked: C.ACKED,
  txWire: C.TX_WIRE,
  txHeader: C.TX_HEADER,
  rxWire: C.RX_WIRE,
  rxHeader: C.RX_HEADER,
  errors: C.ERRORS,
  timeouts: C.TIMEOUTS,
  open: C.OPEN,
  spinMs: C.SPIN_MS,
  done: C.DONE,
  connects: C.CONNECTS,
};

/** Totals over all threads now. */
export function readCounters(memory: SharedArrayBuffer): CounterSnapshot {
  return readNamed(memory, FIELDS, SNAPSHOT);
}

export function diffCounters(later: CounterSnapshot, earlier: CounterSnapshot): CounterSnapshot {
  return {
    sent: later.sent - earlier.sent,
    acked: later.acked - earlier.acked,
    txWire: later.txWire - earlier.txWire,
    txHeader: later.txHeader - earlier.txHeader,
    rxWire: later.rxWire - earlier.rxWire,
    rxHeader: later.rxHeader - earlier.rxHeader,
    errors: later.errors - earlier.errors,
    timeouts: later.timeouts - earlier.timeouts,
    open: later.open,
    spinMs: later.spinMs - earlier.spinMs,
    done: later.done,
    connects: later.connects - earlier.connects,
  };
}

/**
 * Phase word shared with the load threads. MEASURE starts at the instant in
 * CONTROL_START_MS (ms since the Unix epoch, as timeOrigin + now()), so every
 * thread uses the same boundary whatever its own clock origin.
 */
export const PHASE = { RAMP: 0, MEASURE: 1, DRAIN: 2 } as const;
export const CONTROL_BYTES = 16;

export class Control {
  readonly #phase: Int32Array;
  readonly #start: Float64Array;
  constructor(memory: SharedArrayBuffer) {
    this.#phase = new Int32Array(memory, 0, 1);
    this.#start = new Float64Array(memory, 8, 1);
  }
  get phase(): number {
    return Atomics.load(this.#phase, 0);
  }
  /** Absolute epoch milliseconds of the start of the measured window. */
  get measureStartEpochMs(): number {
    return this.#start[0]!;
  }
  set(phase: number, measureStartEpochMs?: number): void {
    if (measureStartEpochMs !== undefined) this.#start[0] = measureStartEpochMs;
    Atomics.store(this.#phase, 0, phase);
  }
}

export function epochNowMs(): number {
  return performance.timeOrigin + performance.now();
}
