import net from 'node:net';
import { UnsupportedRuntimeError } from '../../protocol/index.ts';

export { UnsupportedRuntimeError };

/**
 * The one place that leans on Node internals.
 *
 * Reading with `onread` into one reused buffer is what makes a Node server
 * cheap per message (no allocation per read, no stream machinery), but Node
 * offers `onread` only to `new net.Socket()`, never to sockets it creates
 * itself: accepted ones and ones transferred to a worker thread. So we move
 * the accepted socket's libuv handle into a new Socket made with `onread`.
 * That uses the `handle` constructor option (which Node's own child_process
 * uses to pass sockets) and the `_handle` field. If a Node upgrade changes
 * either, adoptSocket() throws at the first connection and
 * test/server/fast-socket.test.ts fails loudly.
 */

/** Called with each read's byte count and the shared buffer; return false to stop reading. */
type ReadCallback = (this: net.Socket, bytesRead: number, buffer: Buffer) => boolean | void;

interface HandleOwner {
  _handle: { readStart?: unknown; readStop?: unknown; fd?: number } | null;
}

export interface AdoptOptions {
  /** The buffer every read lands in, or a function giving the buffer for the next read (its size caps the read). */
  buffer: Buffer | (() => Buffer);
  callback: ReadCallback;
  /** Bytes of unsent replies above which write() returns false. */
  writableHighWaterMark: number;
}

/**
 * Returns a new Socket that owns `socket`'s connection and reads through `onread`.
 * `socket` must be fresh: paused since accept (pauseOnConnect), nothing read,
 * written or encoded. It is left empty and must not be used again.
 */
export function adoptSocket(socket: net.Socket, options: AdoptOptions): net.Socket {
  const owner = socket as unknown as HandleOwner;
  const handle = owner._handle;
  if (handle == null || typeof handle.readStart !== 'function') {
    throw new UnsupportedRuntimeError(
      `cannot take over the socket's handle on Node ${process.version}: net.Socket internals changed`,
    );
  }
  owner._handle = null; // the old wrapper must not close or read the handle
  const adopted = new net.Socket({
    handle,
    onread: { buffer: options.buffer, callback: options.callback },
    readable: true,
    writable: true,
    writableHighWaterMark: options.writableHighWaterMark,
  } as unknown as net.SocketConstructorOpts);
  return adopted;
}
