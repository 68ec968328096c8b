/**
 * A chat load thread: owns some of the room's connections (senders and
 * receivers, layout.ts) and drives them through one measurement on orders from
 * chat/run.ts: connect and enter the room, send (closed loop or at a rate),
 * stop, drain, report.
 *
 * Hot path, once per delivery: every connection reads with `onread` into the
 * thread's one reused buffer; the protocol's parser (wire.ts) walks it in
 * place and hands each delivery over as byte offsets; the stamp (stamp.ts) is
 * read from there, checked against the per-sender order (order-checker.ts) and,
 * when new and sent inside the window, its latency is recorded (histogram.ts's
 * LatencyRecorder, HdrHistogram buckets). Nothing is allocated unless a frame
 * is split across reads (split-frames.ts) or something is wrong. One clock
 * read per read callback.
 */
import type net from 'node:net';
import {
  BadReplyError,
  ConnectError,
  socketFailureText,
  ConnectionClosedError,
  ConnectTimeoutError,
  type HandoffError,
  UnexpectedReplyError,
} from '../../../protocol/index.ts';
import { PHASE } from '../counters.ts';
import { LatencyRecorder } from '../histogram.ts';
import { encodeHistogram } from '../../shared/latency.ts';
import { RateClock, type Scheduled } from '../rate-clock.ts';
import { closeAll, connectReading, ErrorTally, serveOrders, settleAll, threadShared } from '../thread-kit.ts';
import {
  CHAT_FIELDS,
  type ChatDrained,
  type ChatSetup,
  type FromChatWorker,
  K,
  type ToChatWorker,
} from './messages.ts';
import type { ChatConnSpec } from './layout.ts';
import { sendersIn } from './layout.ts';
import { OrderChecker } from './order-checker.ts';
import {
  isStamp,
  payloadTemplate,
  stampCounted,
  stampDueNs,
  stampSender,
  stampSeq,
  STAMP_BYTES,
  writeStamp,
} from './stamp.ts';
import { SplitFrames } from './split-frames.ts';
import { alignedBuffer, type ChatSink, type ChatWire, NATS_PING_BYTES, NATS_PONG_BYTES, wireFor } from './wire.ts';

const READ_BUFFER_BYTES = 256 * 1024;
/** How often the drain looks whether everything has arrived. */
const DRAIN_POLL_MS = 5;

const { counters, control } = threadShared(CHAT_FIELDS);
const { buf: readBuffer, words: readWords } = alignedBuffer(READ_BUFFER_BYTES);

let setup: ChatSetup;
let wire: ChatWire;
let conns: ChatConn[] = [];
let senders: ChatConn[] = [];
let checker = new OrderChecker(0);
let latency = new LatencyRecorder();
// Copies of setup's figures the delivery path reads (module lets, not property loads).
/** For each room, sender id -> its track there (its place among the room's senders), -1 for other rooms' senders. */
let sendersTrack: Int32Array[] = [];
/** The measurement's clock origin (performance.now() ms): stamps carry ns since then. */
let originMs = 0;
/** Each room's name as bytes (deliveries are checked against it), and one message into it. */
let roomBytes: Buffer[] = [];
let messages: Array<{ bytes: Buffer; payloadAt: number }> = [];
let phase: number = PHASE.RAMP;
let sending = false;
/** The clock of the read being handled (performance.now()). */
let now = 0;
let presence = 0;
let frames = 0;
let ackMismatches = 0;
const errors = new ErrorTally(counters, K.errors);
const countError = (err: HandoffError) => errors.count(err);

/** Picks up phase changes lazily (an Atomics.load per read, not a message). */
function syncPhase(): number {
  phase = control.phase;
  return phase;
}

class ChatConn implements ChatSink, Scheduled {
  need = 0;
  dead = false;
  readonly spec: ChatConnSpec;
  readonly socket: net.Socket;
  readonly sender: boolean;
  /** Gets the room's messages (every handoff member, NATS/Redis receivers). */
  readonly receives: boolean;
  /** Only receives: its deliveries are the figure to compare across servers. */
  readonly receiverOnly: boolean;
  /** First order-checker track of this connection: one per sender of its room. */
  readonly trackBase: number;
  readonly room: Buffer;
  readonly sid: number;
  /** Sender id -> its track among this connection's (sendersTrack of its room). */
  readonly #tracks: Int32Array;
  // The thread's accounting, held here: the delivery path reads fields, not module bindings.
  readonly #checker: OrderChecker = checker;
  readonly #latency: LatencyRecorder = latency;
  readonly textBytes: number = setup.sizeBytes;
  /** ns since the measurement's origin, at the read being handled. */
  #nowNs = 0;
  readonly #frames = new SplitFrames(wire);
  /** Connected; in the room; heard from by the setup phase (in, or given up on); being closed by us. */
  open = false;
  ready = false;
  settled = false;
  closing = false;
  /** Sender side: messages sent, answered (NATS: PONGs x k), PONGs, sent inside the window; the schedule's origin. */
  readonly out = { seq: 0, acked: 0, pongs: 0, counted: 0, t0: 0 };
  /** Receiver side. */
  distinct = 0;
  distinctCounted = 0;
  windowDeliveries = 0;
  expectedTotal = 0;
  expectedCounted = 0;
  /** Deliveries and answers decoded in the current read. */
  #readDeliveries = 0;
  #readAcks = 0;
  readonly #onSettle: (err?: HandoffError) => void;

