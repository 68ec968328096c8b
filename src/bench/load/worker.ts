/**
 * A load-generating thread: owns many connections and drives them through one
 * measurement (connect, ramp, warm-up, measured window, drain), on orders from
 * run.ts. Reports live counts through shared memory (counters.ts) and its
 * latency histogram, encoded, at the end.
 *
 * Hot path: each connection reads with `onread` into the thread's one reused
 * buffer (no allocation per read, no stream machinery), decodes with the
 * protocol's FrameDecoder (in ack mode, a read of nothing but whole acks is
 * checked word by word against the ack frame instead: repeated-frame.ts), and
 * answers every batch of replies with ONE write of
 * a view into pre-built back-to-back frames, straight to the socket's handle
 * (handle-write.ts: no stream machinery per write either). One clock read per
 * read callback; latencies go into a LatencyRecorder (integer bucket indexing,
 * the same buckets as the HdrHistogram it becomes at the end).
 *
 * Churn (--churn K, churn.ts counts): each connection of a slot sends K
 * messages, closes once the K-th reply is in, and the slot's next connection
 * is made at once. Once the drain begins none is made again, but the open
 * ones still send all their K, so messages = K x connections exactly.
 */
import type net from 'node:net';
import {
  ACK_TEXT,
  BadReplyError,
  ConnectError,
  ConnectionClosedError,
  ConnectTimeoutError,
  encodeFrame,
  encodeTextFrame,
  FrameDecoder,
  type HandoffError,
  parseErrorPayload,
  repeatFrame,
  ReplyTimeoutError,
  socketFailureText,
  UnexpectedReplyError,
  withHeaderSizeHint,
} from '../../protocol/index.ts';
import { C, FIELDS, PHASE } from './counters.ts';
import { handleWriter, type Writer } from './handle-write.ts';
import { LatencyRecorder } from './histogram.ts';
import { encodeHistogram } from '../shared/latency.ts';
import { Churn, CHURN_RETRY_MS } from './churn.ts';
import { RateClock, type Scheduled } from './rate-clock.ts';
import { RepeatedFrame } from './repeated-frame.ts';
import { closeAll, connectReading, ErrorTally, serveOrders, settleAll, threadShared, WindowCpu } from './thread-kit.ts';
import type { FromWorker, LoadSetup, ToWorker } from './messages.ts';

const READ_BUFFER_BYTES = 256 * 1024;
const BANG = 0x21; // '!': first byte of an error payload

const { counters, control } = threadShared(FIELDS);
/** The clock of every read: bound once, it skips `performance.now`'s receiver check (a sixth of its cost). */
const clockNow = performance.now.bind(performance);
const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);

let setup: LoadSetup;
let frameBytes = 0;
/** `pipelining` request frames back to back: a batch of n is one subarray. */
let batch: Buffer = Buffer.alloc(0);
let expectedReplyBytes = 0;
/** What an ack says: a first reply that is one, where echoes were expected, names the mismatch. */
const ACK_PAYLOAD = Buffer.from(ACK_TEXT, 'latin1');
/** Ack mode: the ack frame, to check a read of whole acks against in one go; null in echo mode. */
let wholeAcks: RepeatedFrame | null = null;
/**
 * Your own payloads (--payload-file): their frames back to back, cycled so that
 * any `pipelining` of them from any start are one subarray; `frameAt[i]` is
 * where frame i starts (frameAt[i + 1] where it ends); null for synthetic ones.
 */
