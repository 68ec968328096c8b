/**
 * Per-sender order, duplicates and gaps, for every (receiver, sender) pair of a
 * load thread: one "track" each. A track keeps the next sequence number it
 * expects and a bitmap of the WINDOW numbers just below it (which of them
 * arrived), so a late arrival is told apart from a duplicate exactly as long
 * as it is less than WINDOW behind; further back it cannot be told and is
 * counted as a far reorder (and as new). State is typed arrays, so recording
 * allocates nothing: this runs once per delivery.
 *
 * Losses are not inferred here: the run counts distinct deliveries (record()
 * says which are new) and subtracts them from what was sent.
 */
const WORDS = 8;
/** Sequence numbers below `next` that a track remembers. */
export const ORDER_WINDOW = WORDS * 32;

export interface OrderCounts {
  /** Arrivals that skipped ahead of the next expected number (each gap once, however long). */
  gaps: number;
  /** Numbers skipped by those gaps (some may arrive later, out of order). */
  gapMessages: number;
  /** Arrivals below the next expected number that were new: out of the sender's order. */
  reordered: number;
  /** Of those, the ones too far behind to check against the bitmap. */
  reorderedFar: number;
  /** Arrivals of a number already received. */
  duplicates: number;
}

export class OrderChecker implements OrderCounts {
  readonly tracks: number;
  readonly #next: Uint32Array;
  readonly #bits: Uint32Array;
  gaps = 0;
  gapMessages = 0;
  reordered = 0;
  reorderedFar = 0;
  duplicates = 0;

  constructor(tracks: number) {
    this.tracks = tracks;
    this.#next = new Uint32Array(tracks);
    this.#bits = new Uint32Array(tracks * WORDS);
  }

  /** Records `seq` on `track`; true when it is new there, false for a duplicate. */
  record(track: number, seq: number): boolean {
    const next = this.#next[track]!;
    const bits = this.#bits;
    const base = track * WORDS;
    if (seq === next) {
      // In order, the common case: mark it (a later copy is then a duplicate) and move on.
      bits[base + ((seq >>> 5) & (WORDS - 1))]! |= 1 << (seq & 31);
      this.#next[track] = next + 1;
      return true;
    }
    if (seq > next) {
      const skipped = seq - next;
      this.gaps++;
      this.gapMessages += skipped;
      if (skipped >= ORDER_WINDOW) bits.fill(0, base, base + WORDS);
      else for (let s = next; s !== seq; s++) bits[base + ((s >>> 5) & (WORDS - 1))]! &= ~(1 << (s & 31));
      bits[base + ((seq >>> 5) & (WORDS - 1))]! |= 1 << (seq & 31);
      this.#next[track] = seq + 1;
      return true;
    }
    if (next - seq > ORDER_WINDOW) {
      this.reorderedFar++;
      this.reordered++;
      return true;
    }
    const word = base + ((seq >>> 5) & (WORDS - 1));
    const mask = 1 << (seq & 31);
    if ((bits[word]! & mask) !== 0) {
      this.duplicates++;
      return false;
    }
    bits[word]! |= mask;
    this.reordered++;
    return true;
  }

  /** The next number `track` expects: one past the highest it has seen. */
  nextOf(track: number): number {
    return this.#next[track]!;
  }

  counts(): OrderCounts {
    return {
      gaps: this.gaps,
      gapMessages: this.gapMessages,
      reordered: this.reordered,
      reorderedFar: this.reorderedFar,
      duplicates: this.duplicates,
    };
  }
}