  constructor(spec: ChatConnSpec, trackBase: number, onSettle: (err?: HandoffError) => void) {
    this.spec = spec;
    this.sender = spec.sid >= 0;
    this.receives = !this.sender || wire.sendersReceive;
    this.receiverOnly = !this.sender;
    this.trackBase = trackBase;
    this.room = roomBytes[spec.room]!;
    this.sid = spec.sid;
    this.#tracks = sendersTrack[spec.room]!;
    this.#onSettle = onSettle;
    const endpoint = setup.endpoints[spec.endpoint]!;
    this.socket = connectReading(endpoint.host, endpoint.port, readBuffer, (n) => this.#onRead(n));
    this.socket.once('connect', () => {
      this.open = true;
      counters[K.open]! += 1;
      this.socket.write(wire.join(setup.roomNames[spec.room]!, this.sender, setup.lobby));
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.closing || this.dead) return;
      this.dead = true;
      if (!this.settled) this.settle(new ConnectError(socketFailureText(err), { cause: err }));
      else countError(new ConnectionClosedError(`socket error ${err.code ?? '(no errno)'}: ${err.message}`));
    });
    this.socket.on('close', () => {
      if (this.open) counters[K.open]! -= 1;
      this.open = false;
      if (!this.closing && !this.dead) {
        this.dead = true;
        const err = new ConnectionClosedError('the server closed a connection mid-run');
        if (!this.settled) this.settle(err);
        else countError(err);
      }
    });
  }

  /** In the room, or given up: the setup phase hears from each connection once. */
  settle(err?: HandoffError): void {
    if (this.settled) return;
    this.settled = true;
    this.#onSettle(err);
  }

  /** The setup deadline passed: gives this connection up if it is not in the room yet. */
  giveUp(err: ConnectTimeoutError): void {
    if (this.settled) return;
    this.settle(err);
    this.dead = true;
    this.socket.destroy();
  }

