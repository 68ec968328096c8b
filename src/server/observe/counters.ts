/**
 * Live counters shared by every thread of one server, in shared memory, so the
 * acceptor enforces one connection limit for all workers and prints totals
 * without asking the workers anything.
 *
 * Each serving thread claims a slot and is the only writer of it (plain stores,
 * no atomics on the hot path); server-wide figures use Atomics. A thread that
 * dies gives its slot back through retireSlot() on the main thread: the
 * connections it held stop counting against the limit, its cumulative figures
 * move into the retired totals (so the server's totals never go backwards), and
 * the replacement thread claims the freed slot.
 */
import { ErrorCode, WorkerStartError } from '../../protocol/index.ts';

/** Every `!ERROR` code a session can send, each with a per-thread counter (metrics). */
const SESSION_ERROR_CODES: readonly ErrorCode[] = Object.values(ErrorCode);
/** Why a connection was refused at accept; each has a server-wide counter. */
export const REFUSAL_REASONS = ['max_connections', 'max_connections_per_ip'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];
/**
 * Why a batch from another server is dropped (chat/batch-codec.ts decides which): each has
 * a counter (`handoff_bus_dropped_total{reason}`).
 */
export const BATCH_DROP_REASONS = [
  /** Not a handoff batch at all (no magic): someone else published on our channel. */
  'garbage',
  /** A handoff batch of a format version this server does not read. */
  'version',
  /** It ends before the lengths it declares. */
  'truncated',
  /** Its fields are impossible: an empty or over-long server id, bytes after the last payload. */
  'malformed',
  /** Its sender runs another --header-bytes. */
  'header_bytes',
  /** Its sender runs another --max-message-bytes. */
  'max_message_bytes',
  /** A payload longer than this server may deliver. */
  'too_large',
  /** A payload that is not a delivery for the channel's room (clients would take it for a reply). */
  'not_delivery',
] as const;
export type BatchDropReason = (typeof BATCH_DROP_REASONS)[number];
/**
 * Why a chat bus message was dropped: a batch from another server that this one cannot
 * serve, (`error`) a bus message or batch whose handling threw, or (`malformed_envelope`)
 * another entry from the bus's service that was not well-formed. Each has a server-wide counter.
 */
export const BUS_DROP_REASONS = [
  ...BATCH_DROP_REASONS,
  'error',
  /**
   * An entry read from the bus's service that is not well-formed, besides a batch: a control
   * entry, a member name, a server id (ServerBusHandlers.onMalformed).
   */
  'malformed_envelope',
] as const;
export type BusDropReason = (typeof BUS_DROP_REASONS)[number];

// Per-thread fields.
const HELD = 0; // connections this thread counts against --max-connections right now
const TOTAL = 1;
const MESSAGES = 2;
const BYTES_IN = 3;
const BYTES_OUT = 4;
const TASKS_STARTED = 5; // connection tasks (strategy handoff) that reached this thread
const LISTENING = 6; // 1 while the thread listens on its own (strategy reuseport)
const DELIVERIES = 7; // chat deliveries written
// Event-loop delay of the thread over its last sampling period, in seconds (written by LoopLagMonitor).
const LAG_P50 = 8;
const LAG_P99 = 9;
const LAG_MAX = 10;
const SESSION_FAULTS = 11; // connections closed because our own code threw while serving them
const ERRORS = 12; // one field per SESSION_ERROR_CODES entry: !ERROR frames sent by this thread's sessions
const FIELDS = ERRORS + SESSION_ERROR_CODES.length;
/** Cumulative fields: a dead thread's figures move into the retired row. */
const CUMULATIVE = [
  TOTAL,
  MESSAGES,
  BYTES_IN,
  BYTES_OUT,
  DELIVERIES,
  SESSION_FAULTS,
  ...SESSION_ERROR_CODES.map((_, i) => ERRORS + i),
];
const ERROR_FIELD = new Map<string, number>(SESSION_ERROR_CODES.map((code, i) => [code, ERRORS + i]));

