/**
 * The load thread's writer: requests straight to the socket's libuv handle
 * (src/server/io/handle-write.ts, shared with the server's acks, says why),
 * else `socket.write`. What it drops from the stream: `writableLength` and
 * 'drain' (the load threads never queue more than `--pipelining` messages, so
 * they need no backpressure) and writes before 'connect' (they write only once
 * connected). test/bench/load/handle-write.test.ts holds it to every byte.
 */
import type net from 'node:net';
import { handleWrite, writableHandle } from '../../server/io/handle-write.ts';

/** Writes one request frame (or several back to back) to a connected socket. */
export type Writer = (data: Buffer) => void;

export interface HandleWriter {
  write: Writer;
  /** True when writes go straight to the handle; false when they go through `socket.write`. */
  readonly direct: boolean;
}

/** The writer for `socket`, which must be connected: straight to its handle when it can be (plain TCP on this Node). */
export function handleWriter(socket: net.Socket): HandleWriter {
  if (!writableHandle(socket)) return { write: (data) => void socket.write(data), direct: false };
  return { write: (data) => void handleWrite(socket, data, null), direct: true };
}
