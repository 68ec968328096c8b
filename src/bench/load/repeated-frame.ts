/**
 * The load thread's check of a read that holds nothing but whole acks: is
 * `buffer[0, n)` the expected reply frame, byte for byte, k times over?
 *
 * Why: in ack mode every reply is the same frame (64-byte header + "Msg
 * received"), and at one message in flight a read holds one or a few of them,
 * starting at a frame boundary. Decoding each (header parse over 64 bytes, a
 * callback per frame) was the largest piece of the load thread's JavaScript
 * per reply; comparing 32-bit words of the read buffer with the frame's costs
 * about half of that (34 against 62 ns per ack: src/bench/micro/reply-check.ts)
 * and checks more: every byte, not a length and a first byte.
 * Anything else (a split frame, an `!ERROR` frame, a wrong byte) is left to
 * the FrameDecoder, which says what is wrong.
 */
export class RepeatedFrame {
  readonly frameBytes: number;
  readonly #frameWords: Int32Array;
  readonly #bufferWords: Int32Array;

  /**
   * Null when the words cannot be compared: a frame whose length is not a
   * multiple of 4 (an unusual --header-bytes), or a buffer not on a 4-byte
   * boundary.
   */
  static of(frame: Buffer, buffer: Buffer): RepeatedFrame | null {
    if (frame.length % 4 !== 0 || buffer.byteOffset % 4 !== 0) return null;
    return new RepeatedFrame(frame, buffer);
  }

  private constructor(frame: Buffer, buffer: Buffer) {
    this.frameBytes = frame.length;
    // A copy of its own, read in the machine's byte order, as the buffer's words are.
    this.#frameWords = new Int32Array(Uint8Array.from(frame).buffer);
    this.#bufferWords = new Int32Array(buffer.buffer, buffer.byteOffset, buffer.length >>> 2);
  }

  /** How many copies of the frame `buffer[0, n)` is, or 0 when it is anything else. */
  count(n: number): number {
    const size = this.frameBytes;
    if (n === 0 || n % size !== 0) return 0;
    const frame = this.#frameWords;
    const words = this.#bufferWords;
    const last = frame.length - 1;
    for (let i = 0, j = 0, end = n >>> 2; i < end; i++) {
      if (words[i] !== frame[j]) return 0;
      j = j === last ? 0 : j + 1;
    }
    return n / size;
  }
}