// Server-wide fields.
const G_ACTIVE = 0;
const G_REFUSED = 1;
const G_NEXT_MEMBER = 2;
const G_LIMIT = 3; // the connection limit in force: --max-connections, or lower to fit the descriptor limit
const G_REFUSED_BY_REASON = 4; // one field per REFUSAL_REASONS entry
const G_BUS_DROPPED = G_REFUSED_BY_REASON + REFUSAL_REASONS.length; // one field per BUS_DROP_REASONS entry
const GLOBAL_FIELDS = G_BUS_DROPPED + BUS_DROP_REASONS.length;

/**
 * Connections per client address (--max-connections-per-ip) in a count-min
 * sketch: each address adds to one cell of each of two rows, picked by two
 * independent hashes, and its count is the smaller of its two cells. Fixed
 * memory whatever the number of addresses, lock-free across threads
 * (Atomics.add), nothing to clean up when an address leaves. Two addresses share
 * a count only if they collide in both rows: that can only make the limit bite
 * earlier for them, never later, and with 16 Ki cells a row it takes thousands
 * of times the default limit of open connections to matter.
 * Each slot also keeps its own thread's additions (plain stores, its own memory),
 * so that retireSlot() takes a dead thread's connections off the shared counts.
 * Pages nobody writes cost no memory: the slots of threads that never serve are free.
 */
const PER_IP_CELLS = 1 << 14;
const PER_IP_ROWS = 2;
const PER_IP_SKETCH = PER_IP_ROWS * PER_IP_CELLS;

/** An owner field holds threadId + 1 (the main thread's id is 0), or FREE. */
const FREE = 0;

export interface SharedCountersMemory {
  /** One row of FIELDS per slot, then one row of retired totals. */
  perThread: SharedArrayBuffer;
  /** The thread id owning each slot, FREE when none. */
  owners: SharedArrayBuffer;
  global: SharedArrayBuffer;
  /** The shared per-address sketch (see above), then one sketch per slot: that thread's share. */
  perIp: SharedArrayBuffer;
  slots: number;
}

/**
 * Slots for `threads` serving threads, with as many spare: a replacement thread
 * may start before its dead predecessor's slot has been given back.
 */
export function allocateCounters(threads: number): SharedCountersMemory {
  const slots = threads * 2;
  return {
    perThread: new SharedArrayBuffer((slots + 1) * FIELDS * Float64Array.BYTES_PER_ELEMENT),
    owners: new SharedArrayBuffer(slots * Int32Array.BYTES_PER_ELEMENT),
    global: new SharedArrayBuffer(GLOBAL_FIELDS * Int32Array.BYTES_PER_ELEMENT),
    perIp: new SharedArrayBuffer((slots + 1) * PER_IP_SKETCH * Int32Array.BYTES_PER_ELEMENT),
    slots,
  };
}

export interface ThreadTotals {
  activeConnections: number;
  totalConnections: number;
  messages: number;
  deliveries: number;
  bytesIn: number;
  bytesOut: number;
  /** Connections closed because our own code threw while serving them (a failure boundary caught it). */
  sessionFaults: number;
}

/** A live thread's figures for the metrics: its totals, the !ERROR frames it sent by code, its loop delay. */
export interface ThreadSnapshot extends ThreadTotals {
  threadId: number;
  errors: Record<string, number>;
  /** Event-loop delay over the thread's last sampling period, seconds. */
  loopLag: { p50: number; p99: number; max: number };
}

/** What a dead thread's slot held when it was given back. */
export interface RetiredSlot {
  /** Connections it was serving, plus those handed to it that it never started: all lost. */
  lostConnections: number;
}

/** Server-wide view: the connection limit, the slots and the totals. */
export class ServerCounters {
  readonly #perThread: Float64Array;
  readonly #owners: Int32Array;
  readonly #global: Int32Array;
  readonly #perIp: Int32Array;
  readonly #slots: number;

