import { ACK_TEXT, encodeTextFrame, repeatFrame } from '../../protocol/index.ts';

/** Acks per prebuilt run: a pipelined burst of acks is one slice and one write. */
const ACKS_PER_RUN = 256;

/**
 * The ack, built once per thread, and a run of them back to back: n acks are one
 * view of the run (no allocation, one write), however many a read completed.
 */
export class PrebuiltAcks {
  readonly frame: Buffer;
  readonly #run: Buffer;

  /** `raw`: the tutorial's bare `Msg received`, without a header. */
  constructor(headerBytes: number, raw: boolean) {
    this.frame = raw ? Buffer.from(ACK_TEXT, 'utf8') : encodeTextFrame(ACK_TEXT, headerBytes);
    this.#run = repeatFrame(this.frame, ACKS_PER_RUN);
  }

  /** Calls `each` with views that hold `count` acks in all (one view up to ACKS_PER_RUN). */
  forEachRun(count: number, each: (acks: Buffer) => void): void {
    const size = this.frame.length;
    for (let left = count; left > 0; left -= ACKS_PER_RUN) {
      const n = left < ACKS_PER_RUN ? left : ACKS_PER_RUN;
      each(n === 1 ? this.frame : this.#run.subarray(0, n * size));
    }
  }
}