let cycle: Buffer | null = null;
let frameAt = new Int32Array(0);
let payloadCount = 0;
/** Echo mode with your own payloads: each frame's payload length, to check the echo against. */
let payloadLengths = new Int32Array(0);
/** --amount: messages this thread may still send (Infinity: no limit). */
let budget = Number.POSITIVE_INFINITY;
let latency = new LatencyRecorder();
let conns: Conn[] = [];
/** When the load started (the ramp), this thread's clock. */
let startedAt = 0;
/** Start of the measured window in this thread's clock; +Infinity until known. */
let measureStart = Number.POSITIVE_INFINITY;
let phase: number = PHASE.RAMP;
let unramped = 0;
let onRamped: (() => void) | null = null;
let onDrained: (() => void) | null = null;
let timeoutTimer: NodeJS.Timeout | null = null;
/** --churn: this measurement's connections are made again after their K messages; null: they stay open. */
let churn: Churn | null = null;
const errors = new ErrorTally(counters, C.ERRORS);
const windowCpu = new WindowCpu();
const countError = (err: HandoffError) => errors.count(err);

/** Picks up phase changes lazily, once per read: an Atomics.load is cheap, a message would not be. */
function syncPhase(): number {
  const p = control.phase;
  if (p !== phase) {
    phase = p;
    windowCpu.see(p);
    if (p >= PHASE.MEASURE && measureStart === Number.POSITIVE_INFINITY) {
      measureStart = control.measureStartEpochMs - performance.timeOrigin;
    }
  }
  return p;
}

class Conn implements Scheduled {
  readonly socket: net.Socket;
  readonly decoder: FrameDecoder;
  /** Start time of each message in flight (when it was due), a ring of `pipelining`. */
  readonly starts: Float64Array;
  /** Your own payloads: which one each message in flight is (same ring as `starts`), and the next to send. */
  readonly which: Int32Array;
  nextPayload = 0;
  head = 0;
  inflight = 0;
  acked = 0;
  open = false;
  closing = false;
  /** This connection's loss is counted already (an !ERROR frame, a socket error, a bad reply): its close is not a second error. */
  errored = false;
  /** Replies decoded in the current read. */
  batchReplies = 0;
  now = 0;
  /** Rate mode: schedule origin, interval and index of the next message due. */
  t0 = 0;
  nextIndex = 0;
  /** `acked` when the oldest message was last counted as timed out (-1 = none). */
  timedOutAt = -1;
  /** Connected, or given up on: the connect phase has heard from this connection, once. */
  settled = false;
  /** Churn: its place in `conns`, whether it is of the first connect phase (the ramp counts those), and its life. */
  readonly slot: number;
  readonly initial: boolean;
  readonly began = performance.now();
  sent = 0;
  /** Neither closed nor given up on. */
  live = true;
  readonly #onConnect: (err?: HandoffError) => void;
  /** Straight to the socket's handle once connected (handle-write.ts); the stream until then. */
  #out: Writer = (data) => void this.socket.write(data);

  constructor(onConnect: (err?: HandoffError) => void, slot: number, initial = true) {
    this.#onConnect = onConnect;
    this.slot = slot;
    this.initial = initial;
    this.starts = new Float64Array(setup.pipelining);
    this.which = new Int32Array(cycle ? setup.pipelining : 0);
    this.decoder = new FrameDecoder(
      {
        headerBytes: setup.headerBytes,
        maxMessageBytes: Math.max(setup.sizeBytes, 4096),
        // Where a reply lies in the read buffer, not a view of it: a Buffer view per reply was
        // the hot path's one allocation (and a third of its JavaScript time, with the GC it caused).
        onWholePayload: (chunk, start, end) => this.#onReply(chunk, start, end),
      },
      (payload) => this.#onReply(payload, 0, payload.length),
      (err) => {
        const bad = new BadReplyError(`the server's bytes are not a reply frame: ${err.message}`, { cause: err });
        countError(this.acked === 0 ? withHeaderSizeHint(bad, setup.headerBytes) : bad);
        // Our own close, not the server's: not a second error.
        this.errored = true;
        this.socket.destroy();
      },
    );
    this.socket = connectReading(setup.host, setup.port, readBuffer, (n) => this.#onRead(n), setup.tls);
    this.socket.once('connect', () => {
      if (this.settled) return;
      this.#out = handleWriter(this.socket).write;
      this.settled = true;
      this.open = true;
      counters[C.OPEN]! += 1;
      counters[C.CONNECTS]! += 1;
      churn?.connected(this.began, performance.now());
      this.#onConnect();
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!this.settled) {
        this.#settleFailed(new ConnectError(socketFailureText(err), { cause: err }));
        return;
      }
      if (this.closing || this.errored) return;
      // One error per lost connection: the 'close' that follows is not counted again.
      this.errored = true;
      countError(new ConnectionClosedError(`socket error ${err.code ?? '(no errno)'}: ${err.message}`, { cause: err }));
    });
    this.socket.on('close', () => {
      if (this.open) counters[C.OPEN]! -= 1;
      const wasOpen = this.open;
      this.open = false;
      this.live = false;
      if (wasOpen && !this.closing) {
        if (!this.errored) countError(new ConnectionClosedError('the server closed a connection mid-run'));
        if (this.acked === 0 && this.initial) rampedOne();
        if (churn) reconnect(this.slot);
      }
      if (this.inflight > 0) this.inflight = 0;
      checkDrained();
      checkSpent();
    });
  }

