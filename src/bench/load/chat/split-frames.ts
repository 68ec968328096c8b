/**
 * One connection's reading: the read buffer is the thread's and reused, so a
 * frame split across two reads has its start copied aside, here, and is
 * completed with only as many bytes of the next read as it needs (when its
 * length is known; a line grows CARRY_STEP bytes at a time): everything after
 * it is parsed where it lies, so a split frame costs one small copy, not a
 * copy of the whole next read.
 */
import { alignedBuffer, type ChatSink, type ChatWire } from './wire.ts';

/** Bytes taken at a time into a split frame's buffer while its length is not known yet (a line). */
const CARRY_STEP = 256;

export class SplitFrames {
  readonly #wire: ChatWire;
  #carry: Buffer | null = null;
  #carryWords: Int32Array | null = null;
  #carryLength = 0;

  constructor(wire: ChatWire) {
    this.#wire = wire;
  }

  /** Bytes held of a frame not complete yet. */
  get pending(): number {
    return this.#carryLength;
  }

  /** Parses buf[0, n) for `sink` (words: the Int32Array over buf), finishing first a frame split across reads. */
  consume(sink: ChatSink, buf: Buffer, words: Int32Array, n: number): void {
    let pos = 0;
    if (this.#carryLength > 0) {
      pos = this.#finishCarried(sink, buf, n);
      if (pos < 0) return;
    }
    const used = this.#wire.parse(sink, buf, words, pos, n);
    if (!sink.dead && used < n) {
      this.#carryLength = 0;
      this.#append(sink, buf, used, n);
    }
  }

  /** Completes the split frame from buf; returns where parsing goes on in buf, or -1 (all taken, or dead). */
  #finishCarried(sink: ChatSink, buf: Buffer, n: number): number {
    let pos = 0;
    for (;;) {
      const want = sink.need > this.#carryLength ? sink.need - this.#carryLength : CARRY_STEP;
      const take = Math.min(want, n - pos);
      this.#append(sink, buf, pos, pos + take);
      pos += take;
      const used = this.#wire.parse(sink, this.#carry!, this.#carryWords!, 0, this.#carryLength);
      if (sink.dead) return -1;
      if (used > 0) {
        // The split frame is done; what the carry holds beyond `used` came from this read.
        const back = this.#carryLength - used;
        this.#carryLength = 0;
        return pos - back;
      }
      if (pos === n) return -1;
    }
  }

  #append(sink: ChatSink, buf: Buffer, from: number, to: number): void {
    const length = this.#carryLength + (to - from);
    if (!this.#carry || this.#carry.length < length) {
      const grown = alignedBuffer(Math.max(4096, length * 2, sink.need));
      if (this.#carry) this.#carry.copy(grown.buf, 0, 0, this.#carryLength);
      this.#carry = grown.buf;
      this.#carryWords = grown.words;
    }
    buf.copy(this.#carry, this.#carryLength, from, to);
    this.#carryLength = length;
  }
}
