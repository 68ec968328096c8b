import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import { type FrameDecoderOptions, ServerFullError, ShuttingDownError } from '../../protocol/index.ts';
import { PrebuiltAcks } from '../io/acks.ts';
import { BRIDGE_ID } from '../chat/bus.ts';
import { ChatThread } from '../chat/chat-thread.ts';
import { addressName } from '../chat/commands.ts';
import type { ServerCounters, ThreadCounters } from '../observe/counters.ts';
import { adoptSocket } from '../io/fast-socket.ts';
import { IdleRelease } from './idle-memory.ts';
import { injectedFault, type InjectedFaults } from './injected-faults.ts';
import { count, type ServerLog } from '../observe/log.ts';
import { type LoopLagMonitor, monitorLoopLag } from '../observe/loop-lag.ts';
import type { ResolvedServerOptions } from '../options.ts';
import { plainAddress, PreludeBound, type PreludeConfig, runPrelude, trustedPeers } from '../prelude/prelude.ts';
import type { ProxyAddress } from '../prelude/proxy-protocol.ts';
import { ReplyBufferPool } from '../io/reply-pool.ts';
import { DISCONNECT_BYTES, type FaultSite, Session, type SessionSummary, type SessionThread } from './session.ts';
import { createServerContext, type TlsMaterial } from '../prelude/tls.ts';
import { BUS_DELAY_ENV, busFaultMarker } from '../chat/injected-faults.ts';

/** One read buffer per thread, shared by all its connections: reads are handled one at a time. */
const READ_BUFFER_BYTES = 256 * 1024;
/**
 * At most this share of the connection limit may be in their prelude (PROXY header, TLS
 * handshake) at once, split evenly between the serving threads: peers that stall there
 * cannot hold the other half of the slots, which connections that got through keep.
 */
const PRELUDE_SHARE = 0.5;

/** Connections one thread may hold in their prelude at once (at least 1). */
function preludeLimitPerThread(maxConnections: number, options: ResolvedServerOptions): number {
  const threads = options.strategy === 'single' ? 1 : options.workers;
  return Math.max(1, Math.floor((maxConnections * PRELUDE_SHARE) / threads));
}

/** After SHUTTING_DOWN, connections that have not closed by then are cut off. */
const SHUTDOWN_GRACE_MS = 3_000;

const kSession = Symbol('handoff.session');
type SocketWithSession = net.Socket & { [kSession]: Session };

/**
 * One callback for every connection of every thread; `this` is the socket. It is the read
 * path's failure boundary: whatever our code throws costs this connection only, never the
 * thread (a try/catch costs nothing measurable in optimised code until something throws).
 */
function onSharedRead(this: net.Socket, bytesRead: number, buffer: Buffer): void {
  const session = (this as SocketWithSession)[kSession];
  try {
    session.onRead(bytesRead, buffer);
  } catch (err) {
    session.crashed('read', err);
  }
}

/** The read path of TLS sessions: each decrypted chunk is the session's own (a view of it may be kept). */
function onDecrypted(this: net.Socket, chunk: Buffer): void {
  const session = (this as SocketWithSession)[kSession];
  try {
    session.onRead(chunk.length, chunk);
  } catch (err) {
    session.crashed('tls-read', err);
  }
}

/** How each failure boundary is named in the `[ERROR]` line. */
const FAULT_SITE_TEXT: Readonly<Record<FaultSite, string>> = {
  read: 'the read callback',
  'tls-read': 'the TLS read callback',
  sweep: 'the timeout sweep',
  timer: 'a close timer',
  'socket-event': 'a socket event',
  serve: 'the start of its session',
  'chat-flush': "the chat's end-of-turn flush",
};

