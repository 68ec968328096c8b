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

/** A refused peer that does not close after its SERVER_FULL frame is cut off after this. */
const REFUSE_GRACE_MS = 2_000;
/**
 * Refusals an accepting thread lets linger (read, close when the peer closes) at once.
 * Beyond that, in a burst, each is closed as soon as its frame and FIN are with the
 * kernel, before the next accept: a burst of refusals then holds one descriptor, not
 * one per refused client. descriptors.ts keeps room for these in its reserve.
 */
export const LINGERING_REFUSALS_PER_THREAD = 8;
let lingering = 0;

/** Counts a just-accepted connection, or answers it with SERVER_FULL and closes it. True: serve it. */
export function admit(
  socket: net.Socket,
  counters: ServerCounters,
  options: ResolvedServerOptions,
  log: ServerLog,
): boolean {
  if (counters.tryOpen()) return true;
  const remote = `${socket.remoteAddress}:${socket.remotePort}`;
  log.info('refused', `[REFUSED] ${remote}: server full`, { remote, code: 'SERVER_FULL' });
  refuse(socket, options.headerBytes);
  return false;
}

/**
 * SERVER_FULL, then close. While few refusals are in flight, what the peer sent is
 * read and dropped and the socket closes when the peer closes (closing on unread
 * bytes answers with a reset, which on a real network can overtake the frame);
 * in a burst, the socket closes once the frame and FIN are sent.
 */
function refuse(socket: net.Socket, headerBytes: number): void {
  socket.on('error', () => {});
  const frame = encodeFrame(errorPayload(new ServerFullError('too many connections, try again later')), headerBytes);
  if (lingering >= LINGERING_REFUSALS_PER_THREAD) {
    socket.end(frame, () => socket.destroy());
    return;
  }
  lingering++;
  const grace = setTimeout(() => socket.destroy(), REFUSE_GRACE_MS).unref();
  socket.once('close', () => {
    lingering--;
    clearTimeout(grace);
  });
  socket.resume();
  socket.end(frame);
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
