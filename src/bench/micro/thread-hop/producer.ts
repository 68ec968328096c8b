/**
 * Worker A of the thread hop: builds batches of `!MSG` frames and sends them to B
 * over the transport under test, a closed loop of at most `window` batches in
 * flight (B's acks come through an Atomics counter, not the channel), then an
 * idle-pipe latency phase of stamped batches one at a time.
 */
import { BroadcastChannel, type MessagePort } from 'node:worker_threads';
import { Ring } from './ring.ts';
import {
  ACK,
  ACK_WAKE_AT,
  type CaseSpec,
  clock,
  CONSUMER_WAITING,
  type Entry,
  FRAME_BYTES,
  FROM,
  type FromWorker,
  HEAD,
  makeFrame,
  type Mark,
  PRODUCER_WAITING,
  ROOM,
  sleep,
  STAMP_OFFSET,
  TAIL,
  TEXT_BYTES,
  threadCpuUs,
  type ToWorker,
  type WorkerInit,
} from './wire.ts';

export class Producer {
  readonly #spec: CaseSpec;
  readonly #window: number;
  readonly #control: Int32Array;
  readonly #ring: Ring | null;
  readonly #bc: BroadcastChannel | null;
  readonly #data: MessagePort | null;
  readonly #port: MessagePort;
  /** The first frame of every batch carries the stamp (0 in the throughput phase). */
  readonly #firstView: DataView;
  readonly #text: Uint8Array;
  readonly #batchBytes: number;
  readonly #pieces: Uint8Array[];
  /**
   * Ring only: the turn's frames for B gathered in a reused buffer, then one memcpy into the ring. Writing each
   * frame straight into the ring is slower: TypedArray.set into shared memory is a byte loop in V8 (2-3x at N = 256).
   */
  readonly #staging: Buffer;

  #sent = 0;
  #notifies = 0;
  #ringFullWaits = 0;
  #running = false;

  constructor(init: WorkerInit, port: MessagePort) {
    this.#spec = init.spec;
    this.#window = init.window;
    this.#control = new Int32Array(init.control);
    this.#ring = init.ring ? new Ring(init.control, init.ring) : null;
    const frame = makeFrame();
    const first = frame.slice();
    this.#firstView = new DataView(first.buffer);
    this.#text = frame.slice(STAMP_OFFSET, STAMP_OFFSET + TEXT_BYTES);
    this.#batchBytes = init.spec.n * FRAME_BYTES;
    this.#pieces = [first, ...Array.from({ length: init.spec.n - 1 }, () => frame)];
    this.#staging = Buffer.allocUnsafeSlow(this.#batchBytes);
    this.#bc = init.spec.transport === 'broadcast' ? new BroadcastChannel(init.channelName) : null;
    this.#data = init.port;
    this.#port = port;
  }

  /** Answers the main thread's commands; says it is ready. */
  listen(): void {
    this.#port.on('message', (m: ToWorker) => this.#onCommand(m));
    this.#post({ type: 'ready', timeOrigin: performance.timeOrigin });
  }