  /** The connect deadline passed: gives this connection up, if it is still pending, and reports it. */
  giveUp(err: ConnectTimeoutError): void {
    if (this.settled) return;
    this.#settleFailed(err);
    // destroy() without an error emits no 'error': the report above is the only one.
    this.socket.destroy();
  }

  #settleFailed(err: HandoffError): void {
    this.settled = true;
    this.live = false;
    this.#onConnect(err);
  }

  #onRead(nread: number): boolean {
    this.now = clockNow();
    counters[C.RX_WIRE]! += nread;
    this.batchReplies = 0;
    const acks = wholeAcks !== null && this.decoder.atFrameStart ? wholeAcks.count(nread) : 0;
    if (acks > 0) for (let i = 0; i < acks; i++) this.#counted();
    else this.decoder.push(readBuffer, nread); // the end, not a view: no allocation per read
    const replies = this.batchReplies;
    if (replies === 0) return true;
    counters[C.ACKED]! += replies;
    counters[C.RX_HEADER]! += replies * setup.headerBytes;
    if (this.acked === replies) {
      if (this.initial) rampedOne();
      churn?.firstReply(this.began, this.now);
    }
    if (churn !== null) {
      churnNext(this, churn, replies);
      return true;
    }
    const p = syncPhase();
    if (budget === 0 && this.inflight === 0) checkSpent();
    if (p === PHASE.DRAIN) {
      if (this.inflight === 0) checkDrained();
    } else if (setup.intervalMs === 0) {
      this.send(replies, this.now);
    } else {
      this.pump(this.now);
    }
    return true;
  }

  /** Checks one reply, `chunk[from, to)`, and counts it (and its latency) against the oldest message in flight. */
  #onReply(chunk: Buffer, from: number, to: number): void {
    const length = to - from;
    if (length > 0 && chunk[from] === BANG) {
      const err = parseErrorPayload(chunk.subarray(from, to));
      if (err) {
        // The server closes after an error frame: this is not a reply to a message.
        countError(err);
        this.errored = true;
        this.decoder.stop();
        return;
      }
    }
    if (this.inflight === 0) {
      countError(new UnexpectedReplyError('a reply to no message'));
      return;
    }
    const expected = payloadLengths.length > 0 ? payloadLengths[this.which[this.head]!]! : expectedReplyBytes;
    if (length !== expected) {
      if (this.acked > 0) countError(new BadReplyError(`reply of ${length} bytes, expected ${expected}`));
      else {
        // A first reply of the wrong length: the other mode's replies, or not this protocol's frames at this header size.
        countError(firstReplyMismatch(chunk.subarray(from, to), expected));
        this.errored = true;
        this.decoder.stop();
        this.socket.destroy();
        return;
      }
    }
    this.#counted();
  }

  /** Counts a reply found good (and its latency) against the oldest message in flight. */
  #counted(): void {
    if (this.inflight === 0) {
      countError(new UnexpectedReplyError('a reply to no message'));
      return;
    }
    const start = this.starts[this.head]!;
    this.head = this.head + 1 === this.starts.length ? 0 : this.head + 1;
    this.inflight--;
    this.acked++;
    this.batchReplies++;
    // Only messages due inside the window and answered before its end count,
    // so warm-up and drain transients stay out of the histogram.
    if (start >= measureStart && phase === PHASE.MEASURE) {
      const ns = Math.round((this.now - start) * 1e6);
      latency.record(ns);
    }
  }

  /** Sends `n` messages (fewer if --amount's budget is nearly spent) whose latency clock starts at `due`. */
  send(n: number, due: number): void {
    if (n > budget) n = budget;
    if (!this.open || n === 0) return;
    const ring = this.starts;
    let slot = this.head + this.inflight;
    for (let i = 0; i < n; i++) {
      if (slot >= ring.length) slot -= ring.length;
      ring[slot++] = due;
    }
    this.#write(n);
  }

  /**
   * Rate mode: sends every message now due, as far as the pipeline allows. A
   * message's clock starts when the schedule said it should go, not when it
   * could (wrk2's correction): a stalled server leaves messages due and
   * unsent, and their waiting shows in the latency.
   */
  pump(now: number): void {
    if (!this.open) return;
    const ring = this.starts;
    let slot = this.head + this.inflight;
    let n = 0;
    while (this.inflight + n < setup.pipelining && n < budget) {
      const due = this.t0 + this.nextIndex * setup.intervalMs;
      if (due > now) break;
      if (slot >= ring.length) slot -= ring.length;
      ring[slot++] = due;
      this.nextIndex++;
      n++;
    }
    if (n === 0) return;
    this.#write(n);
  }

  /** Writes the next `n` frames in one write and counts them (their start times are in the ring already). */
  #write(n: number): void {
    this.inflight += n;
    this.sent += n;
    // Unlimited (no --amount) stays Infinity untouched: a module-level number written per
    // write is a new heap number each time (V8 boxes it), about half of what the load thread
    // allocated per message (scavenges per million messages 47.6 -> 25.4).
    if (budget !== Number.POSITIVE_INFINITY) budget -= n;
    let bytes = n * frameBytes;
    if (cycle === null) {
      this.#out(n === setup.pipelining ? batch : batch.subarray(0, bytes));
    } else {
      const from = this.nextPayload;
      bytes = frameAt[from + n]! - frameAt[from]!;
      this.#out(cycle.subarray(frameAt[from], frameAt[from + n]));
      // Which payload each of them is, in the ring slots just filled (the echo's length is checked against it).
      let slot = this.head + this.inflight - n;
      for (let i = 0; i < n; i++) {
        if (slot >= this.which.length) slot -= this.which.length;
        this.which[slot++] = (from + i) % payloadCount;
      }
      this.nextPayload = (from + n) % payloadCount;
    }
    counters[C.SENT]! += n;
    counters[C.TX_WIRE]! += bytes;
    counters[C.TX_HEADER]! += n * setup.headerBytes;
  }

  nextDue(): number {
    return this.inflight < setup.pipelining ? this.t0 + this.nextIndex * setup.intervalMs : Number.POSITIVE_INFINITY;
  }
}

