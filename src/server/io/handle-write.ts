/**
 * A write straight to a socket's libuv handle (`socket._handle.writeBuffer`),
 * as ../shared/reference/node_fast.mjs does, instead of `socket.write`: the one
 * place that leans on that Node internal, shared by the server's ack path
 * (direct-acks.ts) and the load threads' request writes (src/bench/load/handle-write.ts).
 *
 * Why: at one message in flight a session writes once per read, and
 * `socket.write` costs per write the Writable's bookkeeping and a
 * `process.nextTick` for its callback, one more call into JavaScript after every
 * read. The handle writes what it can at once (uv_try_write) and queues the rest
 * in libuv, in order with any later `socket.write`.
 *
 * What the stream did that this keeps: a failed write destroys the socket with
 * Node's own shape of the error; a write the kernel could not take at once keeps
 * its buffer alive until libuv is done with it, and its owner hears when it is.
 * If a Node upgrade changes the handle, writableHandle() is false (callers use
 * `socket.write`) and test/server/io/direct-acks.test.ts and
 * test/bench/load/handle-write.test.ts fail loudly.
 */
import type net from 'node:net';
import { getSystemErrorName } from 'node:util';

/** Whoever wants to hear when a write libuv queued is done (`ok` false: it failed, the socket is destroyed). */
export interface QueuedWriteOwner {
  settled(bytes: number, ok: boolean): void;
}

/** A write libuv could not finish at once: it calls `oncomplete(status)` when it has. */
interface QueuedWrite {
  buffer: unknown;
  bytes: number;
  socket: net.Socket;
  owner: QueuedWriteOwner | null;
  oncomplete: (this: QueuedWrite, status: number) => void;
  /** Set when the write finished inside the call, before `oncomplete` could be attached. */
  writeStatus?: number | null;
}

interface StreamHandle {
  /** 0 when written at once, a negative errno when it failed at once, else the request of a queued write. */
  writeBuffer(req: null, data: Uint8Array): number | QueuedWrite;
}

function handleOf(socket: net.Socket): StreamHandle | null {
  return (socket as unknown as { _handle: StreamHandle | null })._handle;
}

/** Node's own shape of a failed write's error (what `socket.write` would have raised). */
function writeError(errno: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(errno);
  return Object.assign(new Error(`write ${code}`), { errno, code, syscall: 'write' });
}

// One function for every queued write (no closure per write): its state rides on the request.
function completed(this: QueuedWrite, status: number): void {
  this.buffer = null;
  if (status < 0 && !this.socket.destroyed) this.socket.destroy(writeError(status));
  this.owner?.settled(this.bytes, status >= 0);
}

/** Whether `socket` (connected) has the plain-TCP handle this module writes to; TLS must encrypt first. */
export function writableHandle(socket: net.Socket): boolean {
  const handle = handleOf(socket);
  return handle !== null && typeof handle.writeBuffer === 'function' && !('encrypted' in socket);
}

/**
 * Writes `data` (never changed afterwards) to the socket's handle. True when
 * libuv queued part of it: `owner.settled` is called once that is done. False
 * when it was written at once, failed at once (the socket is destroyed), or the
 * socket is already destroyed (what is still to send is dropped, as
 * `socket.write` would).
 */
export function handleWrite(socket: net.Socket, data: Buffer, owner: QueuedWriteOwner | null): boolean {
  const handle = handleOf(socket);
  if (handle === null) return false;
  const ret = handle.writeBuffer(null, data);
  if (typeof ret === 'number') {
    if (ret !== 0) socket.destroy(writeError(ret));
    return false;
  }
  ret.buffer = data;
  ret.bytes = data.length;
  ret.socket = socket;
  ret.owner = owner;
  ret.oncomplete = completed;
  const status = ret.writeStatus;
  if (status != null) {
    ret.writeStatus = null;
    ret.oncomplete(status);
  }
  return true;
}
