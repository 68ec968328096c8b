/**
 * A room as one thread sees it: the members this thread serves, and the batch of
 * delivery frames this turn has produced for them. The hot path of chat mode.
 *
 * Each frame is built once per thread (header, `!MSG <room> <from> `, payload)
 * into a scratch buffer; at the end of the turn the batch becomes one buffer that
 * every member gets as it is, in one write with whatever else it has this turn.
 * A member that sent some of those frames gets the batch without them, as views
 * of the same buffer (no copy). The frames of this thread's own senders are also
 * gathered apart, to be handed once to each other thread with members here.
 */
import { writeHeader } from '../../protocol/index.ts';
import type { ChatMember } from './member.ts';

const FIRST_SCRATCH_BYTES = 16 * 1024;

/** A growable byte run, reused turn after turn. */
class Scratch {
  bytes = Buffer.allocUnsafeSlow(FIRST_SCRATCH_BYTES);
  used = 0;

  reserve(n: number): Buffer {
    if (this.used + n > this.bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.used + n));
      this.bytes.copy(grown, 0, 0, this.used);
      this.bytes = grown;
    }
    return this.bytes;
  }

  /** The bytes so far, as a buffer of their own (exactly their size: it may be kept, cloned or queued). */
  take(): Buffer {
    const out = Buffer.allocUnsafeSlow(this.used);
    this.bytes.copy(out, 0, 0, this.used);
    this.used = 0;
    return out;
  }
}

export class LocalRoom {
  readonly name: string;
  readonly members = new Set<ChatMember>();
  readonly #headerBytes: number;
  /** Everything for this thread's members, in order. */
  readonly #local = new Scratch();
  #localFrames = 0;
  /** Messages of this thread's own senders, for the other threads. */
  readonly #forward = new Scratch();
  #forwardFrames = 0;
  /** Members with frames of their own in this batch. */
  readonly #senders = new Set<ChatMember>();
  /** In its thread's set of rooms to flush this turn. */
  dirty = false;

  constructor(name: string, headerBytes: number) {
    this.name = name;
    this.#headerBytes = headerBytes;
  }

  get pending(): boolean {
    return this.#local.used > 0 || this.#forward.used > 0;
  }

  /** `!MSG <room> <from> <payload>` from a member of this thread; `payload` may be a view of the read buffer. */
  addMessage(sender: ChatMember, payload: Uint8Array): void {
    const h = this.#headerBytes;
    const prefix = sender.messagePrefix;
    const length = prefix.length + payload.length;
    const size = h + length;
    const local = this.#local;
    const start = local.used;
    const bytes = local.reserve(size);
    writeHeader(bytes, start, length, h);
    prefix.copy(bytes, start + h);
    bytes.set(payload, start + h + prefix.length);
    local.used += size;
    this.#localFrames++;
    sender.ownFrames.push(start, start + size);
    this.#senders.add(sender);
    const forward = this.#forward;
    forward.reserve(size);
    bytes.copy(forward.bytes, forward.used, start, start + size);
    forward.used += size;
    this.#forwardFrames++;
  }

  /** A presence frame (`!JOINED`, `!LEFT`) for this thread's members; `about` (if here) does not get it. */
  addPresence(payload: string, about: ChatMember | null): void {
    const h = this.#headerBytes;
    const length = Buffer.byteLength(payload, 'latin1');
    const local = this.#local;
    const start = local.used;
    const bytes = local.reserve(h + length);
    writeHeader(bytes, start, length, h);
    bytes.write(payload, start + h, 'latin1');
    local.used += h + length;
    this.#localFrames++;
    if (about) {
      about.ownFrames.push(start, start + h + length);
      this.#senders.add(about);
    }
  }

  /** Frames another thread built (`count` of them), for this thread's members. */
  addForeign(frames: Uint8Array, count: number): void {
    const local = this.#local;
    local.reserve(frames.length).set(frames, local.used);
    local.used += frames.length;
    this.#localFrames += count;
  }

  /**
   * Hands this turn's batch to the members (each skips its own frames). Returns the
   * number of deliveries and this thread's own messages for the other threads
   * (null when there were none).
   */
  distribute(): { deliveries: number; forward: Buffer | null; forwardCount: number } {
    let deliveries = 0;
    if (this.#local.used > 0) {
      const batch = this.#local.take();
      const frames = this.#localFrames;
      this.#localFrames = 0;
      for (const member of this.members) {
        const own = member.ownFrames;
        if (own.length === 0) {
          member.deliver(batch);
          deliveries += frames;
          continue;
        }
        let at = 0;
        for (let i = 0; i < own.length; i += 2) {
          if (own[i]! > at) member.deliver(batch.subarray(at, own[i]));
          at = own[i + 1]!;
        }
        if (at < batch.length) member.deliver(batch.subarray(at));
        deliveries += frames - own.length / 2;
      }
      for (const sender of this.#senders) sender.ownFrames.length = 0;
      this.#senders.clear();
    }
    const forwardCount = this.#forwardFrames;
    this.#forwardFrames = 0;
    const forward = this.#forward.used > 0 ? this.#forward.take() : null;
    return { deliveries, forward, forwardCount };
  }
}
