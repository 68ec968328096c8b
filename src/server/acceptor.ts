/**
 * What happens to a connection the moment it is accepted, before anyone reads
 * it: count it against --max-connections or refuse it with SERVER_FULL. The
 * acceptor of strategy handoff (main thread) does this and then transfers the
 * socket to a pool thread; threads that accept for themselves (reuseport,
 * single) do the same admission and serve the socket where they are.
 */
import type net from 'node:net';
import { encodeFrame, errorPayload, ServerFullError } from '../protocol/index.ts';
import type { ServerCounters } from './counters.ts';
import type { ServerLog } from './log.ts';
import type { ResolvedServerOptions } from './options.ts';
import type { WorkerPool } from './pool.ts';

/** A refused peer that does not take its SERVER_FULL frame is cut off after this. */
const REFUSE_GRACE_MS = 2_000;

/** Counts a just-accepted connection, or answers it with SERVER_FULL and closes it. True: serve it. */
export function admit(
  socket: net.Socket,
  counters: ServerCounters,
  options: ResolvedServerOptions,
  log: ServerLog,
): boolean {
  if (counters.tryOpen(options.maxConnections)) return true;
  const remote = `${socket.remoteAddress}:${socket.remotePort}`;
  log.info('refused', `[REFUSED] ${remote}: server full`, { remote, code: 'SERVER_FULL' });
  socket.on('error', () => {});
  socket.end(
    encodeFrame(errorPayload(new ServerFullError('too many connections, try again later')), options.headerBytes),
  );
  setTimeout(() => socket.destroy(), REFUSE_GRACE_MS).unref();
  return false;
}

/**
 * The connection listener of strategy handoff: admit, then transfer. It never
 * reads, writes or sets an encoding on an admitted socket, or Node refuses the
 * transfer. Each connection is one pool task that settles when it closes.
 */
export function handOffTo(
  pool: WorkerPool,
  counters: ServerCounters,
  options: ResolvedServerOptions,
  log: ServerLog,
): (socket: net.Socket) => void {
  return (socket) => {
    if (admit(socket, counters, options, log)) pool.serve(socket);
  };
}