  constructor(memory: SharedCountersMemory) {
    this.#perThread = new Float64Array(memory.perThread);
    this.#owners = new Int32Array(memory.owners);
    this.#global = new Int32Array(memory.global);
    this.#perIp = new Int32Array(memory.perIp);
    this.#slots = memory.slots;
  }

  /** The connection limit every thread enforces: --max-connections, lowered right after start-up if the descriptors do not fit. */
  get limit(): number {
    return Atomics.load(this.#global, G_LIMIT);
  }

  set limit(maxConnections: number) {
    Atomics.store(this.#global, G_LIMIT, maxConnections);
  }

  /**
   * Counts one more connection from `address`, served by `thread`, if fewer than
   * `limit` are open from it; false means refuse it (and it is not counted).
   * Undo with closedFrom().
   */
  tryOpenFrom(address: string, limit: number, thread: ThreadCounters): boolean {
    const [a, b] = addressCells(address);
    const cells = this.#perIp;
    const before = Math.min(Atomics.add(cells, a, 1), Atomics.add(cells, b, 1));
    if (before >= limit) {
      Atomics.sub(cells, a, 1);
      Atomics.sub(cells, b, 1);
      this.refusedFor('max_connections_per_ip');
      return false;
    }
    thread.addressShare(a, b, 1);
    return true;
  }

  /** A connection counted by tryOpenFrom() on `thread` is gone. */
  closedFrom(address: string, thread: ThreadCounters): void {
    const [a, b] = addressCells(address);
    Atomics.sub(this.#perIp, a, 1);
    Atomics.sub(this.#perIp, b, 1);
    thread.addressShare(a, b, -1);
  }

  /** Open connections counted for `address` (its estimate: the smaller of its two cells). */
  openFrom(address: string): number {
    const [a, b] = addressCells(address);
    return Math.min(Atomics.load(this.#perIp, a), Atomics.load(this.#perIp, b));
  }

  /** Counts a new connection if the limit allows; false means refuse it. */
  tryOpen(): boolean {
    if (Atomics.add(this.#global, G_ACTIVE, 1) >= Atomics.load(this.#global, G_LIMIT)) {
      Atomics.sub(this.#global, G_ACTIVE, 1);
      this.refusedFor('max_connections');
      return false;
    }
    return true;
  }

  /** Counts a connection refused at accept, by why. */
  refusedFor(reason: RefusalReason): void {
    Atomics.add(this.#global, G_REFUSED, 1);
    Atomics.add(this.#global, G_REFUSED_BY_REASON + REFUSAL_REASONS.indexOf(reason), 1);
  }

  /** Refusals since start, by reason. */
  refusedByReason(): Record<RefusalReason, number> {
    const out = {} as Record<RefusalReason, number>;
    REFUSAL_REASONS.forEach((reason, i) => (out[reason] = Atomics.load(this.#global, G_REFUSED_BY_REASON + i)));
    return out;
  }

  /** A chat bus message or batch dropped, by why (any thread; not on the per-message path). */
  busDropped(reason: BusDropReason): void {
    Atomics.add(this.#global, G_BUS_DROPPED + BUS_DROP_REASONS.indexOf(reason), 1);
  }

  /** Bus messages and batches dropped since start, by reason. */
  busDroppedByReason(): Record<BusDropReason, number> {
    const out = {} as Record<BusDropReason, number>;
    BUS_DROP_REASONS.forEach((reason, i) => (out[reason] = Atomics.load(this.#global, G_BUS_DROPPED + i)));
    return out;
  }

  /** A counted connection no longer counts (it closed, or the server sent its FIN); returns the count after it. */
  closed(): number {
    return Atomics.sub(this.#global, G_ACTIVE, 1) - 1;
  }

  get active(): number {
    return Atomics.load(this.#global, G_ACTIVE);
  }

  get refused(): number {
    return Atomics.load(this.#global, G_REFUSED);
  }

  /** A number no other chat member of this server has had. */
  nextMemberId(): number {
    return Atomics.add(this.#global, G_NEXT_MEMBER, 1) + 1;
  }

  /** The thread ids of the live serving threads. */
  liveThreads(): number[] {
    const out: number[] = [];
    for (let slot = 0; slot < this.#slots; slot++) {
      const owner = Atomics.load(this.#owners, slot);
      if (owner !== FREE) out.push(owner - 1);
    }
    return out;
  }

  /** Threads listening on their own (strategy reuseport). */
  get listening(): number {
    let n = 0;
    for (let slot = 0; slot < this.#slots; slot++) {
      if (Atomics.load(this.#owners, slot) !== FREE) n += this.#perThread[slot * FIELDS + LISTENING]!;
    }
    return n;
  }

  /** Claims a free slot for the calling thread (`threadId`). */
  claimSlot(threadId: number): ThreadCounters {
    for (let slot = 0; slot < this.#slots; slot++) {
      if (Atomics.compareExchange(this.#owners, slot, FREE, threadId + 1) === FREE) {
        const share = this.#perIp.subarray((slot + 1) * PER_IP_SKETCH, (slot + 2) * PER_IP_SKETCH);
        return new ThreadCounters(this.#perThread, slot * FIELDS, share);
      }
    }
    throw new WorkerStartError(`no free counter slot among ${this.#slots} for thread ${threadId}`);
  }

  /**
   * Main thread, once `threadId` has exited: gives its slot back. `tasksRouted` is
   * how many connection tasks were handed to that thread; those it never started
   * were counted at admission and are lost too.
   */
  retireSlot(threadId: number, tasksRouted: number): RetiredSlot {
    for (let slot = 0; slot < this.#slots; slot++) {
      if (Atomics.load(this.#owners, slot) !== threadId + 1) continue;
      const a = this.#perThread;
      const base = slot * FIELDS;
      const lostConnections = a[base + HELD]! + Math.max(0, tasksRouted - a[base + TASKS_STARTED]!);
      Atomics.sub(this.#global, G_ACTIVE, lostConnections);
      const retired = this.#slots * FIELDS;
      for (const field of CUMULATIVE) {
        a[retired + field] = a[retired + field]! + a[base + field]!;
      }
      a.fill(0, base, base + FIELDS);
      this.#retireAddressShare(slot);
      Atomics.store(this.#owners, slot, FREE);
      return { lostConnections };
    }
    // The thread died before it claimed a slot: whatever was handed to it is lost.
    Atomics.sub(this.#global, G_ACTIVE, tasksRouted);
    return { lostConnections: tasksRouted };
  }

  /** A dead thread's connections no longer count against their addresses. */
  #retireAddressShare(slot: number): void {
    const cells = this.#perIp;
    const share = (slot + 1) * PER_IP_SKETCH;
    for (let c = 0; c < PER_IP_SKETCH; c++) {
      const held = cells[share + c]!;
      if (held !== 0) Atomics.sub(cells, c, held);
    }
    cells.fill(0, share, share + PER_IP_SKETCH);
  }

  /** One entry per live serving thread, in slot order. */
  threads(): ThreadTotals[] {
    const out: ThreadTotals[] = [];
    for (let slot = 0; slot < this.#slots; slot++) {
      if (Atomics.load(this.#owners, slot) !== FREE) out.push(this.#totalsAt(slot * FIELDS));
    }
    return out;
  }

  /** Figures of the threads that have died, kept so that the server's totals never go backwards. */
  retired(): ThreadTotals {
    return this.#totalsAt(this.#slots * FIELDS);
  }

  /** The server's cumulative figures: every live thread's plus the retired ones. */
  sum(): ThreadTotals {
    const total = this.retired();
    for (const thread of this.threads()) {
      for (const key of Object.keys(total) as Array<keyof ThreadTotals>) total[key] += thread[key];
    }
    return total;
  }

  /** Every live serving thread with its id, errors and loop delay, in slot order (read at scrape time). */
  snapshots(): ThreadSnapshot[] {
    const out: ThreadSnapshot[] = [];
    for (let slot = 0; slot < this.#slots; slot++) {
      const owner = Atomics.load(this.#owners, slot);
      if (owner === FREE) continue;
      const base = slot * FIELDS;
      const a = this.#perThread;
      out.push({
        ...this.#totalsAt(base),
        threadId: owner - 1,
        errors: this.#errorsAt(base),
        loopLag: { p50: a[base + LAG_P50]!, p99: a[base + LAG_P99]!, max: a[base + LAG_MAX]! },
      });
    }
    return out;
  }

  /** !ERROR frames sent by sessions since start, by code, dead threads included. */
  errorsByCode(): Record<string, number> {
    const total = this.#errorsAt(this.#slots * FIELDS);
    for (const thread of this.snapshots()) {
      for (const code of SESSION_ERROR_CODES) total[code]! += thread.errors[code]!;
    }
    return total;
  }

  #errorsAt(base: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [code, field] of ERROR_FIELD) out[code] = this.#perThread[base + field]!;
    return out;
  }

  #totalsAt(base: number): ThreadTotals {
    const a = this.#perThread;
    return {
      activeConnections: a[base + HELD]!,
      totalConnections: a[base + TOTAL]!,
      messages: a[base + MESSAGES]!,
      deliveries: a[base + DELIVERIES]!,
      bytesIn: a[base + BYTES_IN]!,
      bytesOut: a[base + BYTES_OUT]!,
      sessionFaults: a[base + SESSION_FAULTS]!,
    };
  }
}

/** The cell of `address` in each row of the per-address sketch: two FNV-1a hashes with different seeds. */
function addressCells(address: string): [number, number] {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  h1 ^= h1 >>> 16;
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0x85ebca6b);
  h2 ^= h2 >>> 16;
  return [(h1 >>> 0) & (PER_IP_CELLS - 1), PER_IP_CELLS + ((h2 >>> 0) & (PER_IP_CELLS - 1))];
}

/** One thread's own counters; written only by that thread. */
export class ThreadCounters {
  readonly #a: Float64Array;
  readonly #base: number;
  readonly #addressShare: Int32Array;
  constructor(array: Float64Array, base: number, addressShare: Int32Array) {
    this.#a = array;
    this.#base = base;
    this.#addressShare = addressShare;
  }
  /** This thread's part of the per-address counts (cells of the shared sketch). */
  addressShare(a: number, b: number, delta: number): void {
    this.#addressShare[a]! += delta;
    this.#addressShare[b]! += delta;
  }
  taskStarted(): void {
    this.#a[this.#base + TASKS_STARTED]! += 1;
  }
  opened(): void {
    this.#a[this.#base + HELD]! += 1;
    this.#a[this.#base + TOTAL]! += 1;
  }
  closed(): void {
    this.#a[this.#base + HELD]! -= 1;
  }
  /** Added once per read, not per message. */
  received(messages: number, bytes: number): void {
    this.#a[this.#base + MESSAGES]! += messages;
    this.#a[this.#base + BYTES_IN]! += bytes;
  }
  sent(bytes: number): void {
    this.#a[this.#base + BYTES_OUT]! += bytes;
  }
  delivered(deliveries: number): void {
    this.#a[this.#base + DELIVERIES]! += deliveries;
  }
  /** Our own code threw while serving a connection; the connection was closed (once per connection at most). */
  sessionFault(): void {
    this.#a[this.#base + SESSION_FAULTS]! += 1;
  }
  /** One !ERROR frame sent (once per connection at most: not on the per-message path). */
  errorSent(code: string): void {
    const field = ERROR_FIELD.get(code);
    if (field !== undefined) this.#a[this.#base + field]! += 1;
  }
  /** The thread's event-loop delay over its last sampling period, seconds. */
  loopLag(p50: number, p99: number, max: number): void {
    this.#a[this.#base + LAG_P50] = p50;
    this.#a[this.#base + LAG_P99] = p99;
    this.#a[this.#base + LAG_MAX] = max;
  }
  listening(on: boolean): void {
    this.#a[this.#base + LISTENING] = on ? 1 : 0;
  }
}