function rampedOne(): void {
  unramped--;
  if (unramped === 0 && onRamped) {
    const done = onRamped;
    onRamped = null;
    done();
  }
}

/** Churn, after a read's replies: close once all K are in (and make the slot's next connection), else send on. */
function churnNext(c: Conn, churn: Churn, replies: number): void {
  if (c.acked < churn.k) {
    c.send(Math.min(replies, churn.k - c.sent), c.now);
    return;
  }
  c.closing = true;
  churn.completed++;
  c.socket.destroy();
  reconnect(c.slot);
}

/** Churn: the slot's next connection, unless the measurement is draining or closing. */
function reconnect(slot: number): void {
  if (!churn?.running || syncPhase() === PHASE.DRAIN) {
    checkDrained();
    return;
  }
  const next: Conn = new Conn(
    (err) => {
      if (err) {
        countError(err);
        setTimeout(() => reconnect(slot), CHURN_RETRY_MS);
      } else if (churn) next.send(Math.min(setup.pipelining, churn.k), performance.now());
    },
    slot,
    false,
  );
  conns[slot] = next;
}

/**
 * The first reply of a connection is not the length expected: what it most likely is, with
 * the flag that fixes it (a server in the other mode), or the header size hint.
 */
function firstReplyMismatch(reply: Buffer, expected: number): BadReplyError {
  const bad = new BadReplyError(`reply of ${reply.length} bytes, expected ${expected}`);
  if (setup.mode === 'echo' && reply.equals(ACK_PAYLOAD)) {
    bad.message += `: the server acks each message ("${ACK_TEXT}") instead of sending it back; measure it with --mode ack`;
    return bad;
  }
  if (setup.mode === 'ack' && reply.length === setup.sizeBytes && !reply.equals(ACK_PAYLOAD)) {
    bad.message +=
      `: the replies are not acks ("${ACK_TEXT}") but as long as the messages sent: the server sends each ` +
      'message back (serve --mode echo); measure it with --mode echo';
    return bad;
  }
  return withHeaderSizeHint(bad, setup.headerBytes);
}

