import type net from 'node:net';
import { handleWrite, type QueuedWriteOwner, writableHandle } from './handle-write.ts';

/**
 * Acks written straight to the socket's libuv handle (handle-write.ts says why
 * and what it keeps), for plain TCP ack-mode sessions only; the second lean on
 * Node internals beside fast-socket.ts. Later `socket.write`s (the error frame,
 * the FIN of `end()`) queue in libuv behind these, so a session may mix the two.
 *
 * What this adds for the session's flow control: the bytes libuv still holds
 * are counted (`pendingBytes`), so stopping reads above the high-water mark and
 * the write deadline see them; the session hears when they are all out
 * (`onDrained`, its 'drain'). If a Node upgrade changes the handle,
 * DirectAcks.of() returns null (the session writes through the stream) and
 * test/server/io/direct-acks.test.ts fails.
 */
export class DirectAcks implements QueuedWriteOwner {
  /** Bytes handed to libuv and not yet written. */
  pendingBytes = 0;
  /** The session wrote through the stream since the stream was last seen empty. */
  #viaStream = false;
  readonly #socket: net.Socket;
  readonly #onDrained: () => void;

  /** Null unless `socket` is plain TCP with the handle this module knows. */
  static of(socket: net.Socket, onDrained: () => void): DirectAcks | null {
    return writableHandle(socket) ? new DirectAcks(socket, onDrained) : null;
  }

  private constructor(socket: net.Socket, onDrained: () => void) {
    this.#socket = socket;
    this.#onDrained = onDrained;
  }

  /**
   * Writes `data` (a prebuilt ack run: never changed afterwards). False when the
   * stream must be used instead: it holds unsent bytes of its own, which must go first.
   */
  write(data: Buffer): boolean {
    const socket = this.#socket;
    // The stream's length is only looked at after a write through it (rare in ack mode: an error frame, a fallback).
    if (this.#viaStream) {
      if (socket.writableLength > 0) return false;
      this.#viaStream = false;
    }
    // Counted first: a write libuv finishes inside the call settles before handleWrite returns.
    this.pendingBytes += data.length;
    if (!handleWrite(socket, data, this)) this.pendingBytes -= data.length;
    return true;
  }

  /** The session wrote to the socket's stream: its bytes must go out before the next direct write. */
  wroteThroughStream(): void {
    this.#viaStream = true;
  }

  /** A queued write is done (`ok` false: it failed and the socket is destroyed). */
  settled(bytes: number, ok: boolean): void {
    this.pendingBytes -= bytes;
    if (ok && this.pendingBytes === 0) this.#onDrained();
  }
}