export interface ThreadSessionsContext {
  options: ResolvedServerOptions;
  counters: ServerCounters;
  thread: ThreadCounters;
  log: ServerLog;
  /** Test-only fault injection (injected-faults.ts); null in real use. */
  faults?: InjectedFaults | null;
  /** Chat mode: this thread's place on the chat bus. */
  chat?: { threadId: number; busName: string; bridge: boolean } | null;
  /** TLS: the certificate and key (this thread builds its secure context from them once). */
  tls?: TlsMaterial | null;
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
  readonly decoderOptions: FrameDecoderOptions;
  readonly replyPool = new ReplyBufferPool();
  readonly faults: InjectedFaults | null;
  /** Test-only (`adopt`): the injected hand-over failure has happened. */
  #adoptFaultDone = false;
  readonly chat: ChatThread | null;
  readonly #server: ServerCounters;
  readonly #readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
  /** Memory behind the shared read buffer: a payload viewing it must be copied before it is kept. */
  readonly readMemory: ArrayBufferLike = this.#readBuffer.buffer;
  readonly #sessions = new Set<Session>();
  /** Sessions no longer counted, with the server's open connections right after each stopped counting. */
  readonly #activeAfterRelease = new WeakMap<Session, number>();
  /** --max-connections-per-ip: the address each counted session is counted under. */
  readonly #countedAddress = new WeakMap<Session, string>();
  /** PROXY header and/or TLS before a session starts; null: neither, the fast path. */
  readonly #prelude: PreludeConfig | null;
  #sweep: NodeJS.Timeout | undefined;
  /** Idle for a while: the echo buffer pool and the garbage go (idle-memory.ts). */
  readonly #idleRelease = new IdleRelease(() => this.replyPool.clear());
  #shuttingDown = false;
  /** This thread's event-loop delay, published into its counter slot for the metrics. */
  readonly #loopLag: LoopLagMonitor;

