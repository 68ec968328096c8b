/**
 * What happens to a connection the moment it is accepted, before anyone reads
 * it: count it against --max-connections or refuse it with SERVER_FULL. The
 * acceptor of strategy handoff (main thread) does this and then transfers the
 * socket to a pool thread; threads that accept for themselves (reuseport,
 * single) do the same admission and serve the socket where they are.
 *
 * A TLS server refuses through TLS: the refused client completes its handshake
 * (after its PROXY header, with --proxy-protocol) and reads `!ERROR SERVER_FULL`
 * encrypted, as every other frame. Those handshakes are bounded: each within
 * REFUSE_GRACE_MS, at most LINGERING_REFUSALS_PER_THREAD in flight and
 * TLS_REFUSALS_PER_SECOND begun per accepting thread; past that a refused TLS
 * client is closed without a word (it could not read a plain one anyway).
 */
import type net from 'node:net';
import { encodeFrame, errorPayload, ServerFullError } from '../../protocol/index.ts';
import type { ServerCounters } from '../observe/counters.ts';
import type { ServerLog } from '../observe/log.ts';
import type { ResolvedServerOptions } from '../options.ts';
import type { WorkerPool } from './pool.ts';
import { PreludeBound, type PreludeConfig, runPrelude, trustedPeers } from '../prelude/prelude.ts';
import { createServerContext, type TlsMaterial } from '../prelude/tls.ts';

/** A refused peer that does not close after its SERVER_FULL frame is cut off after this (TLS: its handshake too). */
const REFUSE_GRACE_MS = 2_000;
/**
 * Refusals an accepting thread lets linger (read, close when the peer closes) at once.
 * Beyond that, in a burst, each is closed as soon as its frame and FIN are with the
 * kernel, before the next accept: a burst of refusals then holds one descriptor, not
 * one per refused client. descriptors.ts keeps room for these in its reserve.
 */
export const LINGERING_REFUSALS_PER_THREAD = 8;
/**
 * TLS refusal handshakes an accepting thread begins per second, at most. A TLS refusal
 * costs the server about 1.8 ms of CPU, a plain one 0.7 ms (scripts/tls-refusal-cost.ts,
 * results/published/tls-refusal-cost.md): the handshakes of a flood of refused TLS
 * clients then take about a tenth of a core.
 */
const TLS_REFUSALS_PER_SECOND = 50;

/** Admission for one accepting thread: the connection limit, and the refusals it answers. */
export class Admission {
  readonly #counters: ServerCounters;
  readonly #log: ServerLog;
  readonly #frame: Buffer;
  /** TLS: what a refused connection goes through before it can read its frame. */
  readonly #refusalPrelude: PreludeConfig | null;
  #lingering = 0;
  /** Token bucket of TLS refusal handshakes (TLS_REFUSALS_PER_SECOND). */
  #tokens = TLS_REFUSALS_PER_SECOND;
  #refilledAt = performance.now();