/**
 * --amount: once the budget is spent and every reply is in (or its connection gone), says so
 * in C.DONE; so too once every connection is gone for good (each gave up on a reply it could
 * not read): nothing is left to spend the budget, and the run must end with that error.
 */
function checkSpent(): void {
  if (counters[C.DONE] === 1) return;
  if (budget !== 0) {
    if (budget !== Number.POSITIVE_INFINITY && conns.every((c) => !c.open && !c.live)) counters[C.DONE] = 1;
    return;
  }
  for (const c of conns) if (c.open && c.inflight > 0) return;
  counters[C.DONE] = 1;
}

function checkDrained(): void {
  if (!onDrained) return;
  // Churn: every connection made sends all its K messages, so the drain waits for each to close.
  for (const c of conns) if ((c.open && c.inflight > 0) || (churn !== null && c.live)) return;
  const done = onDrained;
  onDrained = null;
  done();
}

/** Rate mode's clock (rate-clock.ts); stops itself once the drain begins. */
const clock = new RateClock(counters, C.SPIN_MS, () => syncPhase() === PHASE.DRAIN);

/** Counts a message as timed out (ERR_REPLY_TIMEOUT) once while it stays unanswered past the limit. */
function checkTimeouts(): void {
  const now = performance.now();
  for (const c of conns) {
    if (c.open && c.inflight > 0 && c.timedOutAt !== c.acked && now - c.starts[c.head]! > setup.timeoutMs) {
      c.timedOutAt = c.acked;
      counters[C.TIMEOUTS]! += 1;
      const late = new ReplyTimeoutError(`a message had no reply within ${setup.timeoutMs / 1000} s`);
      countError(c.acked === 0 ? withHeaderSizeHint(late, setup.headerBytes) : late);
    }
  }
}

