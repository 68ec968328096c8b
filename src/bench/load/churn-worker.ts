/**
 * A load thread for connection churn (`--churn K`): each of its connection
 * slots makes a connection, sends K messages on it (`pipelining` in flight),
 * closes it once the K-th reply is in, and makes the next one at once. The
 * same orders as worker.ts (setup, start, drain, close) and the same counters,
 * plus C.CONNECTS; its drained report adds the connections made and two
 * histograms: connect() to TCP connected, and connect() to the first reply
 * (what the server's accept and hand-off add shows there).
 *
 * A separate script so the steady-state worker's hot path carries no churn
 * check. Once the drain begins no connection is made again, but the ones open
 * still send all their K messages: every connection of a measurement carries
 * exactly K, so messages = K x connections, on both ends' counts.
 */
import type net from 'node:net';
import {
  ACK_TEXT,
  BadReplyError,
  ConnectError,
  ConnectionClosedError,
  type ConnectTimeoutError,
  encodeFrame,
  FrameDecoder,
  type HandoffError,
  parseErrorPayload,
  repeatFrame,
  ReplyTimeoutError,
  UnexpectedReplyError,
} from '../../protocol/index.ts';
import { C, FIELDS, PHASE } from './counters.ts';
import { createLatencyHistogram, encodeHistogram, type LatencyHistogram } from './histogram.ts';
import { closeAll, connectReading, ErrorTally, serveOrders, settleAll, threadShared } from './thread-kit.ts';
import type { FromWorker, LoadSetup, ToWorker } from './messages.ts';

const READ_BUFFER_BYTES = 256 * 1024;
const BANG = 0x21; // '!': first byte of an error payload
/** After a failed reconnect, the slot waits this long before the next try (no busy loop against a dead server). */
const RETRY_MS = 20;

const { counters, control } = threadShared(FIELDS);
const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);

let setup: LoadSetup;
let frameBytes = 0;
let batch: Buffer = Buffer.alloc(0);
let expectedReplyBytes = 0;
let messages = createLatencyHistogram(32);
let connectTimes = createLatencyHistogram(32);
let firstReplies = createLatencyHistogram(32);
/** The connection each slot has now (the slot's next one replaces it). */
let slots: Conn[] = [];
let measureStart = Number.POSITIVE_INFINITY;
let phase: number = PHASE.RAMP;
/** The load has started: a new connection sends as soon as it is connected. */
let running = false;
let made = 0;
let completed = 0;
let unramped = 0;
let onRamped: (() => void) | null = null;
let onDrained: (() => void) | null = null;
let timeoutTimer: NodeJS.Timeout | null = null;
const errors = new ErrorTally(counters, C.ERRORS);

function syncPhase(): number {
  const p = control.phase;
  if (p !== phase) {
    phase = p;
    if (p >= PHASE.MEASURE && measureStart === Number.POSITIVE_INFINITY) {
      measureStart = control.measureStartEpochMs - performance.timeOrigin;
    }
  }
  return p;
}

/** Records `ms` into `h` if it began inside the measured window. */
function recordInWindow(h: LatencyHistogram, began: number, ms: number): void {
  if (began >= measureStart && phase === PHASE.MEASURE) {
    const ns = Math.round(ms * 1e6);
    h.recordValue(ns > 0 ? ns : 1);
  }
}

class Conn {
  readonly socket: net.Socket;
  readonly decoder: FrameDecoder;
  readonly slot: number;
  /** Made during the first connect phase (it counts for the ramp). */
  readonly initial: boolean;
  readonly began = performance.now();
  readonly starts: Float64Array;
  head = 0;
  inflight = 0;
  sent = 0;
  acked = 0;
  batchReplies = 0;
  now = 0;
  open = false;
  /** Connected or given up on. */
  settled = false;
  /** Closed by us (its K replies are in, or the measurement ends): no error. */
  closing = false;
  errored = false;
  /** Neither closed nor given up: the drain waits for it. */
  live = true;
  timedOutAt = -1;
  readonly #onSettled: ((err?: HandoffError) => void) | null;

