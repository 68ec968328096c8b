import type net from 'node:net';
import { getSystemErrorName } from 'node:util';

/**
 * Acks written straight to the socket's libuv handle (`_handle.writeBuffer`),
 * as ../shared/reference/node_fast.mjs does, instead of `socket.write`: the
 * second lean on Node internals beside fast-socket.ts, for plain TCP ack-mode
 * sessions only.
 *
 * Why: in ack mode at one message in flight the server writes once per
 * message, and `socket.write` costs per write the Writable's bookkeeping and a
 * `process.nextTick` for its callback, one more call into JavaScript after
 * every read. The handle writes what it can at once (uv_try_write) and queues
 * the rest in libuv, in order with any later `socket.write` (the error frame,
 * the FIN of `end()`), so a session may mix the two.
 *
 * What the stream gave that this keeps: the bytes libuv still holds are
 * counted (`pendingBytes`), so the session's flow control (stop reading above
 * the high-water mark, the write deadline) sees them; the session hears when
 * they are all out (`onDrained`, its 'drain'); a failed write destroys the
 * socket with the error, as a failed `socket.write` would.
 *
 * If a Node upgrade changes the handle, directAcks() returns null (the
 * session writes through the stream) and test/server/direct-acks.test.ts fails.
 */

/** A write libuv could not finish at once: it calls `oncomplete(status)` when it has. */
interface QueuedWrite {
  buffer: unknown;
  bytes: number;
  owner: DirectAcks;
  oncomplete: (this: QueuedWrite, status: number) => void;
  /** Set when the write finished inside the call, before `oncomplete` could be attached. */
  writeStatus?: number | null;
}

interface WritableHandle {
  /** 0 when written at once, a negative errno when it failed at once, else the request of a queued write. */
  writeBuffer(req: null, data: Uint8Array): number | QueuedWrite;
}

function handleOf(socket: net.Socket): WritableHandle | null {
  return (socket as unknown as { _handle: WritableHandle | null })._handle;
}

function failed(errno: number): NodeJS.ErrnoException {
  return Object.assign(new Error(`write ${getSystemErrorName(errno)}`), { errno, code: getSystemErrorName(errno) });
}

function completed(this: QueuedWrite, status: number): void {
  this.buffer = null;
  this.owner.settle(this.bytes, status);
}

export class DirectAcks {
  /** Bytes handed to libuv and not yet written. */
  pendingBytes = 0;
  readonly #socket: net.Socket;
  readonly #onDrained: () => void;

  /** Null unless `socket` is plain TCP with the handle this module knows. */
  static of(socket: net.Socket, onDrained: () => void): DirectAcks | null {
    const handle = handleOf(socket);
    if (handle === null || typeof handle.writeBuffer !== 'function' || 'encrypted' in socket) return null;
    return new DirectAcks(socket, onDrained);
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
    if (socket.writableLength > 0) return false;
    const handle = handleOf(socket);
    // Null once destroyed: what is still to send is dropped, as socket.write would.
    if (handle === null) return true;
    const ret = handle.writeBuffer(null, data);
    if (typeof ret === 'number') {
      if (ret !== 0) socket.destroy(failed(ret));
      return true;
    }
    this.pendingBytes += data.length;
    ret.buffer = data;
    ret.bytes = data.length;
    ret.owner = this;
    ret.oncomplete = completed;
    const status = ret.writeStatus;
    if (status != null) {
      ret.writeStatus = null;
      ret.oncomplete(status);
    }
    return true;
  }

  /** A queued write is done (`status` < 0: it failed). */
  settle(bytes: number, status: number): void {
    this.pendingBytes -= bytes;
    if (status < 0) {
      if (!this.#socket.destroyed) this.#socket.destroy(failed(status));
      return;
    }
    if (this.pendingBytes === 0) this.#onDrained();
  }
}