  #onRead(nread: number): boolean {
    now = performance.now();
    this.#nowNs = Math.round((now - originMs) * 1e6);
    counters[K.rxWire]! += nread;
    counters[K.reads]! += 1;
    this.#readDeliveries = 0;
    this.#readAcks = 0;
    this.#frames.consume(this, readBuffer, readWords, nread);
    const deliveries = this.#readDeliveries;
    if (deliveries > 0) {
      frames += deliveries;
      counters[K.deliveries]! += deliveries;
      if (this.receiverOnly) counters[K.receiverDeliveries]! += deliveries;
      if (syncPhase() === PHASE.MEASURE) this.windowDeliveries += deliveries;
    }
    if (this.#readAcks > 0) {
      counters[K.acked]! += this.#readAcks;
      if (sending) this.pump(now);
    }
    // A long run of reads must not starve the schedule: what fell due meanwhile goes now.
    clock.poke(now);
    return true;
  }

  // ChatSink: what the parser found.

  delivery(buf: Buffer, textStart: number, textEnd: number): void {
    this.#readDeliveries++;
    const sid = textEnd - textStart === this.textBytes && isStamp(buf, textStart) ? stampSender(buf, textStart) : -1;
    const track = sid >= 0 && sid < this.#tracks.length && sid !== this.sid ? this.#tracks[sid]! : -1;
    if (track < 0 || !this.receives) {
      this.fail(new BadReplyError('a delivery that is no message of this bench for this connection (or its own)'));
      return;
    }
    if (!this.#checker.record(this.trackBase + track, stampSeq(buf, textStart))) return;
    this.distinct++;
    if (stampCounted(buf, textStart)) {
      this.distinctCounted++;
      this.#latency.record(this.#nowNs - stampDueNs(buf, textStart));
    }
  }

  ack(reported: number): void {
    if (!this.sender || this.out.acked >= this.out.seq) {
      this.fail(new UnexpectedReplyError('an answer to no message'));
      return;
    }
    this.out.acked++;
    this.#readAcks++;
    if (reported >= 0 && reported !== setup.receiversPerRoom[this.spec.room]) ackMismatches++;
  }

  pong(): void {
    if (!this.ready) {
      this.#enter();
      return;
    }
    const k = setup.natsPingEvery;
    if (wire.kind !== 'nats' || !this.sender || this.out.pongs >= Math.floor(this.out.seq / k)) {
      this.fail(new UnexpectedReplyError('a PONG to no PING'));
      return;
    }
    this.out.pongs++;
    this.out.acked = this.out.pongs * k;
    this.#readAcks += k;
  }

  ping(): void {
    this.socket.write(NATS_PONG_BYTES);
  }

  joined(): void {
    if (this.ready) this.fail(new UnexpectedReplyError('a second confirmation of the join'));
    else this.#enter();
  }

  #enter(): void {
    this.ready = true;
    this.settle();
  }

  presence(): void {
    presence++;
  }

  fail(err: HandoffError): void {
    if (this.dead) return;
    this.dead = true;
    if (this.settled) countError(err);
    else this.settle(err);
    this.socket.destroy();
  }

  // Sending.

  /** Messages the window allows now (NATS: whole PING batches, as its PONGs acknowledge batches). */
  #allowed(): number {
    if (wire.kind === 'nats') {
      const k = setup.natsPingEvery;
      return (this.out.pongs + Math.ceil(setup.window / k)) * k - this.out.seq;
    }
    return setup.window - (this.out.seq - this.out.acked);
  }

  /**
   * Sends what the window allows (closed loop), or what is due and allowed (rate
   * mode: the stamp then says when it was due, so time spent waiting for the
   * window counts in the latency).
   */
  pump(at: number): void {
    if (!this.open || this.dead || !this.ready || syncPhase() === PHASE.DRAIN) return;
    let n = this.#allowed();
    const interval = setup.intervalMs;
    if (interval > 0) n = Math.min(n, Math.floor((at - this.out.t0) / interval) + 1 - this.out.seq);
    if (n <= 0) return;
    const counted = phase === PHASE.MEASURE;
    const { bytes, payloadAt } = messages[this.spec.room]!;
    const k = wire.kind === 'nats' ? setup.natsPingEvery : 0;
    const pings = k > 0 ? Math.floor((this.out.seq + n) / k) - Math.floor(this.out.seq / k) : 0;
    const out = Buffer.allocUnsafe(n * bytes.length + pings * NATS_PING_BYTES.length);
    let off = 0;
    for (let i = 0; i < n; i++) {
      out.set(bytes, off);
      const dueMs = interval > 0 ? this.out.t0 + this.out.seq * interval : at;
      writeStamp(out, off + payloadAt, this.spec.sid, this.out.seq, counted, (dueMs - originMs) * 1e6);
      off += bytes.length;
      this.out.seq++;
      if (k > 0 && this.out.seq % k === 0) {
        out.set(NATS_PING_BYTES, off);
        off += NATS_PING_BYTES.length;
      }
    }
    this.socket.write(out);
    if (counted) this.out.counted += n;
    counters[K.sent]! += n;
    counters[K.txWire]! += out.length;
  }

  nextDue(): number {
    return this.#allowed() > 0 && this.ready && !this.dead
      ? this.out.t0 + this.out.seq * setup.intervalMs
      : Number.POSITIVE_INFINITY;
  }
}

/** Rate mode's clock; it stops itself once the drain begins. */
const clock = new RateClock(counters, K.spinMs, () => syncPhase() === PHASE.DRAIN);

function configure(next: ChatSetup): void {
  setup = next;
  wire = wireFor(setup.kind, setup.headerBytes);
  const payload = payloadTemplate(Math.max(setup.sizeBytes, STAMP_BYTES));
  roomBytes = setup.roomNames.map((name) => Buffer.from(name, 'latin1'));
  messages = setup.roomNames.map((name) => wire.message(name, payload));
  latency = new LatencyRecorder();
  originMs = setup.originMs;
  // A table lookup on the delivery path instead of an integer division and a remainder.
  sendersTrack = setup.roomNames.map((_, room) =>
    Int32Array.from({ length: setup.senders }, (_, sid) =>
      sid % setup.rooms === room ? Math.floor(sid / setup.rooms) : -1,
    ),
  );
  phase = PHASE.RAMP;
  sending = false;
  presence = 0;
  frames = 0;
  ackMismatches = 0;
  errors.reset();
  counters.fill(0);
}