  constructor(context: ThreadSessionsContext) {
    const { options } = context;
    this.options = options;
    this.#server = context.counters;
    this.counters = context.thread;
    this.log = context.log;
    this.faults = context.faults ?? null;
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
            maxMessageBytes: options.maxMessageBytes,
            maxPendingBytes: options.maxPendingBytes,
            acks: this.acks,
            nextMemberId: () => server.nextMemberId(),
            livePeers: () => (chat.bridge ? [...server.liveThreads(), BRIDGE_ID] : server.liveThreads()),
            onDelivered: (deliveries) => context.thread.delivered(deliveries),
            onBusDropped: () => server.busDropped('error'),
            log: context.log,
            busDelayMs: Number(process.env[BUS_DELAY_ENV] ?? 0),
            busFault: busFaultMarker(),
          })
        : null;
    // Plain ack mode reads no payload but !DISCONNECT: the others are counted, never copied.
    const countOnly = !this.echo && this.chat === null && !this.logMessages && this.faults === null;
    this.decoderOptions = countOnly ? { ...options, onlyPayloadsOfLength: DISCONNECT_BYTES.length } : options;
    const tls = context.tls ?? null;
    this.#prelude =
      options.proxyProtocol || tls
        ? {
            proxyTrusted: options.proxyProtocol ? trustedPeers(options.proxyTrusted) : null,
            secureContext: tls && createServerContext(tls),
            deadlineMs: options.handshakeTimeoutMs,
            bound: new PreludeBound(() => preludeLimitPerThread(server.limit, options)),
            highWaterMarkBytes: options.highWaterMarkBytes,
            log: this.log,
          }
        : null;
  }

  /** Open connections, all threads together. */
  get activeConnections(): number {
    return this.#server.active;
  }

  /**
   * Serves an accepted, still-paused socket until it closes. The caller has
   * already counted it with ServerCounters.tryOpen(); this thread un-counts it.
   * The read path is chosen here, once: plain TCP reads through `onread` into the
   * shared buffer; a PROXY header and TLS go through the prelude first.
   * Never rejects: a connection that cannot be served is closed, logged and counted
   * as a fault, so a caller may drop the promise (`void`).
   */
  serve(socket: net.Socket): Promise<SessionSummary> {
    const startedAt = performance.now();
    const remote = addressName(socket.remoteAddress, socket.remotePort);
    const served = this.#prelude === null ? this.#serveNow(socket) : this.#serveAfterPrelude(socket, this.#prelude);
    return served.catch((err: unknown) => {
      socket.destroy();
      this.faulted(remote, 'serve', err);
      return notServed(remote, startedAt);
    });
  }

  async #serveNow(socket: net.Socket): Promise<SessionSummary> {
    const adopted = this.#adopt(socket);
    if (adopted instanceof Error) throw adopted;
    return this.#run(adopted, null);
  }

  async #serveAfterPrelude(socket: net.Socket, prelude: PreludeConfig): Promise<SessionSummary> {
    const startedAt = performance.now();
    const prepared = await runPrelude(socket, prelude);
    if (prepared === null) {
      this.#server.closed();
      return notServed(addressName(socket.remoteAddress, socket.remotePort), startedAt);
    }
    if (prepared.encrypted) {
      prepared.socket.on('data', onDecrypted);
      return this.#run(prepared.socket, prepared.peer);
    }
    const adopted = this.#adopt(prepared.socket);
    if (adopted instanceof Error) throw adopted;
    return this.#run(adopted, prepared.peer);
  }

  /** Moves a fresh socket onto the fast read path; on failure un-counts and closes it. */
  #adopt(socket: net.Socket): net.Socket | Error {
    try {
      if (this.faults?.crashAt === 'adopt' && !this.#adoptFaultDone) {
        this.#adoptFaultDone = true;
        throw injectedFault("this thread's first connection cannot be handed to its session");
      }
      return adoptSocket(socket, {
        buffer: this.#readBuffer,
        callback: onSharedRead,
        writableHighWaterMark: this.options.highWaterMarkBytes,
      });
    } catch (err) {
      this.#server.closed();
      socket.destroy();
      return err instanceof Error ? err : new Error(String(err));
    }
  }

  #run(socket: net.Socket, peer: ProxyAddress | null): Promise<SessionSummary> {
    socket.setNoDelay(true);
    let session: Session;
    try {
      session = new Session(socket, this, peer);
    } catch (err) {
      this.#server.closed(); // no session to release it
      throw err;
    }
    (socket as SocketWithSession)[kSession] = session;
    this.#sessions.add(session);
    this.counters.opened();
    this.#idleRelease.busy();
    this.#startSweep();
    if (this.log.verbose) {
      this.log.info('connect', `[NEW CONNECTION] ${session.remote} connected.`, { remote: session.remote });
      const active = this.#server.active;
      this.log.info('active', `[ACTIVE CONNECTIONS] ${count(active)}`, { active });
    }
    if (this.#shuttingDown) session.fail(new ShuttingDownError('server is shutting down'), false);
    else this.#limitPerAddress(session, peer?.address ?? socket.remoteAddress);
    return session.done.then((summary) => {
      this.#sessions.delete(session);
      this.release(session);
      // The count right after this one stopped counting, not whatever it is by now.
      const active = this.#activeAfterRelease.get(session)!;
      if (this.log.verbose) {
        const error = summary.errorCode ? ` ${summary.errorCode}` : '';
        const messages = `${count(summary.messages)} message${summary.messages === 1 ? '' : 's'}`;
        this.log.info(
          'disconnect',
          `[DISCONNECTED] ${summary.remote} (${messages}, ${summary.reason}${error}); ${count(active)} active`,
          { ...summary, active },
        );
      }
      if (this.#sessions.size === 0) {
        this.#stopSweep();
        this.#idleRelease.idle();
      }
      return summary;
    });
  }

  faulted(remote: string, where: FaultSite, cause: unknown): void {
    this.counters.sessionFault();
    const error = cause instanceof Error ? cause : new Error(String(cause));
    this.log.essential(
      'session-fault',
      `[ERROR] ${remote}: internal error in ${FAULT_SITE_TEXT[where]}: ${error.message}; this connection is closed, the others go on`,
      { remote, where, cause: error.message, stack: error.stack },
    );
  }

  /** --max-connections-per-ip: counts the session under its client's address, or refuses it with SERVER_FULL. */
  #limitPerAddress(session: Session, address: string | undefined): void {
    const limit = this.options.maxConnectionsPerIp;
    if (limit === 0) return;
    const plain = plainAddress(address);
    if (this.#server.tryOpenFrom(plain, limit, this.counters)) {
      this.#countedAddress.set(session, plain);
    } else {
      session.fail(new ServerFullError(`too many connections from ${plain}, try again later`));
    }
  }

  /**
   * Stops counting a connection against --max-connections: when it has closed, or
   * as soon as the server has sent its FIN (a peer that does not close its side
   * must not hold a place for the grace period). Counts each session once.
   */
  release(session: Session): void {
    if (this.#activeAfterRelease.has(session)) return;
    this.counters.closed();
    this.#activeAfterRelease.set(session, this.#server.closed());
    const address = this.#countedAddress.get(session);
    if (address !== undefined) this.#server.closedFrom(address, this.counters);
  }

  /** Sends SHUTTING_DOWN to every connection and resolves once all are closed (or cut off). */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    const sessions = [...this.#sessions];
    // Not an error line per connection: the server logs the shutdown once, with the count.
    for (const session of sessions) session.fail(new ShuttingDownError('server is shutting down'), false);
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
      for (const session of this.#sessions) {
        // The sweep's failure boundary, per session: one that throws does not stop the others' checks.
        try {
          session.checkTimeouts(now, frameTimeoutMs, idleTimeoutMs, writeTimeoutMs);
        } catch (err) {
          session.crashed('sweep', err);
        }
      }
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

/** The summary of a connection that never had a session (closed in its prelude, or not served). */
function notServed(remote: string, startedAt: number): SessionSummary {
  const durationMs = Math.round(performance.now() - startedAt);
  return { remote, messages: 0, bytesIn: 0, bytesOut: 0, durationMs, reason: 'error' };
}