  constructor(slot: number, onSettled: ((err?: HandoffError) => void) | null) {
    this.slot = slot;
    this.initial = onSettled !== null;
    this.#onSettled = onSettled;
    this.starts = new Float64Array(setup.pipelining);
    this.decoder = new FrameDecoder(
      { headerBytes: setup.headerBytes, maxMessageBytes: Math.max(setup.sizeBytes, 4096) },
      (payload) => this.#onFrame(payload),
      (err) => {
        errors.count(new BadReplyError(`the server's bytes are not a reply frame: ${err.message}`, { cause: err }));
        this.errored = true;
        this.socket.destroy();
      },
    );
    this.socket = connectReading(setup.host, setup.port, readBuffer, (n) => this.#onRead(n));
    this.socket.once('connect', () => this.#onConnect());
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!this.settled) {
        this.#failed(new ConnectError(err.message, { cause: err }));
        return;
      }
      if (this.closing || this.errored) return;
      this.errored = true;
      errors.count(
        new ConnectionClosedError(`socket error ${err.code ?? '(no errno)'}: ${err.message}`, { cause: err }),
      );
    });
    this.socket.on('close', () => this.#onClose());
  }

  #onConnect(): void {
    if (this.settled) return;
    this.settled = true;
    this.open = true;
    made++;
    counters[C.OPEN]! += 1;
    counters[C.CONNECTS]! += 1;
    syncPhase();
    recordInWindow(connectTimes, this.began, performance.now() - this.began);
    if (this.#onSettled) this.#onSettled();
    else if (running) this.send(Math.min(setup.pipelining, setup.churn), performance.now());
  }

  /** Not connected: the first connect phase counts it; later, the slot tries again after a pause. */
  #failed(err: HandoffError): void {
    this.settled = true;
    this.live = false;
    if (this.#onSettled) {
      this.#onSettled(err);
      return;
    }
    errors.count(err);
    setTimeout(() => reconnect(this.slot), RETRY_MS);
  }

  giveUp(err: ConnectTimeoutError): void {
    if (this.settled) return;
    this.#failed(err);
    this.socket.destroy();
  }

  #onClose(): void {
    const wasOpen = this.open;
    if (wasOpen) counters[C.OPEN]! -= 1;
    this.open = false;
    this.inflight = 0;
    if (!wasOpen) return; // never connected: #failed has dealt with it
    this.live = false;
    if (!this.closing) {
      if (!this.errored) errors.count(new ConnectionClosedError('the server closed a connection mid-run'));
      if (this.initial && this.acked === 0) rampedOne();
      reconnect(this.slot);
    }
    checkDrained();
  }

  #onRead(nread: number): boolean {
    this.now = performance.now();
    counters[C.RX_WIRE]! += nread;
    this.batchReplies = 0;
    this.decoder.push(readBuffer.subarray(0, nread));
    const replies = this.batchReplies;
    if (replies === 0) return true;
    counters[C.ACKED]! += replies;
    counters[C.RX_HEADER]! += replies * setup.headerBytes;
    if (this.acked === replies) {
      recordInWindow(firstReplies, this.began, this.now - this.began);
      if (this.initial) rampedOne();
    }
    if (this.acked >= setup.churn) {
      this.#finish();
      return true;
    }
    this.send(Math.min(replies, setup.churn - this.sent), this.now);
    return true;
  }

  /** All K replies are in: close, and (unless the measurement is draining) make the slot's next connection. */
  #finish(): void {
    this.closing = true;
    completed++;
    this.socket.destroy();
    if (syncPhase() !== PHASE.DRAIN) reconnect(this.slot);
  }

  #onFrame(payload: Buffer): void {
    if (payload.length > 0 && payload[0] === BANG) {
      const err = parseErrorPayload(payload);
      if (err) {
        errors.count(err);
        this.errored = true;
        this.decoder.stop();
        return;
      }
    }
    if (payload.length !== expectedReplyBytes) {
      errors.count(new BadReplyError(`reply of ${payload.length} bytes, expected ${expectedReplyBytes}`));
    }
    if (this.inflight === 0) {
      errors.count(new UnexpectedReplyError('a reply to no message'));
      return;
    }
    const start = this.starts[this.head]!;
    this.head = this.head + 1 === this.starts.length ? 0 : this.head + 1;
    this.inflight--;
    this.acked++;
    this.batchReplies++;
    recordInWindow(messages, start, this.now - start);
  }

  send(n: number, due: number): void {
    if (!this.open || n <= 0) return;
    const ring = this.starts;
    let slot = this.head + this.inflight;
    for (let i = 0; i < n; i++) {
      if (slot >= ring.length) slot -= ring.length;
      ring[slot++] = due;
    }
    this.inflight += n;
    this.sent += n;
    this.socket.write(n === setup.pipelining ? batch : batch.subarray(0, n * frameBytes));
    counters[C.SENT]! += n;
    counters[C.TX_WIRE]! += n * frameBytes;
    counters[C.TX_HEADER]! += n * setup.headerBytes;
  }
}

