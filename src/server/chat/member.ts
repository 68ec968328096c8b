/**
 * One chat connection's side of chat mode: its name and room, its replies in
 * order (some of which wait for the other threads to confirm a membership
 * change: "effective on reply"), and the deliveries queued for it this turn.
 * Everything queued goes out in one write per event-loop turn.
 */
import type { ProtocolError } from '../../protocol/index.ts';
import type { PrebuiltAcks } from '../io/acks.ts';
import type { LocalRoom } from './room.ts';

/** What a member needs from its connection (the Session). */
export interface ChatConnection {
  /** `ip:port` as this server sees it. */
  readonly address: string;
  /** Bytes handed to the socket that it has not sent yet. */
  readonly unsentBytes: number;
  /** Writes `chunks` (`bytes` in all) in one go. */
  writeOut(chunks: Buffer[], bytes: number): void;
  fail(err: ProtocolError): void;
  /**
   * Our own code threw while the chat served this connection outside its read path (the
   * end-of-turn flush): it alone ends, the fault is logged and counted (Session.crashed).
   */
  crashed(where: 'chat-flush', cause: unknown): void;
}

/** A reply that waits: for a confirmation (a membership change), or for its content (a `!WHO` through Redis). */
export interface Ticket {
  done: boolean;
  /** The reply to send once done; null for a barrier that sends nothing (the first reply waits for the lobby). */
  frame: Buffer | null;
}

/** A run of `n` acks is stored as the number n. */
type ReplyEntry = Buffer | Ticket | number;

/**
 * What a queued reply other than an ack costs beyond its frame's bytes (the entry, the
 * ticket object): counted too, so that thousands of tiny queued replies are not free.
 */
const ENTRY_OVERHEAD_BYTES = 128;

export class ChatMember {
  readonly id: number;
  readonly connection: ChatConnection;
  name: string;
  room: LocalRoom | null = null;
  /** `!MSG <room> <name> `, rebuilt when either changes. */
  messagePrefix: Buffer = Buffer.alloc(0);
  /** Start and end offsets of this member's own frames in its room's current batch (it must not get them back). */
  readonly ownFrames: number[] = [];
  /** Queued in `flush()`'s set of members to write this turn. */
  dirty = false;
  /** `!DISCONNECT` was answered: close once every reply is out. */
  endAfterReplies: (() => void) | null = null;
  gone = false;
  readonly #replies: ReplyEntry[] = [];
  /**
   * What the replies not yet written hold, acks counted as the bytes they become. They
   * wait behind a ticket (a membership change being confirmed): a client that pipelines
   * meanwhile grows this, and it counts against --max-pending-bytes like unsent bytes.
   */
  #queuedBytes = 0;
  readonly #ackBytes: number;
  readonly #deliveries: Buffer[] = [];
  #deliveryBytes = 0;

  /** `ackBytes`: the size of one ack frame. */
  constructor(id: number, connection: ChatConnection, ackBytes: number) {
    this.id = id;
    this.connection = connection;
    this.name = connection.address;
    this.#ackBytes = ackBytes;
  }

  /** Replies queued and not yet handed to the connection, in bytes (see #queuedBytes). */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  setPlace(room: LocalRoom | null, name: string): void {
    this.room = room;
    this.name = name;
    this.messagePrefix = room ? Buffer.from(`!MSG ${room.name} ${name} `, 'latin1') : Buffer.alloc(0);
  }

  /** One more `Msg received`. */
  ack(): void {
    this.#queuedBytes += this.#ackBytes;
    const last = this.#replies.length - 1;
    const tail = this.#replies[last];
    if (typeof tail === 'number') this.#replies[last] = tail + 1;
    else this.#replies.push(1);
  }

  reply(frame: Buffer): void {
    this.#queuedBytes += ENTRY_OVERHEAD_BYTES + frame.length;
    this.#replies.push(frame);
  }

  /** A reply that is sent when `ticket` is done; every later reply waits behind it. */
  replyLater(ticket: Ticket): void {
    this.#queuedBytes += ENTRY_OVERHEAD_BYTES;
    this.#replies.push(ticket);
  }

  deliver(frames: Buffer): void {
    this.#deliveries.push(frames);
    this.#deliveryBytes += frames.length;
  }

  /**
   * Writes every reply that may go (up to the first ticket not yet done) and every
   * delivery, in one write.
   */
  flush(acks: PrebuiltAcks): void {
    if (this.gone) return;
    const chunks: Buffer[] = [];
    let bytes = 0;
    const replies = this.#replies;
    let taken = 0;
    let released = 0;
    for (; taken < replies.length; taken++) {
      const entry = replies[taken]!;
      if (typeof entry === 'number') {
        acks.forEachRun(entry, (run) => {
          chunks.push(run);
          bytes += run.length;
        });
        released += entry * this.#ackBytes;
      } else if (Buffer.isBuffer(entry)) {
        chunks.push(entry);
        bytes += entry.length;
        released += ENTRY_OVERHEAD_BYTES + entry.length;
      } else if (entry.done) {
        if (entry.frame) {
          chunks.push(entry.frame);
          bytes += entry.frame.length;
        }
        released += ENTRY_OVERHEAD_BYTES;
      } else {
        break;
      }
    }
    if (taken > 0) {
      replies.splice(0, taken);
      this.#queuedBytes -= released;
    }
    if (this.#deliveries.length > 0) {
      for (const d of this.#deliveries) chunks.push(d);
      bytes += this.#deliveryBytes;
      this.#deliveries.length = 0;
      this.#deliveryBytes = 0;
    }
    if (chunks.length > 0) this.connection.writeOut(chunks, bytes);
    if (replies.length === 0 && this.endAfterReplies) {
      const end = this.endAfterReplies;
      this.endAfterReplies = null;
      end();
    }
  }
}