/** Connects every connection of this thread and enters the room, bounded by setupTimeoutMs. */
async function setupAll(): Promise<FromChatWorker> {
  const began = performance.now();
  let connectMs = 0;
  conns = [];
  const where = setup.endpoints.map((e) => `${e.host}:${e.port}`).join(', ');
  const settled = await settleAll(
    setup.conns.length,
    setup.setupTimeoutMs,
    `not connected and in the room within ${setup.setupTimeoutMs / 1000} s (${wire.kind} at ${where})`,
    (late) => {
      for (const c of conns) c.giveUp(late);
    },
    (settle) => {
      // One order-checker track per (receiving connection, sender of its room).
      const receives = (spec: ChatConnSpec) => spec.sid < 0 || wire.sendersReceive;
      const tracksOf = (spec: ChatConnSpec) => (receives(spec) ? sendersIn(spec.room, setup.senders, setup.rooms) : 0);
      checker = new OrderChecker(setup.conns.reduce((a, spec) => a + tracksOf(spec), 0));
      let tracks = 0;
      for (const spec of setup.conns) {
        const c = new ChatConn(spec, tracks, settle);
        tracks += tracksOf(spec);
        conns.push(c);
        c.socket.once('connect', () => {
          if (conns.every((x) => x.open || x.settled)) connectMs = performance.now() - began;
        });
      }
      senders = conns.filter((c) => c.sender);
    },
  );
  const { failed, failedKinds, error, ms } = settled;
  return { type: 'ready', failed, failedKinds, error, connectMs, readyMs: ms };
}

function start(startMs: number): FromChatWorker {
  syncPhase();
  sending = true;
  if (setup.intervalMs === 0) {
    for (const c of senders) c.pump(performance.now());
  } else {
    // Every sender of the run on one schedule, their phases spread evenly over one interval.
    for (const c of senders) c.out.t0 = startMs + (setup.intervalMs * c.spec.sid) / setup.senders;
    clock.start(senders);
  }
  return { type: 'started' };
}

function stop(): FromChatWorker {
  syncPhase();
  sending = false;
  clock.stop();
  return {
    type: 'stopped',
    senders: senders.map((c) => ({ sid: c.spec.sid, sent: c.out.seq, counted: c.out.counted })),
  };
}

/** What each receiving connection should get: every message of the other senders of its room. */
function setExpectations(sentAll: number[], sentCounted: number[]): void {
  const rooms = setup.rooms;
  const roomAll = new Array<number>(rooms).fill(0);
  const roomCounted = new Array<number>(rooms).fill(0);
  sentAll.forEach((n, sid) => {
    roomAll[sid % rooms]! += n;
    roomCounted[sid % rooms]! += sentCounted[sid]!;
  });
  for (const c of conns) {
    if (!c.receives) continue;
    const own = c.spec.sid;
    c.expectedTotal = roomAll[c.spec.room]! - (own >= 0 ? sentAll[own]! : 0);
    c.expectedCounted = roomCounted[c.spec.room]! - (own >= 0 ? sentCounted[own]! : 0);
  }
}

function drain(sentAll: number[], sentCounted: number[], quietMs: number): Promise<FromChatWorker> {
  setExpectations(sentAll, sentCounted);
  const began = performance.now();
  const receiving = conns.filter((c) => c.receives);
  const complete = () => receiving.every((c) => c.dead || !c.open || c.distinct >= c.expectedTotal);
  const received = () => receiving.reduce((a, c) => a + c.distinct, 0);
  return new Promise((resolve) => {
    let last = received();
    let lastProgress = performance.now();
    const timer = setInterval(() => {
      const t = performance.now();
      const r = received();
      if (r !== last) {
        last = r;
        lastProgress = t;
      }
      const done = complete();
      if (!done && t - lastProgress < quietMs) return;
      clearInterval(timer);
      resolve(report(receiving, done, t - began));
    }, DRAIN_POLL_MS);
  });
}

function report(receiving: ChatConn[], drained: boolean, drainMs: number): ChatDrained {
  return {
    type: 'drained',
    histogram: encodeHistogram(latency.toHistogram()),
    receivers: receiving.map((c) => ({
      expected: c.expectedCounted,
      delivered: c.distinctCounted,
      expectedTotal: c.expectedTotal,
      deliveredTotal: c.distinct,
      inWindow: c.windowDeliveries,
      receiverOnly: c.receiverOnly,
      open: c.open && !c.dead,
    })),
    presence,
    frames,
    ackMismatches,
    drained,
    drainMs,
    errorKinds: { ...errors.kinds },
    firstError: errors.first,
    ...checker.counts(),
  };
}

serveOrders<ToChatWorker, FromChatWorker>({
  setup(order) {
    configure(order.setup);
    return setupAll();
  },
  start: (order) => start(order.startMs),
  stop,
  drain: (order) => drain(order.sentAll, order.sentCounted, order.quietMs),
  close: async () => {
    await closeAll(conns);
    return { type: 'closed' };
  },
});
