/**
 * Worker B of the thread hop: takes A's batches off the transport under test,
 * checks their frame count, reads the stamp, and acknowledges each through the
 * Atomics counter (waking A only when it is parked and its target is reached).
 * Its work is deliberately minimal: the figures are the hop's cost, not framing.
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
  type FromWorker,
  HEAD,
  type Mark,
  PRODUCER_WAITING,
  STAMP_OFFSET,
  TAIL,
  threadCpuUs,
  type ToWorker,
  type WorkerInit,
} from './wire.ts';

/** Records the ring consumer drains per event-loop turn before it yields. */
const DRAIN_BUDGET = 64;

export class Consumer {
  readonly #spec: CaseSpec;
  readonly #control: Int32Array;
  readonly #port: MessagePort;
  #received = 0;
  #frames = 0;
  #notifies = 0;
  /** What the objects shape's fields add up to, so that touching them is not optimised away. */
  #sink = 0;
  readonly #latencies: number[] = [];

  constructor(init: WorkerInit, port: MessagePort) {
    this.#spec = init.spec;
    this.#control = new Int32Array(init.control);
    this.#port = port;
    this.#attach(init);
  }

  /** Answers the main thread's commands; says it is ready. */
  listen(): void {
    this.#port.on('message', (m: ToWorker) => this.#onCommand(m));
    this.#post({ type: 'ready', timeOrigin: performance.timeOrigin });
  }

  #onCommand(m: ToWorker): void {
    if (m.type === 'mark') {
      const mark: Mark = {
        t: clock(),
        cpuUs: threadCpuUs(),
        batches: this.#received,
        frames: this.#frames,
        notifies: this.#notifies,
        ringFullWaits: 0,
      };
      this.#post({ type: 'mark', ...mark });
    } else if (m.type === 'latencies') {
      this.#post({ type: 'latencies', us: this.#latencies.slice() });
      if (this.#sink < 0) console.log(this.#sink); // keeps the touched fields alive
    }
  }

  #post(m: FromWorker): void {
    this.#port.postMessage(m);
  }

  /** Listens on the transport under test. */
  #attach(init: WorkerInit): void {
    const onBatch = (data: unknown): void => this.#onBatch(data);
    if (init.spec.transport === 'port') {
      init.port!.on('message', onBatch);
    } else if (init.spec.transport === 'broadcast') {
      const bc = new BroadcastChannel(init.channelName);
      bc.addEventListener('message', (ev) => onBatch(ev.data));
    } else {
      this.#drainRing(new Ring(init.control, init.ring!));
    }
  }

  #ack(): void {
    const control = this.#control;
    const count = Atomics.add(control, ACK, 1) + 1;
    const wakeAt = Atomics.load(control, ACK_WAKE_AT);
    // The compare-exchange makes it one notify per park, however many acks pass the target.
    if (wakeAt !== 0 && count >= wakeAt && Atomics.compareExchange(control, ACK_WAKE_AT, wakeAt, 0) === wakeAt) {
      Atomics.notify(control, ACK, 1);
      this.#notifies++;
    }
  }

  #onBatch(data: unknown): void {
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
        this.#sink += e.room.length + e.from.length + e.payload.length;
      }
      const p = batch[0]!.payload;
      stamp = new DataView(p.buffer, p.byteOffset, p.byteLength).getFloat64(0, true);
    }
    if (count !== this.#spec.n) throw new Error(`batch of ${count} frames, expected ${this.#spec.n}`);
    if (stamp !== 0) this.#latencies.push((clock() - stamp) * 1000);
    this.#received++;
    this.#frames += count;
    this.#ack();
  }

  /** Drains the ring (at most DRAIN_BUDGET records per turn, then yields), then parks on HEAD. */
  #drainRing(r: Ring): void {
    const control = this.#control;
    const drain = (): void => {
      let budget = DRAIN_BUDGET;
      for (;;) {
        let record: Uint8Array | null;
        while (budget > 0 && (record = r.read()) !== null) {
          budget--;
          if (Atomics.load(control, PRODUCER_WAITING) === 1) {
            Atomics.notify(control, TAIL, 1);
            this.#notifies++;
          }
          this.#onBatch(record);
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
}