/** The slot's next connection, unless the measurement is draining (or closing). */
function reconnect(slot: number): void {
  if (!running || syncPhase() === PHASE.DRAIN) {
    checkDrained();
    return;
  }
  slots[slot] = new Conn(slot, null);
}

function rampedOne(): void {
  unramped--;
  if (unramped === 0 && onRamped) {
    const done = onRamped;
    onRamped = null;
    done();
  }
}

function checkDrained(): void {
  if (!onDrained) return;
  for (const c of slots) if (c.live) return;
  const done = onDrained;
  onDrained = null;
  done();
}

function checkTimeouts(): void {
  const now = performance.now();
  for (const c of slots) {
    if (c.open && c.inflight > 0 && c.timedOutAt !== c.acked && now - c.starts[c.head]! > setup.timeoutMs) {
      c.timedOutAt = c.acked;
      counters[C.TIMEOUTS]! += 1;
      errors.count(new ReplyTimeoutError(`a message had no reply within ${setup.timeoutMs} ms`));
    }
  }
}

async function connectAll(): Promise<FromWorker> {
  slots = [];
  const settled = await settleAll(
    setup.connections,
    setup.connectTimeoutMs,
    `no connection to ${setup.host}:${setup.port} within ${setup.connectTimeoutMs} ms`,
    (timedOut) => {
      for (const c of slots) c.giveUp(timedOut);
    },
    (settle) => {
      for (let i = 0; i < setup.connections; i++) slots.push(new Conn(i, settle));
    },
  );
  return {
    type: 'connected',
    failed: settled.failed,
    failedKinds: settled.failedKinds,
    error: settled.error,
    connectMs: settled.ms,
  };
}

function startLoad(): Promise<FromWorker> {
  const startedAt = performance.now();
  const open = slots.filter((c) => c.open);
  unramped = open.length;
  running = true;
  timeoutTimer = setInterval(checkTimeouts, Math.min(1000, setup.timeoutMs / 4));
  return new Promise((resolve) => {
    const rampTimer = setTimeout(() => {
      onRamped = null;
      resolve({ type: 'ramped', rampMs: performance.now() - startedAt, unramped });
    }, setup.rampTimeoutMs);
    onRamped = () => {
      clearTimeout(rampTimer);
      resolve({ type: 'ramped', rampMs: performance.now() - startedAt, unramped: 0 });
    };
    if (unramped === 0) onRamped();
    for (const c of open) c.send(Math.min(setup.pipelining, setup.churn), startedAt);
  });
}

function drain(timeoutMs: number): Promise<FromWorker> {
  syncPhase();
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      if (timeoutTimer) clearInterval(timeoutTimer);
      let unanswered = 0;
      let open = 0;
      for (const c of slots) {
        if (c.open) {
          open++;
          unanswered += c.inflight;
        }
      }
      resolve({
        type: 'drained',
        histogram: encodeHistogram(messages),
        unanswered,
        openConnections: open,
        // Every connection carries `churn` messages; one that did not (an error) shows in the errors.
        connAckedMin: Math.min(setup.churn, ...slots.map((c) => (c.live ? c.acked : setup.churn))),
        connAckedMax: setup.churn,
        errorKinds: { ...errors.kinds },
        firstError: errors.first,
        churn: {
          connections: made,
          completed,
          connectHistogram: encodeHistogram(connectTimes),
          firstReplyHistogram: encodeHistogram(firstReplies),
        },
      });
    };
    const timer = setTimeout(() => {
      onDrained = null;
      finish();
    }, timeoutMs);
    onDrained = finish;
    checkDrained();
  });
}

function configure(next: LoadSetup): void {
  setup = next;
  const payload = Buffer.alloc(setup.sizeBytes, 0x61);
  const frame = encodeFrame(payload, setup.headerBytes);
  frameBytes = frame.length;
  batch = repeatFrame(frame, setup.pipelining);
  expectedReplyBytes = setup.mode === 'echo' ? setup.sizeBytes : Buffer.byteLength(ACK_TEXT);
  messages = createLatencyHistogram(32);
  connectTimes = createLatencyHistogram(32);
  firstReplies = createLatencyHistogram(32);
  measureStart = Number.POSITIVE_INFINITY;
  phase = PHASE.RAMP;
  running = false;
  made = 0;
  completed = 0;
  errors.reset();
  counters.fill(0);
}

serveOrders<ToWorker, FromWorker>({
  setup(order) {
    configure(order.setup);
    return connectAll();
  },
  start: startLoad,
  drain: (order) => drain(order.timeoutMs),
  close: async () => {
    running = false;
    await closeAll(slots);
    return { type: 'closed' };
  },
  exit: () => process.exit(0),
});
