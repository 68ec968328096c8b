/**
 * The sab-ring transport: a single-producer/single-consumer byte ring in a
 * SharedArrayBuffer (the format and its wake-up protocol: thread-hop.ts's header).
 */
import { HEAD, TAIL } from './wire.ts';

export class Ring {
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