async function connectAll(): Promise<FromWorker> {
  conns = [];
  const settled = await settleAll(
    setup.connections,
    setup.connectTimeoutMs,
    `no answer within ${setup.connectTimeoutMs / 1000} s`,
    (timedOut) => {
      for (const c of conns) c.giveUp(timedOut);
    },
    (settle) => {
      for (let i = 0; i < setup.connections; i++) conns.push(new Conn(settle, i));
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
  startedAt = performance.now();
  const open = conns.filter((c) => c.open);
  // --amount: fewer messages than connections leave some idle, so there is no ramp to wait for.
  unramped = setup.budget >= 0 ? 0 : open.length;
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
    if (churn) churn.running = true;
    if (setup.intervalMs === 0) {
      const first = churn ? Math.min(setup.pipelining, churn.k) : setup.pipelining;
      for (const c of open) c.send(first, startedAt);
    } else {
      // Spread the connections' schedules over one interval so the load is smooth, not in bursts.
      open.forEach((c, i) => {
        c.t0 = startedAt + (setup.intervalMs * (i + setup.phaseOffset)) / open.length;
      });
      clock.start(open);
    }
    // A share of 0 (--amount below the thread count), or every connection already gone.
    checkSpent();
  });
}

function drain(timeoutMs: number): Promise<FromWorker> {
  syncPhase();
  clock.stop();
  return new Promise((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      if (timeoutTimer) clearInterval(timeoutTimer);
      let unanswered = 0;
      let min = Number.POSITIVE_INFINITY;
      let max = 0;
      let open = 0;
      for (const c of conns) {
        if (c.open) {
          open++;
          unanswered += c.inflight;
        }
        if (c.acked < min) min = c.acked;
        if (c.acked > max) max = c.acked;
      }
      resolve({
        type: 'drained',
        histogram: encodeHistogram(latency.toHistogram()),
        unanswered,
        openConnections: open,
        connAckedMin: conns.length ? min : 0,
        connAckedMax: max,
        errorKinds: { ...errors.kinds },
        firstError: errors.first,
        cpuSeconds: windowCpu.seconds(),
        ...(churn ? { churn: churn.report() } : {}),
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
  const payload = Buffer.alloc(setup.sizeBytes, 0x61); // 'a'...: printable if anyone looks
  const frame = encodeFrame(payload, setup.headerBytes);
  frameBytes = frame.length;
  batch = repeatFrame(frame, setup.pipelining);
  expectedReplyBytes = setup.mode === 'echo' ? setup.sizeBytes : Buffer.byteLength(ACK_TEXT);
  wholeAcks = setup.mode === 'echo' ? null : RepeatedFrame.of(encodeTextFrame(ACK_TEXT, setup.headerBytes), readBuffer);
  buildCycle(setup.payloads);
  budget = setup.budget >= 0 ? setup.budget : Number.POSITIVE_INFINITY;
  latency = new LatencyRecorder();
  churn = setup.churn > 0 ? new Churn(setup.churn, (began) => began >= measureStart && phase === PHASE.MEASURE) : null;
  measureStart = Number.POSITIVE_INFINITY;
  phase = PHASE.RAMP;
  windowCpu.reset();
  errors.reset();
  counters.fill(0);
}

/** Frames of your own payloads, cycled so that any `pipelining` of them in a row are one subarray. */
function buildCycle(payloads: readonly string[] | null): void {
  if (!payloads) {
    cycle = null;
    payloadCount = 0;
    payloadLengths = new Int32Array(0);
    return;
  }
  payloadCount = payloads.length;
  const encoded = payloads.map((p) => Buffer.from(p, 'utf8'));
  const frames = Array.from({ length: payloadCount + setup.pipelining }, (_, i) =>
    encodeFrame(encoded[i % payloadCount]!, setup.headerBytes),
  );
  frameAt = new Int32Array(frames.length + 1);
  for (let i = 0; i < frames.length; i++) frameAt[i + 1] = frameAt[i]! + frames[i]!.length;
  cycle = Buffer.concat(frames);
  payloadLengths = setup.mode === 'echo' ? Int32Array.from(encoded, (b) => b.length) : new Int32Array(0);
}

serveOrders<ToWorker, FromWorker>({
  setup(order) {
    configure(order.setup);
    return connectAll();
  },
  start: startLoad,
  drain: (order) => drain(order.timeoutMs),
  close: async () => {
    if (churn) churn.running = false;
    await closeAll(conns);
    return { type: 'closed' };
  },
  exit: () => process.exit(0),
});