  #onCommand(m: ToWorker): void {
    switch (m.type) {
      case 'run':
        this.#running = true;
        this.#pump();
        break;
      case 'mark':
        this.#post({ type: 'mark', ...this.#mark() });
        break;
      case 'stop':
        this.#running = false;
        this.#post({ type: 'stopped', sent: this.#sent });
        break;
      case 'latency':
        void this.#latency(m.samples, m.gapMs).then(() => this.#post({ type: 'latency-done' }));
        break;
      default:
        break;
    }
  }

  #post(m: FromWorker): void {
    this.#port.postMessage(m);
  }

  #mark(): Mark {
    const sent = this.#sent;
    return {
      t: clock(),
      cpuUs: threadCpuUs(),
      batches: sent,
      frames: sent * this.#spec.n,
      notifies: this.#notifies,
      ringFullWaits: this.#ringFullWaits,
    };
  }

  /** A fresh batch buffer: N frame copies, as the server assembles what it has for one worker. */
  #bytesBatch(stamp: number): Buffer {
    this.#firstView.setFloat64(STAMP_OFFSET, stamp, true);
    // allocUnsafeSlow, not allocUnsafe: a pooled Buffer is a view of an 8 KiB slab, and the clone would copy the slab.
    const batch = Buffer.allocUnsafeSlow(this.#batchBytes);
    const pieces = this.#pieces;
    for (let i = 0; i < pieces.length; i++) batch.set(pieces[i]!, i * FRAME_BYTES);
    return batch;
  }

  #objectsBatch(stamp: number): Entry[] {
    const n = this.#spec.n;
    const batch: Entry[] = new Array<Entry>(n);
    for (let i = 0; i < n; i++) batch[i] = { room: ROOM, from: FROM, payload: this.#text.slice() };
    new DataView(batch[0]!.payload.buffer).setFloat64(0, stamp, true);
    return batch;
  }

  /** Sends one batch; false when the ring is full (nothing sent). */
  #send(stamp: number): boolean {
    const ring = this.#ring;
    if (ring) {
      if (!ring.hasRoom(this.#batchBytes)) return false;
      this.#firstView.setFloat64(STAMP_OFFSET, stamp, true);
      const pieces = this.#pieces;
      for (let i = 0; i < pieces.length; i++) this.#staging.set(pieces[i]!, i * FRAME_BYTES);
      ring.write(this.#staging, this.#batchBytes);
      if (Atomics.load(this.#control, CONSUMER_WAITING) === 1) {
        Atomics.notify(this.#control, HEAD, 1);
        this.#notifies++;
      }
      return true;
    }
    const batch = this.#spec.shape === 'objects' ? this.#objectsBatch(stamp) : this.#bytesBatch(stamp);
    if (this.#bc) this.#bc.postMessage(batch);
    else if (this.#spec.shape === 'bytes-transfer')
      this.#data!.postMessage(batch, [(batch as Buffer).buffer as ArrayBuffer]);
    else this.#data!.postMessage(batch);
    return true;
  }

  /**
   * Parks until woken on `slot`, having first posted `signal` (the ack target, or 1 for the ring-full flag) in
   * `flag`: the other side notifies only when it sees it. If `slot` no longer holds `seen` the wait does not
   * start, so a change between the caller's look and the post is not lost. `then` runs on a later turn.
   */
  #park(slot: number, seen: number, flag: number, signal: number, then: () => void): void {
    const control = this.#control;
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
  #parkOnAck(acked: number, upTo: number, then: () => void): void {
    this.#park(ACK, acked, ACK_WAKE_AT, upTo, then);
  }

  /** Throughput: fill the window (at most `window` batches per event-loop turn), park when it is full. */
  readonly #pump = (): void => {
    if (!this.#running) return;
    const window = this.#window;
    let thisTurn = 0;
    while (thisTurn < window) {
      const acked = Atomics.load(this.#control, ACK);
      if (this.#sent - acked >= window) {
        this.#parkOnAck(acked, this.#sent - (window >> 1), this.#pump);
        return;
      }
      if (!this.#send(0)) {
        this.#ringFullWaits++;
        this.#park(TAIL, this.#ring!.tail(), PRODUCER_WAITING, 1, this.#pump);
        return;
      }
      this.#sent++;
      thisTurn++;
    }
    setImmediate(this.#pump);
  };

  #untilAcked(target: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        const acked = Atomics.load(this.#control, ACK);
        if (acked >= target) resolve();
        else this.#parkOnAck(acked, target, check);
      };
      check();
    });
  }

  async #latency(samples: number, gapMs: number): Promise<void> {
    for (let i = 0; i < samples; i++) {
      await sleep(gapMs);
      if (!this.#send(clock())) throw new Error('ring full on an idle pipe');
      this.#sent++;
      await this.#untilAcked(this.#sent);
    }
  }
}
