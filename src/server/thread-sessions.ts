import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { ShuttingDownError } from '../protocol/index.ts';
import { PrebuiltAcks } from './acks.ts';
import { BRIDGE_ID } from './chat/bus.ts';
import { ChatThread } from './chat/chat-thread.ts';
import type { ServerCounters, ThreadCounters } from './counters.ts';
import { adoptSocket } from './fast-socket.ts';
import type { ServerLog } from './log.ts';
import { type LoopLagMonitor, monitorLoopLag } from './loop-lag.ts';
import type { ResolvedServerOptions } from './options.ts';
import { ReplyBufferPool } from './reply-pool.ts';
import { Session, type SessionSummary, type SessionThread } from './session.ts';
import { BUS_DELAY_ENV } from './worker-boot.ts';

/** One read buffer per thread, shared by all its connections: reads are handled one at a time. */
const READ_BUFFER_BYTES = 256 * 1024;
/** After SHUTTING_DOWN, connections that have not closed by then are cut off. */
const SHUTDOWN_GRACE_MS = 3_000;

const kSession = Symbol('handoff.session');
type SocketWithSession = net.Socket & { [kSession]: Session };

/** One callback for every connection of every thread; `this` is the socket. */
function onSharedRead(this: net.Socket, bytesRead: number, buffer: Buffer): void {
  (this as SocketWithSession)[kSession].onRead(bytesRead, buffer);
}

export interface ThreadSessionsContext {
  options: ResolvedServerOptions;
  counters: ServerCounters;
  thread: ThreadCounters;
  log: ServerLog;
  /** Test-only fault injection: a message with exactly this payload throws in this thread. */
  crashPayload?: Buffer | null;
  /** Chat mode: this thread's place on the chat bus. */
  chat?: { threadId: number; busName: string; bridge: boolean } | null;
}

/**
 * The sessions of one thread and what they share: the read buffer, prebuilt
 * replies, the timeout sweep. A worker thread has one; the main thread has one
 * under strategy 'single'.
 */
export class ThreadSessions implements SessionThread {
  readonly options: ResolvedServerOptions;
  readonly counters: ThreadCounters;
  readonly log: ServerLog;
  readonly echo: boolean;
  readonly logMessages: boolean;
  readonly acks: PrebuiltAcks;
  readonly replyPool = new ReplyBufferPool();
  readonly crashPayload: Buffer | null;
  readonly chat: ChatThread | null;
  readonly #server: ServerCounters;
  readonly #readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  /** Memory behind the shared read buffer: a payload viewing it must be copied before it is kept. */
  readonly readMemory: ArrayBufferLike = this.#readBuffer.buffer;
  readonly #sessions = new Set<Session>();
  readonly #released = new WeakSet<Session>();
  #sweep: NodeJS.Timeout | undefined;
  #shuttingDown = false;
  /** This thread's event-loop delay, published into its counter slot for the metrics. */
  readonly #loopLag: LoopLagMonitor;

  constructor(context: ThreadSessionsContext) {
    const { options } = context;
    this.options = options;
    this.#server = context.counters;
    this.counters = context.thread;
    this.log = context.log;
    this.crashPayload = context.crashPayload ?? null;
    this.echo = options.mode === 'echo';
    this.logMessages = options.logMessages;
    this.acks = new PrebuiltAcks(options.headerBytes, options.ack === 'raw');
    this.#loopLag = monitorLoopLag(context.thread);
    const chat = context.chat;
    const server = context.counters;
    this.chat =
      options.mode === 'chat' && chat
        ? new ChatThread({
            id: chat.threadId,
            busName: chat.busName,
            bridge: chat.bridge,
            headerBytes: options.headerBytes,
            maxPendingBytes: options.maxPendingBytes,
            acks: this.acks,
            nextMemberId: () => server.nextMemberId(),
            livePeers: () => (chat.bridge ? [...server.liveThreads(), BRIDGE_ID] : server.liveThreads()),
            onDelivered: (deliveries) => context.thread.delivered(deliveries),
            busDelayMs: Number(process.env[BUS_DELAY_ENV] ?? 0),
          })
        : null;
  }

  /** Open connections, all threads together. */
  get activeConnections(): number {
    return this.#server.active;
  }

  /**
   * Serves an accepted, still-paused socket until it closes. The caller has
   * already counted it with ServerCounters.tryOpen(); this thread un-counts it.
   */
  serve(socket: net.Socket): Promise<SessionSummary> {
    let adopted: net.Socket;
    try {
      adopted = adoptSocket(socket, {
        buffer: this.#readBuffer,
        callback: onSharedRead,
        writableHighWaterMark: this.options.highWaterMarkBytes,
      });
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.#server.closed();
      socket.destroy();
      this.log.essential('error', `[ERROR] cannot serve a connection: ${error.message}`);
      return Promise.reject(error);
    }
    adopted.setNoDelay(true);
    const session = new Session(adopted, this);
    (adopted as SocketWithSession)[kSession] = session;
    this.#sessions.add(session);
    this.counters.opened();
    this.#startSweep();
    if (this.log.verbose) {
      this.log.info('connect', `[NEW CONNECTION] ${session.remote} connected.`, { remote: session.remote });
      this.log.info('active', `[ACTIVE CONNECTIONS] ${this.#server.active}`, { active: this.#server.active });
    }
    if (this.#shuttingDown) session.fail(new ShuttingDownError('server is shutting down'));
    return session.done.then((summary) => {
      this.#sessions.delete(session);
      this.release(session);
      const active = this.#server.active;
      if (this.log.verbose) {
        const error = summary.errorCode ? ` ${summary.errorCode}` : '';
        this.log.info(
          'disconnect',
          `[DISCONNECTED] ${summary.remote} (${summary.messages} message${summary.messages === 1 ? '' : 's'}, ${summary.reason}${error}); ${active} active`,
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
    this.counters.closed();
    this.#server.closed();
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
    this.#loopLag.stop();
    this.chat?.close();
  }

  /** One timer per thread checks every session's timeouts, instead of a timer per connection. */
  #startSweep(): void {
    if (this.#sweep) return;
    const { frameTimeoutMs, idleTimeoutMs, writeTimeoutMs } = this.options;
    const shortest = Math.min(frameTimeoutMs, ...[idleTimeoutMs, writeTimeoutMs].filter((ms) => ms > 0));
    const everyMs = Math.max(10, Math.min(1000, Math.floor(shortest / 10)));
    const check = () => {
      const now = performance.now();
      for (const session of this.#sessions) session.checkTimeouts(now, frameTimeoutMs, idleTimeoutMs, writeTimeoutMs);
    };
    // Timers run before the poll phase: after a stall of the event loop, bytes that arrived in time
    // would still be waiting unread. setImmediate runs after this turn's poll, so they are read first.
    this.#sweep = setInterval(() => setImmediate(check), everyMs);
  }

  #stopSweep(): void {
    clearInterval(this.#sweep);
    this.#sweep = undefined;
  }
}
