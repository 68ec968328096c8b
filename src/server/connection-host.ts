import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  ACK_TEXT,
  encodeFrame,
  encodeTextFrame,
  errorPayload,
  repeatFrame,
  ServerFullError,
  ShuttingDownError,
} from '../protocol/index.ts';
import type { ServerCounters, ThreadCounters } from './counters.ts';
import { adoptSocket } from './fast-socket.ts';
import { ReplyBufferPool } from './reply-pool.ts';
import type { ServerLog } from './log.ts';
import type { ResolvedServerOptions } from './options.ts';
import { Session, type SessionSummary } from './session.ts';

/** One read buffer per thread, shared by all its connections: reads are handled one at a time. */
const READ_BUFFER_BYTES = 256 * 1024;
/** Acks per prebuilt run: a pipelined burst of acks is one slice and one write. */
const ACKS_PER_RUN = 256;
/** After SHUTTING_DOWN, connections that have not closed by then are cut off. */
const SHUTDOWN_GRACE_MS = 3_000;

const kSession = Symbol('handoff.session');
type SocketWithSession = net.Socket & { [kSession]: Session };

/** One callback for every connection of every thread; `this` is the socket. */
function onSharedRead(this: net.Socket, bytesRead: number, buffer: Buffer): void {
  (this as SocketWithSession)[kSession].onRead(bytesRead, buffer);
}

export interface HostContext {
  options: ResolvedServerOptions;
  counters: ServerCounters;
  thread: ThreadCounters;
  log: ServerLog;
}

/**
 * Everything one thread needs to serve connections: the shared read buffer,
 * prebuilt replies, the timeout sweep and the set of live sessions. A worker
 * thread has one; the main thread has one under strategy 'single'.
 */
export class ConnectionHost {
  readonly options: ResolvedServerOptions;
  readonly counters: ServerCounters;
  readonly thread: ThreadCounters;
  readonly log: ServerLog;
  readonly echo: boolean;
  readonly logMessages: boolean;
  readonly ackFrame: Buffer;
  readonly ackRun: Buffer;
  readonly #readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  readonly replyPool = new ReplyBufferPool();
  /** Memory behind the shared read buffer: a payload viewing it must be copied before it is kept. */
  readonly readMemory: ArrayBufferLike = this.#readBuffer.buffer;
  readonly #sessions = new Set<Session>();
  readonly #released = new WeakSet<Session>();
  #sweep: NodeJS.Timeout | undefined;
  #shuttingDown = false;

  constructor(context: HostContext) {
    const { options } = context;
    this.options = options;
    this.counters = context.counters;
    this.thread = context.thread;
    this.log = context.log;
    this.echo = options.mode === 'echo';
    this.logMessages = options.logMessages;
    this.ackFrame =
      options.ack === 'raw' ? Buffer.from(ACK_TEXT, 'utf8') : encodeTextFrame(ACK_TEXT, options.headerBytes);
    this.ackRun = repeatFrame(this.ackFrame, ACKS_PER_RUN);
  }

  /** Accepts a socket this thread's own listener took: counts it against the limit, then serves it. */
  accept(socket: net.Socket): void {
    if (admit(socket, this.counters, this.options, this.log)) void this.serve(socket);
  }

  /**
   * Serves an accepted, still-paused socket until it closes. The caller has
   * already counted it with counters.tryOpen(); this thread un-counts it.
   */
  serve(socket: net.Socket): Promise<SessionSummary> {
    const adopted = adoptSocket(socket, {
      buffer: this.#readBuffer,
      callback: onSharedRead,
      writableHighWaterMark: this.options.highWaterMarkBytes,
    });
    adopted.setNoDelay(true);
    const session = new Session(adopted, this);
    (adopted as SocketWithSession)[kSession] = session;
    this.#sessions.add(session);
    this.thread.opened();
    this.#startSweep();
    if (this.log.verbose) {
      this.log.info('connect', `[NEW CONNECTION] ${session.remote} connected.`, { remote: session.remote });
      this.log.info('active', `[ACTIVE CONNECTIONS] ${this.counters.active}`, { active: this.counters.active });
    }
    if (this.#shuttingDown) session.fail(new ShuttingDownError('server is shutting down'));
    return session.done.then((summary) => {
      this.#sessions.delete(session);
      this.release(session);
      const active = this.counters.active;
      if (this.log.verbose) {
        this.log.info(
          'disconnect',
          `[DISCONNECTED] ${summary.remote} (${summary.messages} messages, ${summary.reason}${summary.errorCode ? ` ${summary.errorCode}` : ''}); ${active} active`,
          { ...summary, active },
        );
      }
      if (this.#sessions.size === 0) this.#stopSweep();
      return summary;
    });
  }

  /**
   * Stops counting a connection against --max-connections: when it has closed, or
   * as soon as the server has sent its FIN (a peer that does not close its side
   * must not hold a place for the grace period). Counts each session once.
   */
  release(session: Session): void {
    if (this.#released.has(session)) return;
    this.#released.add(session);
    this.thread.closed();
    this.counters.closed();
  }

  /** Sends SHUTTING_DOWN to every connection and resolves once all are closed (or cut off). */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    const sessions = [...this.#sessions];
    for (const session of sessions) session.fail(new ShuttingDownError('server is shutting down'));
    const allClosed = Promise.all(sessions.map((s) => s.done));
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SHUTDOWN_GRACE_MS);
    });
    await Promise.race([allClosed, grace]);
    clearTimeout(timer);
    for (const session of this.#sessions) session.destroy();
    await Promise.all([...this.#sessions].map((s) => s.done));
    this.#stopSweep();
  }

  /** One timer per thread checks every session's timeouts, instead of a timer per connection. */
  #startSweep(): void {
    if (this.#sweep) return;
    const { frameTimeoutMs, idleTimeoutMs } = this.options;
    const shortest = idleTimeoutMs > 0 ? Math.min(frameTimeoutMs, idleTimeoutMs) : frameTimeoutMs;
    const everyMs = Math.max(10, Math.min(1000, Math.floor(shortest / 10)));
    this.#sweep = setInterval(() => {
      const now = performance.now();
      for (const session of this.#sessions) session.checkTimeouts(now, frameTimeoutMs, idleTimeoutMs);
    }, everyMs);
  }

  #stopSweep(): void {
    clearInterval(this.#sweep);
    this.#sweep = undefined;
  }
}

/**
 * Counts a just-accepted connection against --max-connections, or answers it with
 * SERVER_FULL and closes it (nothing of it is read). True when it may be served.
 */
export function admit(
  socket: net.Socket,
  counters: ServerCounters,
  options: ResolvedServerOptions,
  log: ServerLog,
): boolean {
  if (counters.tryOpen(options.maxConnections)) return true;
  refuseConnection(socket, options.headerBytes, log);
  return false;
}

function refuseConnection(socket: net.Socket, headerBytes: number, log: ServerLog): void {
  const remote = `${socket.remoteAddress}:${socket.remotePort}`;
  log.info('refused', `[REFUSED] ${remote}: server full`, { remote, code: 'SERVER_FULL' });
  socket.on('error', () => {});
  socket.end(encodeFrame(errorPayload(new ServerFullError('too many connections, try again later')), headerBytes));
  setTimeout(() => socket.destroy(), 2_000).unref();
}