  constructor(counters: ServerCounters, options: ResolvedServerOptions, log: ServerLog, tls: TlsMaterial | null) {
    this.#counters = counters;
    this.#log = log;
    this.#frame = encodeFrame(
      errorPayload(new ServerFullError('too many connections, try again later')),
      options.headerBytes,
    );
    this.#refusalPrelude =
      tls === null
        ? null
        : {
            proxyTrusted: options.proxyProtocol ? trustedPeers(options.proxyTrusted) : null,
            secureContext: createServerContext(tls),
            deadlineMs: Math.min(options.handshakeTimeoutMs, REFUSE_GRACE_MS),
            // #lingering caps refusals in flight before this bound could.
            bound: new PreludeBound(() => LINGERING_REFUSALS_PER_THREAD),
            highWaterMarkBytes: options.highWaterMarkBytes,
            log,
          };
  }

  /**
   * The 'connection' listener of an accepting thread: admit, then `serve`. It is the
   * accept path's failure boundary: a throw costs that connection only (closed,
   * un-counted, one `[ERROR]` line), never the thread or, for the acceptor, the process.
   */
  onConnection(serve: (socket: net.Socket) => void): (socket: net.Socket) => void {
    return (socket) => {
      let admitted = false;
      try {
        admitted = this.admit(socket);
        if (admitted) serve(socket);
      } catch (err) {
        socket.destroy();
        if (admitted) this.#counters.closed();
        const remote = `${socket.remoteAddress}:${socket.remotePort}`;
        this.#log.essential(
          'accept-fault',
          `[ERROR] ${remote}: internal error while accepting it: ${(err as Error).message}; this connection is closed, the others go on`,
          { remote, cause: (err as Error).message },
        );
      }
    };
  }

  /** Counts a just-accepted connection, or answers it with SERVER_FULL and closes it. True: serve it. */
  admit(socket: net.Socket): boolean {
    if (this.#counters.tryOpen()) return true;
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.#log.info('refused', `[REFUSED] ${remote}: server full`, { remote, code: 'SERVER_FULL' });
    socket.on('error', () => {});
    if (this.#refusalPrelude === null) this.#refuse(socket);
    else this.#refuseOverTls(socket, this.#refusalPrelude);
    return false;
  }

  /**
   * SERVER_FULL, then close. While few refusals are in flight, what the peer sent is
   * read and dropped and the socket closes when the peer closes (closing on unread
   * bytes answers with a reset, which on a real network can overtake the frame);
   * in a burst, the socket closes once the frame and FIN are sent.
   */
  #refuse(socket: net.Socket): void {
    if (this.#lingering >= LINGERING_REFUSALS_PER_THREAD) {
      socket.end(this.#frame, () => socket.destroy());
      return;
    }
    this.#holdUntilClosed(socket, this.#inFlight());
    socket.resume();
    socket.end(this.#frame);
  }

  /** The handshake (bounded), then SERVER_FULL through TLS, then close as #refuse does. */
  #refuseOverTls(socket: net.Socket, prelude: PreludeConfig): void {
    if (this.#lingering >= LINGERING_REFUSALS_PER_THREAD || !this.#takeHandshake()) {
      socket.destroy();
      return;
    }
    const release = this.#inFlight();
    runPrelude(socket, prelude)
      .then((prepared) => {
        // null: closed in its prelude (too slow, bad PROXY header), and logged there.
        if (prepared === null) return release();
        const secure = prepared.socket;
        secure.on('error', () => {});
        this.#holdUntilClosed(secure, release);
        secure.resume();
        secure.end(this.#frame);
      })
      .catch(() => {
        // Our own code failed: this refusal is only closed.
        socket.destroy();
        release();
      });
  }

  /** Counts one more refusal in flight; the function returned counts it out (once). */
  #inFlight(): () => void {
    this.#lingering++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#lingering--;
    };
  }

  /** `socket` carries the refusal now: it is cut off after REFUSE_GRACE_MS, and `release`d once closed. */
  #holdUntilClosed(socket: net.Socket, release: () => void): void {
    const grace = setTimeout(() => socket.destroy(), REFUSE_GRACE_MS).unref();
    socket.once('close', () => {
      clearTimeout(grace);
      release();
    });
  }

  #takeHandshake(): boolean {
    const now = performance.now();
    this.#tokens = Math.min(
      TLS_REFUSALS_PER_SECOND,
      this.#tokens + ((now - this.#refilledAt) / 1000) * TLS_REFUSALS_PER_SECOND,
    );
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}

/**
 * The connection listener of strategy handoff: admit, then transfer. It never
 * reads, writes or sets an encoding on an admitted socket, or Node refuses the
 * transfer. Each connection is one pool task that settles when it closes.
 */
export function handOffTo(pool: WorkerPool, admission: Admission): (socket: net.Socket) => void {
  return admission.onConnection((socket) => pool.serve(socket));
}
