// Micro-benchmark of the inter-thread hop of the chat fan-out: worker A produces
// batches of `!MSG` frames for worker B, B consumes them, over three transports:
//
//   port       a MessageChannel, port1 transferred to A and port2 to B at start
//   broadcast  a BroadcastChannel of the same name opened in A and in B
//   sab-ring   a SharedArrayBuffer single-producer/single-consumer byte ring
//
// and three payload shapes:
//
//   bytes           one Uint8Array of N concatenated 107-byte frames (structured clone copies it)
//   bytes-transfer  the same, its ArrayBuffer in the transfer list (port only: BroadcastChannel cannot transfer)
//   objects         { room, from, payload }[] of N entries (port and broadcast only), to price cloning objects
//
// with N = 1, 16, 256 frames per batch. Each (transport, shape, N) run uses a
// fresh pair of workers and measures, in order:
//
//   1. throughput, closed loop: A keeps at most --window (64) batches unacknowledged.
//      B acknowledges through an Atomics counter in a SharedArrayBuffer, the same
//      for every transport, not through the channel under test: the server's hop
//      is one-way, and acks over a MessagePort would double its messages and wake-ups
//      and measure a round trip. A counter costs B one Atomics.add per batch. When the
//      window is full A posts a wake-up target (ack count = half a window in flight)
//      and parks with Atomics.waitAsync, so its event loop stays free; B notifies once,
//      when the count reaches that target. (Waking A on every ack would make the loop
//      a ping-pong of wake-ups, one per batch, that the server's one-way hop does not have.)
//      Why 64 and not 8: this VM takes 50-100 µs to wake a sleeping thread, and 8 small
//      batches are gone in less than that, so with 8 both threads sleep on every round
//      and the figures measure wake-ups (a 4x spread between rounds at N = 1); with 64
//      the pipe stays full. --window 8 shows that regime.
//      Figures: batches/s and frames/s received by B, and per-thread CPU
//      (process.threadCpuUsage() inside each worker) per batch and per frame for A
//      and for B, each over its own window between two marks sent by the main thread.
//   2. one-way latency on an idle pipe: A sleeps 1 ms (B has gone back to sleep),
//      stamps performance.timeOrigin + performance.now() into one batch and sends it;
//      B reads the same clock when it holds the batch. performance.timeOrigin is
//      process-wide in Node (the run checks that A and B see the same value). The
//      thread CPU of B over this phase, per batch, is what one hop costs a worker that
//      was asleep (wake-up included).
//
// The ring: records are a 4-byte length and the data, padded to 4 bytes; head and
// tail are byte positions modulo 2^32 in an Int32Array. The consumer drains what is
// there, copying each record out (the ring slot is reused, and a socket write needs
// bytes that stay put), then raises a "consumer waiting" flag, re-checks head and
// parks with Atomics.waitAsync; the producer calls Atomics.notify only when that flag
// is up. A full ring: the producer parks with Atomics.waitAsync on the tail (same
// flag protocol in the other direction) and retries the batch when woken. It neither
// spins (on two cores a spinning producer takes the consumer's core) nor blocks in
// Atomics.wait (that would stall the worker's event loop and its sockets). The default
// ring (smallest power of two holding a full window of the biggest batch: 2 MiB) is
// never filled by the closed loop; the run counts full-ring waits anyway (--ring-kib
// smaller to exercise them).
//
// The consumer's work is deliberately minimal (check the frame count, read the stamp,
// touch each object's fields): the figures are the hop's cost, not framing. The objects
// shape would also need B to encode the frames before writing them to its sockets; that
// is not counted.
//
// The runs are interleaved: every round runs every case, the transports side by side
// (port, broadcast, sab-ring, ...), and the report gives the median over the rounds.
//
//   node src/bench/micro/thread-hop.ts                        # ~1.5 min on 2 cores
//   node src/bench/micro/thread-hop.ts --seconds 2 --rounds 5 --json results/published/thread-hop.json
//   node src/bench/micro/thread-hop.ts --filter sab-ring       # only cases whose name contains it
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { BroadcastChannel, isMainThread, MessageChannel, parentPort, Worker, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';

type Transport = 'port' | 'broadcast' | 'sab-ring';
type Shape = 'bytes' | 'bytes-transfer' | 'objects';

interface CaseSpec {
  transport: Transport;
  shape: Shape;
  n: number;
}

interface Entry {
  room: string;
  from: string;
  payload: Uint8Array;
}

// ---------------------------------------------------------------- the frame

const HEADER_BYTES = 64;
const ROOM = 'lobby';
const FROM = '127.0.0.1:54321';
const PREFIX = `!MSG ${ROOM} ${FROM} `;
const TEXT_BYTES = 16;
const PAYLOAD_BYTES = PREFIX.length + TEXT_BYTES;
/** 64 + 27 + 16 = 107 bytes. */
const FRAME_BYTES = HEADER_BYTES + PAYLOAD_BYTES;
/** The stamp (float64, ms) sits in the 16 text bytes of the first frame. */
const STAMP_OFFSET = HEADER_BYTES + PREFIX.length;

/** One frame as the server writes it: decimal length padded with spaces to 64 bytes, then the payload. */
function makeFrame(): Uint8Array {
  const text = 'hello, lobby 42!'.slice(0, TEXT_BYTES).padEnd(TEXT_BYTES, '.');
  const frame = new TextEncoder().encode(String(PAYLOAD_BYTES).padEnd(HEADER_BYTES, ' ') + PREFIX + text);
  if (frame.length !== FRAME_BYTES) throw new Error(`frame is ${frame.length} bytes, expected ${FRAME_BYTES}`);
  return frame;
}

// ---------------------------------------------------------------- shared control block

/** Int32 slots of the control SharedArrayBuffer. */
const ACK = 0; // batches B has consumed
const ACK_WAKE_AT = 1; // while A is parked on ACK: the count at which B must notify it (0 = nobody parked)
const HEAD = 2; // ring: producer's byte position (mod 2^32)
const TAIL = 3; // ring: consumer's byte position (mod 2^32)
const CONSUMER_WAITING = 4; // ring: 1 while B is parked on HEAD
const PRODUCER_WAITING = 5; // ring: 1 while A is parked on TAIL (ring full)
const CONTROL_SLOTS = 8;

interface WorkerInit {
  role: 'A' | 'B';
  spec: CaseSpec;
  control: SharedArrayBuffer;
  ring: SharedArrayBuffer | null;
  channelName: string;
  port: MessagePort | null;
  window: number;
}

/** What a worker answers to a mark. */
interface Mark {
  t: number; // ms, performance.timeOrigin + performance.now()
  cpuUs: number; // process.threadCpuUsage(), user + system
  batches: number; // A: sent, B: received
  frames: number;
  notifies: number; // Atomics.notify calls made by this thread
  ringFullWaits: number; // A only
}

type ToWorker =
  | { type: 'run' }
  | { type: 'mark' }
  | { type: 'stop' }
  | { type: 'latency'; samples: number; gapMs: number }
  | { type: 'latencies' };

type FromWorker =
  | { type: 'ready'; timeOrigin: number }
  | ({ type: 'mark' } & Mark)
  | { type: 'stopped'; sent: number }
  | { type: 'latency-done' }
  | { type: 'latencies'; us: number[] };

function clock(): number {
  return performance.timeOrigin + performance.now();
}

function threadCpuUs(): number {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// ---------------------------------------------------------------- the ring

class Ring {
  readonly #control: Int32Array;
  readonly #words: Int32Array;
  /** The ring as a Buffer: Buffer.copy is a memcpy, TypedArray.set to or from shared memory a slower byte loop in V8. */
  readonly #buffer: Buffer;
  readonly #mask: number;
  readonly capacity: number;

  constructor(control: SharedArrayBuffer, ring: SharedArrayBuffer) {
    this.#control = new Int32Array(control);
    this.#words = new Int32Array(ring);
    this.#buffer = Buffer.from(ring);
    this.capacity = ring.byteLength;
    this.#mask = this.capacity - 1;
  }

  static recordBytes(length: number): number {
    return 4 + ((length + 3) & ~3);
  }

  /** Producer: is there room for a record of `length` data bytes? */
  hasRoom(length: number): boolean {
    const used = (Atomics.load(this.#control, HEAD) - Atomics.load(this.#control, TAIL)) >>> 0;
    return used + Ring.recordBytes(length) <= this.capacity;
  }

  /** Producer: copies `src[0, length)` into the ring as one record. The caller checked hasRoom. */
  write(src: Buffer, length: number): void {
    const head = Atomics.load(this.#control, HEAD) >>> 0;
    const i = (head + 4) & this.#mask;
    const first = Math.min(length, this.capacity - i);
    src.copy(this.#buffer, i, 0, first);
    if (first < length) src.copy(this.#buffer, 0, first, length);
    this.#words[(head & this.#mask) >> 2] = length;
    // The seq-cst store publishes the record: a consumer that loads the new head sees the bytes.
    Atomics.store(this.#control, HEAD, (head + Ring.recordBytes(length)) | 0);
  }

  /** Consumer: the next record copied out, or null when the ring is empty. */
  read(): Uint8Array | null {
    const tail = Atomics.load(this.#control, TAIL) >>> 0;
    if (tail === Atomics.load(this.#control, HEAD) >>> 0) return null;
    const length = this.#words[(tail & this.#mask) >> 2]!;
    const out = Buffer.allocUnsafeSlow(length);
    const i = (tail + 4) & this.#mask;
    const first = Math.min(length, this.capacity - i);
    this.#buffer.copy(out, 0, i, i + first);
    if (first < length) this.#buffer.copy(out, first, 0, length - first);
    Atomics.store(this.#control, TAIL, (tail + Ring.recordBytes(length)) | 0);
    return out;
  }

  head(): number {
    return Atomics.load(this.#control, HEAD);
  }

  tail(): number {
    return Atomics.load(this.#control, TAIL);
  }
}

// ---------------------------------------------------------------- worker A: the producer

function runProducer(init: WorkerInit, port: MessagePort): void {
  const { spec, window } = init;
  const control = new Int32Array(init.control);
  const ring = init.ring ? new Ring(init.control, init.ring) : null;
  const frame = makeFrame();
  // The first frame of every batch carries the stamp (0 in the throughput phase).
  const first = frame.slice();
  const firstView = new DataView(first.buffer);
  const text = frame.slice(STAMP_OFFSET, STAMP_OFFSET + TEXT_BYTES);
  const batchBytes = spec.n * FRAME_BYTES;
  const pieces: Uint8Array[] = [first, ...Array.from({ length: spec.n - 1 }, () => frame)];
  /**
   * Ring only: the turn's frames for B gathered in a reused buffer, then one memcpy into the ring. Writing each
   * frame straight into the ring is slower: TypedArray.set into shared memory is a byte loop in V8 (2-3x at N = 256).
   */
  const staging = Buffer.allocUnsafeSlow(batchBytes);
  const bc = spec.transport === 'broadcast' ? new BroadcastChannel(init.channelName) : null;
  const data = init.port;

  let sent = 0;
  let notifies = 0;
  let ringFullWaits = 0;
  let running = false;

  /** A fresh batch buffer: N frame copies, as the server assembles what it has for one worker. */
  function bytesBatch(stamp: number): Buffer {
    firstView.setFloat64(STAMP_OFFSET, stamp, true);
    // allocUnsafeSlow, not allocUnsafe: a pooled Buffer is a view of an 8 KiB slab, and the clone would copy the slab.
    const batch = Buffer.allocUnsafeSlow(batchBytes);
    for (let i = 0; i < pieces.length; i++) batch.set(pieces[i]!, i * FRAME_BYTES);
    return batch;
  }

  function objectsBatch(stamp: number): Entry[] {
    const batch: Entry[] = new Array<Entry>(spec.n);
    for (let i = 0; i < spec.n; i++) batch[i] = { room: ROOM, from: FROM, payload: text.slice() };
    new DataView(batch[0]!.payload.buffer).setFloat64(0, stamp, true);
    return batch;
  }

  /** Sends one batch; false when the ring is full (nothing sent). */
  function send(stamp: number): boolean {
    if (ring) {
      if (!ring.hasRoom(batchBytes)) return false;
      firstView.setFloat64(STAMP_OFFSET, stamp, true);
      for (let i = 0; i < pieces.length; i++) staging.set(pieces[i]!, i * FRAME_BYTES);
      ring.write(staging, batchBytes);
      if (Atomics.load(control, CONSUMER_WAITING) === 1) {
        Atomics.notify(control, HEAD, 1);
        notifies++;
      }
      return true;
    }
    const batch = spec.shape === 'objects' ? objectsBatch(stamp) : bytesBatch(stamp);
    if (bc) bc.postMessage(batch);
    else if (spec.shape === 'bytes-transfer') data!.postMessage(batch, [(batch as Buffer).buffer as ArrayBuffer]);
    else data!.postMessage(batch);
    return true;
  }

  /**
   * Parks until woken on `slot`, having first posted `signal` (the ack target, or 1 for the ring-full flag) in
   * `flag`: the other side notifies only when it sees it. If `slot` no longer holds `seen` the wait does not
   * start, so a change between the caller's look and the post is not lost. `then` runs on a later turn.
   */
  function park(slot: number, seen: number, flag: number, signal: number, then: () => void): void {
    Atomics.store(control, flag, signal);
    const r = Atomics.waitAsync(control, slot, seen);
    if (!r.async) {
      Atomics.store(control, flag, 0);
      setImmediate(then);
      return;
    }
    void r.value.then(() => {
      Atomics.store(control, flag, 0);
      then();
    });
  }

  /** Park on a full window until at most half of it is in flight (target `upTo` for an exact count). */
  function parkOnAck(acked: number, upTo: number, then: () => void): void {
    park(ACK, acked, ACK_WAKE_AT, upTo, then);
  }

  /** Throughput: fill the window (at most `window` batches per event-loop turn), park when it is full. */
  function pump(): void {
    if (!running) return;
    let thisTurn = 0;
    while (thisTurn < window) {
      const acked = Atomics.load(control, ACK);
      if (sent - acked >= window) {
        parkOnAck(acked, sent - (window >> 1), pump);
        return;
      }
      if (!send(0)) {
        ringFullWaits++;
        park(TAIL, ring!.tail(), PRODUCER_WAITING, 1, pump);
        return;
      }
      sent++;
      thisTurn++;
    }
    setImmediate(pump);
  }

  function untilAcked(target: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        const acked = Atomics.load(control, ACK);
        if (acked >= target) resolve();
        else parkOnAck(acked, target, check);
      };
      check();
    });
  }

  async function latency(samples: number, gapMs: number): Promise<void> {
    for (let i = 0; i < samples; i++) {
      await sleep(gapMs);
      if (!send(clock())) throw new Error('ring full on an idle pipe');
      sent++;
      await untilAcked(sent);
    }
  }

  function mark(): Mark {
    return { t: clock(), cpuUs: threadCpuUs(), batches: sent, frames: sent * spec.n, notifies, ringFullWaits };
  }

  port.on('message', (m: ToWorker) => {
    switch (m.type) {
      case 'run':
        running = true;
        pump();
        break;
      case 'mark':
        port.postMessage({ type: 'mark', ...mark() } satisfies FromWorker);
        break;
      case 'stop':
        running = false;
        port.postMessage({ type: 'stopped', sent } satisfies FromWorker);
        break;
      case 'latency':
        void latency(m.samples, m.gapMs).then(() => port.postMessage({ type: 'latency-done' } satisfies FromWorker));
        break;
      default:
        break;
    }
  });
  port.postMessage({ type: 'ready', timeOrigin: performance.timeOrigin } satisfies FromWorker);
}

// ---------------------------------------------------------------- worker B: the consumer

function runConsumer(init: WorkerInit, port: MessagePort): void {
  const { spec } = init;
  const control = new Int32Array(init.control);
  const ring = init.ring ? new Ring(init.control, init.ring) : null;
  let received = 0;
  let frames = 0;
  let notifies = 0;
  let sink = 0;
  const latencies: number[] = [];

  function ack(): void {
    const count = Atomics.add(control, ACK, 1) + 1;
    const wakeAt = Atomics.load(control, ACK_WAKE_AT);
    // The compare-exchange makes it one notify per park, however many acks pass the target.
    if (wakeAt !== 0 && count >= wakeAt && Atomics.compareExchange(control, ACK_WAKE_AT, wakeAt, 0) === wakeAt) {
      Atomics.notify(control, ACK, 1);
      notifies++;
    }
  }

  function onBatch(data: unknown): void {
    let stamp: number;
    let count: number;
    if (data instanceof Uint8Array) {
      count = data.byteLength / FRAME_BYTES;
      stamp = new DataView(data.buffer, data.byteOffset, data.byteLength).getFloat64(STAMP_OFFSET, true);
    } else {
      const batch = data as Entry[];
      count = batch.length;
      for (let i = 0; i < batch.length; i++) {
        const e = batch[i]!;
        sink += e.room.length + e.from.length + e.payload.length;
      }
      const p = batch[0]!.payload;
      stamp = new DataView(p.buffer, p.byteOffset, p.byteLength).getFloat64(0, true);
    }
    if (count !== spec.n) throw new Error(`batch of ${count} frames, expected ${spec.n}`);
    if (stamp !== 0) latencies.push((clock() - stamp) * 1000);
    received++;
    frames += count;
    ack();
  }

  if (spec.transport === 'port') {
    init.port!.on('message', onBatch);
  } else if (spec.transport === 'broadcast') {
    const bc = new BroadcastChannel(init.channelName);
    bc.addEventListener('message', (ev) => onBatch(ev.data));
  } else {
    const r = ring!;
    /** Drains the ring (at most 64 records per turn, then yields), then parks on HEAD. */
    const drain = (): void => {
      let budget = 64;
      for (;;) {
        let record: Uint8Array | null;
        while (budget > 0 && (record = r.read()) !== null) {
          budget--;
          if (Atomics.load(control, PRODUCER_WAITING) === 1) {
            Atomics.notify(control, TAIL, 1);
            notifies++;
          }
          onBatch(record);
        }
        if (budget === 0) {
          setImmediate(drain);
          return;
        }
        const tail = r.tail();
        Atomics.store(control, CONSUMER_WAITING, 1);
        if (r.head() !== tail) {
          Atomics.store(control, CONSUMER_WAITING, 0);
          continue;
        }
        const w = Atomics.waitAsync(control, HEAD, tail);
        if (!w.async) {
          Atomics.store(control, CONSUMER_WAITING, 0);
          continue;
        }
        void w.value.then(() => {
          Atomics.store(control, CONSUMER_WAITING, 0);
          drain();
        });
        return;
      }
    };
    drain();
  }

  port.on('message', (m: ToWorker) => {
    if (m.type === 'mark') {
      const mark: Mark = { t: clock(), cpuUs: threadCpuUs(), batches: received, frames, notifies, ringFullWaits: 0 };
      port.postMessage({ type: 'mark', ...mark } satisfies FromWorker);
    } else if (m.type === 'latencies') {
      port.postMessage({ type: 'latencies', us: latencies.slice() } satisfies FromWorker);
      if (sink < 0) console.log(sink); // keeps the touched fields alive
    }
  });
  port.postMessage({ type: 'ready', timeOrigin: performance.timeOrigin } satisfies FromWorker);
}

// ---------------------------------------------------------------- main: orchestration

/** One worker and a queue of its answers, taken in order by type. */
class Peer {
  readonly worker: Worker;
  readonly #inbox: FromWorker[] = [];
  #waiter: (() => void) | null = null;
  #error: Error | null = null;

  constructor(init: WorkerInit) {
    this.worker = new Worker(new URL(import.meta.url), {
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

interface RunResult {
  round: number;
  batchesPerSecond: number;
  framesPerSecond: number;
  aCpuUsPerBatch: number;
  bCpuUsPerBatch: number;
  aCpuUsPerFrame: number;
  bCpuUsPerFrame: number;
  /** Thread CPU time over wall time in the window, %. */
  aBusyPercent: number;
  bBusyPercent: number;
  /** process.cpuUsage() of the whole process (all threads, the idle main one included) per frame B received. */
  processCpuUsPerFrame: number;
  aNotifiesPerBatch: number;
  bNotifiesPerBatch: number;
  ringFullWaits: number;
  latencyP50Us: number;
  latencyP99Us: number;
  latencyMaxUs: number;
  /** Thread CPU per batch during the idle-latency phase (each batch finds the other side asleep). */
  aIdleCpuUsPerBatch: number;
  bIdleCpuUsPerBatch: number;
  latencyUs: number[];
  timeOriginsEqual: boolean;
}

interface Options {
  seconds: number;
  warmupSeconds: number;
  window: number;
  ringBytes: number;
  latencySamples: number;
  latencyGapMs: number;
}

const LATENCY_DISCARD = 10;

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function median(values: readonly number[]): number {
  const s = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function caseName(c: CaseSpec): string {
  return `${c.transport} ${c.shape} N=${c.n}`;
}

async function runCase(spec: CaseSpec, round: number, o: Options): Promise<RunResult> {
  const control = new SharedArrayBuffer(CONTROL_SLOTS * 4);
  const ring = spec.transport === 'sab-ring' ? new SharedArrayBuffer(o.ringBytes) : null;
  if (ring && Ring.recordBytes(spec.n * FRAME_BYTES) > o.ringBytes)
    throw new Error('--ring-kib too small for N=' + spec.n);
  const channelName = `thread-hop-${process.pid}-${round}-${caseName(spec)}`;
  const channel = spec.transport === 'port' ? new MessageChannel() : null;
  const common = { spec, control, ring, channelName, window: o.window };
  // B first, so that its BroadcastChannel exists before A can post.
  const b = new Peer({ ...common, role: 'B', port: channel?.port2 ?? null });
  const a = new Peer({ ...common, role: 'A', port: channel?.port1 ?? null });
  try {
    const [readyA, readyB] = await Promise.all([a.take('ready'), b.take('ready')]);
    const timeOriginsEqual = readyA.timeOrigin === readyB.timeOrigin && readyA.timeOrigin === performance.timeOrigin;

    a.send({ type: 'run' });
    await sleep(o.warmupSeconds * 1000);
    const marks = async (): Promise<[Mark, Mark, number]> => {
      const cpu = process.cpuUsage();
      a.send({ type: 'mark' });
      b.send({ type: 'mark' });
      const [ma, mb] = await Promise.all([a.take('mark'), b.take('mark')]);
      return [ma, mb, cpu.user + cpu.system];
    };
    const [a0, b0, p0] = await marks();
    await sleep(o.seconds * 1000);
    const [a1, b1, p1] = await marks();
    a.send({ type: 'stop' });
    const { sent } = await a.take('stopped');
    const ack = new Int32Array(control);
    const drainDeadline = Date.now() + 10_000;
    while (Atomics.load(ack, ACK) < sent) {
      if (Date.now() > drainDeadline) throw new Error(`${caseName(spec)}: B did not drain`);
      await sleep(5);
    }

    const [a2, b2] = await marks();
    a.send({ type: 'latency', samples: o.latencySamples + LATENCY_DISCARD, gapMs: o.latencyGapMs });
    await a.take('latency-done', 60_000);
    const [a3, b3] = await marks();
    b.send({ type: 'latencies' });
    const { us } = await b.take('latencies');
    const latencyUs = us.slice(LATENCY_DISCARD);
    const sorted = latencyUs.slice().sort((x, y) => x - y);

    const aBatches = a1.batches - a0.batches;
    const bBatches = b1.batches - b0.batches;
    const bFrames = b1.frames - b0.frames;
    const aWallUs = (a1.t - a0.t) * 1000;
    const bWallUs = (b1.t - b0.t) * 1000;
    return {
      round,
      batchesPerSecond: bBatches / (bWallUs / 1e6),
      framesPerSecond: bFrames / (bWallUs / 1e6),
      aCpuUsPerBatch: (a1.cpuUs - a0.cpuUs) / aBatches,
      bCpuUsPerBatch: (b1.cpuUs - b0.cpuUs) / bBatches,
      aCpuUsPerFrame: (a1.cpuUs - a0.cpuUs) / (aBatches * spec.n),
      bCpuUsPerFrame: (b1.cpuUs - b0.cpuUs) / bFrames,
      aBusyPercent: (100 * (a1.cpuUs - a0.cpuUs)) / aWallUs,
      bBusyPercent: (100 * (b1.cpuUs - b0.cpuUs)) / bWallUs,
      processCpuUsPerFrame: (p1 - p0) / bFrames,
      aNotifiesPerBatch: (a1.notifies - a0.notifies) / aBatches,
      bNotifiesPerBatch: (b1.notifies - b0.notifies) / bBatches,
      ringFullWaits: a1.ringFullWaits,
      latencyP50Us: percentile(sorted, 50),
      latencyP99Us: percentile(sorted, 99),
      latencyMaxUs: sorted[sorted.length - 1] ?? NaN,
      aIdleCpuUsPerBatch: (a3.cpuUs - a2.cpuUs) / (a3.batches - a2.batches),
      bIdleCpuUsPerBatch: (b3.cpuUs - b2.cpuUs) / (b3.batches - b2.batches),
      latencyUs: latencyUs.map((v) => Math.round(v * 10) / 10),
      timeOriginsEqual,
    };
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}

// ---------------------------------------------------------------- report

interface CaseSummary {
  name: string;
  transport: Transport;
  shape: Shape;
  n: number;
  median: Omit<RunResult, 'round' | 'latencyUs' | 'timeOriginsEqual'>;
  /** Percentiles of all rounds' samples pooled. */
  pooledLatencyP50Us: number;
  pooledLatencyP99Us: number;
  runs: RunResult[];
}

const MEDIAN_KEYS = [
  'batchesPerSecond',
  'framesPerSecond',
  'aCpuUsPerBatch',
  'bCpuUsPerBatch',
  'aCpuUsPerFrame',
  'bCpuUsPerFrame',
  'aBusyPercent',
  'bBusyPercent',
  'processCpuUsPerFrame',
  'aNotifiesPerBatch',
  'bNotifiesPerBatch',
  'ringFullWaits',
  'latencyP50Us',
  'latencyP99Us',
  'latencyMaxUs',
  'aIdleCpuUsPerBatch',
  'bIdleCpuUsPerBatch',
] as const;

function summarise(spec: CaseSpec, runs: RunResult[]): CaseSummary {
  const m = {} as CaseSummary['median'];
  for (const k of MEDIAN_KEYS) m[k] = median(runs.map((r) => r[k]));
  const pooled = runs.flatMap((r) => r.latencyUs).sort((x, y) => x - y);
  return {
    name: caseName(spec),
    ...spec,
    median: m,
    pooledLatencyP50Us: percentile(pooled, 50),
    pooledLatencyP99Us: percentile(pooled, 99),
    runs,
  };
}

function rate(n: number, unit: string): string {
  if (!Number.isFinite(n)) return '-';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M${unit}`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k${unit}`;
  return `${n.toFixed(0)} ${unit}`;
}

function micros(us: number): string {
  if (!Number.isFinite(us)) return '-';
  if (us >= 1000) return `${(us / 1000).toFixed(2)} ms`;
  if (us >= 100) return `${us.toFixed(0)} µs`;
  if (us >= 10) return `${us.toFixed(1)} µs`;
  if (us >= 1) return `${us.toFixed(2)} µs`;
  return `${(us * 1000).toFixed(0)} ns`;
}

/** A markdown table, its columns padded so that it also reads on a terminal. */
function table(summaries: readonly CaseSummary[]): string {
  const head = [
    'transport',
    'shape',
    'N',
    'batches/s',
    'frames/s',
    'A CPU/batch',
    'A CPU/frame',
    'B CPU/batch',
    'B CPU/frame',
    'A busy',
    'B busy',
    'idle p50',
    'idle p99',
    'B CPU/idle batch',
  ];
  const right = new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  const rows = summaries.map((s) => {
    const m = s.median;
    return [
      s.transport,
      s.shape,
      String(s.n),
      rate(m.batchesPerSecond, '/s'),
      rate(m.framesPerSecond, '/s'),
      micros(m.aCpuUsPerBatch),
      micros(m.aCpuUsPerFrame),
      micros(m.bCpuUsPerBatch),
      micros(m.bCpuUsPerFrame),
      `${m.aBusyPercent.toFixed(0)} %`,
      `${m.bBusyPercent.toFixed(0)} %`,
      micros(m.latencyP50Us),
      micros(m.latencyP99Us),
      micros(m.bIdleCpuUsPerBatch),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (right.has(i) ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(head), rule, ...rows.map(line)].join('\n');
}

// ---------------------------------------------------------------- main

const ALL_NS = [1, 16, 256] as const;
/** Per N, in this order: the three transports side by side on the byte shape, then the other shapes. */
const SHAPES: ReadonlyArray<[Transport, Shape]> = [
  ['port', 'bytes'],
  ['broadcast', 'bytes'],
  ['sab-ring', 'bytes'],
  ['port', 'bytes-transfer'],
  ['port', 'objects'],
  ['broadcast', 'objects'],
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '3' },
      window: { type: 'string', default: '64' },
      'ring-kib': { type: 'string' },
      'latency-samples': { type: 'string', default: '300' },
      filter: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const num = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got ${v}`);
    return n;
  };
  const window = Math.floor(num('window', values.window, 1));
  const fullWindow = window * Ring.recordBytes(Math.max(...ALL_NS) * FRAME_BYTES);
  const ringKib =
    values['ring-kib'] === undefined
      ? 2 ** Math.ceil(Math.log2(fullWindow / 1024))
      : num('ring-kib', values['ring-kib'], 1);
  if (!Number.isInteger(Math.log2(ringKib))) throw new Error('--ring-kib must be a power of two');
  const o: Options = {
    seconds: num('seconds', values.seconds, 0.1),
    warmupSeconds: 0.25,
    window,
    ringBytes: ringKib * 1024,
    latencySamples: Math.floor(num('latency-samples', values['latency-samples'], 10)),
    latencyGapMs: 1,
  };
  const rounds = Math.floor(num('rounds', values.rounds, 1));
  if (rounds < 3) process.stderr.write('thread-hop: fewer than 3 rounds, the medians are weak\n');

  const specs: CaseSpec[] = [];
  for (const n of ALL_NS) for (const [transport, shape] of SHAPES) specs.push({ transport, shape, n });
  const selected = values.filter ? specs.filter((s) => caseName(s).includes(values.filter!)) : specs;
  if (selected.length === 0) throw new Error(`no case matches --filter ${values.filter}`);

  const started = Date.now();
  process.stderr.write(
    `thread-hop: ${selected.length} cases x ${rounds} rounds, ${o.seconds} s each + ${o.warmupSeconds} s warm-up + ${o.latencySamples} idle-latency samples, window ${o.window}, ring ${ringKib} KiB\n`,
  );
  const runs = new Map<string, RunResult[]>(selected.map((s) => [caseName(s), []]));
  for (let round = 1; round <= rounds; round++) {
    for (const spec of selected) {
      const r = await runCase(spec, round, o);
      runs.get(caseName(spec))!.push(r);
      process.stderr.write(
        `  round ${round} ${caseName(spec).padEnd(28)} ${rate(r.framesPerSecond, 'frames/s').padStart(15)}  A ${micros(r.aCpuUsPerFrame)}/frame  B ${micros(r.bCpuUsPerFrame)}/frame  idle p50 ${micros(r.latencyP50Us)}\n`,
      );
      if (!r.timeOriginsEqual) process.stderr.write('  warning: the threads do not share performance.timeOrigin\n');
    }
  }
  const summaries = selected.map((s) => summarise(s, runs.get(caseName(s))!));
  const elapsed = (Date.now() - started) / 1000;

  console.log(
    `\nThread hop A -> B, medians of ${rounds} rounds; ${o.seconds} s closed loop (<= ${o.window} batches in flight), frames of ${FRAME_BYTES} B.`,
  );
  console.log('CPU = process.threadCpuUsage() of that thread (user + system); busy = its CPU time / wall time;');
  console.log(
    `idle p50/p99 = one-way latency of one batch on an idle pipe (${o.latencySamples} samples per round, 1 ms apart);`,
  );
  console.log('B CPU/idle batch = B thread CPU per batch in that idle phase (wake-up included).\n');
  console.log(table(summaries));
  const fullWaits = summaries.reduce((sum, s) => sum + s.runs.reduce((x, r) => x + r.ringFullWaits, 0), 0);
  console.log(`\nsab-ring full-ring waits: ${fullWaits}. Total ${elapsed.toFixed(1)} s.`);

  if (values.json) {
    const meta = {
      date: new Date(started).toISOString(),
      command: `node src/bench/micro/thread-hop.ts ${process.argv.slice(2).join(' ')}`.trim(),
      node: process.version,
      platform: `${platform()} ${release()}`,
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      frameBytes: FRAME_BYTES,
      rounds,
      ...o,
      latencyDiscardedPerRun: LATENCY_DISCARD,
      elapsedSeconds: elapsed,
      units: {
        batchesPerSecond: 'batches/s received by B',
        framesPerSecond: 'frames/s received by B',
        cpu: 'µs of thread CPU (user + system)',
        busyPercent: '% of one core',
        latency: 'µs, one way, idle pipe',
      },
    };
    mkdirSync(dirname(values.json), { recursive: true });
    writeFileSync(values.json, `${JSON.stringify({ meta, cases: summaries }, null, 2)}\n`);
    process.stderr.write(`thread-hop: saved ${values.json}\n`);
  }
}

if (isMainThread) {
  await main();
} else {
  const init = workerData as WorkerInit;
  if (init.role === 'A') runProducer(init, parentPort!);
  else runConsumer(init, parentPort!);
}
