/**
 * The load thread's one lean on Node internals: requests written straight to
 * the socket's libuv handle (`socket._handle.writeBuffer`), as
 * ../shared/reference/node_fast_client.mjs does, instead of `socket.write`.
 *
 * Why: at one message in flight a load thread writes once per reply, and
 * `socket.write` costs per write what the message costs the kernel's loopback
 * in user space: the Writable's state, a result object and a `process.nextTick`
 * for the write's callback, whose tick queue Node then runs as one more call
 * into JavaScript after every read. The handle writes what it can at once
 * (uv_try_write) and queues the rest in libuv, in order, as the stream would.
 *
 * What the stream did that this keeps: a failed write destroys the socket with
 * the error (its 'error' and 'close' then say so, as for any lost connection);
 * a write the kernel could not take at once keeps its buffer alive until libuv
 * is done with it. What it drops: `writableLength` and 'drain' (the load
 * threads never queue more than `--pipelining` messages, so they need no
 * backpressure) and writes before 'connect' (they write only once connected).
 *
 * If a Node upgrade changes the handle's interface, handleWriter() falls back
 * to `socket.write` and test/bench/load/handle-write.test.ts fails loudly.
 */
import type net from 'node:net';
import { getSystemErrorName } from 'node:util';

/** A write libuv could not finish at once: it calls `oncomplete(status)` when it has. */
interface WriteRequest {
  buffer: unknown;
  oncomplete: (this: WriteRequest, status: number) => void;
  /** Set when the write finished inside the call, before `oncomplete` could be attached. */
  writeStatus?: number | null;
}

interface StreamHandle {
  /** 0 when written at once, a negative errno when it failed at once, else the request of a queued write. */
  writeBuffer(req: null, data: Uint8Array): number | WriteRequest;
}

/** Writes one request frame (or several back to back) to a connected socket. */
export type Writer = (data: Buffer) => void;

export interface HandleWriter {
  write: Writer;
  /** True when writes go straight to the handle; false when they go through `socket.write`. */
  readonly direct: boolean;
}

/** Node's own shape of a failed write's error (what `socket.write` would have raised). */
function writeError(errno: number): NodeJS.ErrnoException {
  const code = getSystemErrorName(errno);
  return Object.assign(new Error(`write ${code}`), { errno, code, syscall: 'write' });
}

function handleOf(socket: net.Socket): StreamHandle | null {
  return (socket as unknown as { _handle: StreamHandle | null })._handle;
}

/**
 * The writer for `socket`, which must be connected: straight to its handle when
 * the handle is the kind this module knows (a plain TCP socket on this Node),
 * else `socket.write` (TLS, whose handle must encrypt first; another Node).
 */
export function handleWriter(socket: net.Socket): HandleWriter {
  const handle = handleOf(socket);
  if (handle === null || typeof handle.writeBuffer !== 'function' || 'encrypted' in socket) {
    return { write: (data) => void socket.write(data), direct: false };
  }
  function completed(this: WriteRequest, status: number): void {
    this.buffer = null;
    if (status < 0 && !socket.destroyed) socket.destroy(writeError(status));
  }
  return {
    direct: true,
    write(data) {
      // Null once the socket is destroyed: what is still to send is dropped, as socket.write would.
      const h = handleOf(socket);
      if (h === null) return;
      const ret = h.writeBuffer(null, data);
      if (typeof ret === 'number') {
        if (ret !== 0) socket.destroy(writeError(ret));
        return;
      }
      ret.buffer = data;
      ret.oncomplete = completed;
      const status = ret.writeStatus;
      if (status != null) {
        ret.writeStatus = null;
        ret.oncomplete(status);
      }
    },
  };
}
