import type net from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  DISCONNECT_MESSAGE,
  encodeFrame,
  encodeHeader,
  writeHeader,
  errorPayload,
  FrameDecoder,
  type FrameDecoderOptions,
  type ProtocolError,
  ShuttingDownError,
  SlowConsumerError,
  TimeoutError,
} from '../../protocol/index.ts';
import type { PrebuiltAcks } from '../io/acks.ts';
import { DirectAcks } from '../io/direct-acks.ts';
import type { ChatThread } from '../chat/chat-thread.ts';
import { addressName } from '../chat/commands.ts';
import type { ChatConnection, ChatMember } from '../chat/member.ts';
import type { ThreadCounters } from '../observe/counters.ts';
import { type CrashSite, injectedFault, type InjectedFaults } from './injected-faults.ts';
import type { ServerLog } from '../observe/log.ts';
import { logMessage } from '../observe/message-log.ts';
import type { ResolvedServerOptions } from '../options.ts';
import type { ProxyAddress } from '../prelude/proxy-protocol.ts';
import type { ReplyBufferPool } from '../io/reply-pool.ts';

export const DISCONNECT_BYTES = Buffer.from(DISCONNECT_MESSAGE, 'utf8');
/** Below this many reply bytes per read, echo replies are joined into one write. */
const JOIN_ECHO_BELOW_BYTES = 64 * 1024;
/** A peer that will not take our last bytes (error or shutdown frame) is cut off after this. */
const CLOSE_GRACE_MS = 5_000;
/**
 * Once our last bytes and FIN are with the kernel, the socket is closed as soon as the
 * peer has sent nothing for this long. Closing while its bytes keep arriving would
 * answer them with a reset, which can destroy our last frame before the peer reads it;
 * closing a quiet socket lets the kernel deliver everything.
 */
const QUIET_BEFORE_CLOSE_MS = 50;
const NOT_STARTED = -1;
/**
 * What a client reads when our own code failed while serving it. SHUTTING_DOWN is the
 * protocol's code for "the server stops serving this connection, not because of what you
 * sent": the client's right move (reconnect) is the same, and the text says it is this
 * connection only. PROTOCOL.md has no code of its own for an internal error.
 */
export const INTERNAL_ERROR_TEXT = 'internal server error: this connection is closed, the server goes on; reconnect';

/** The callbacks on a thread's event loop that run our code for a connection, each a failure boundary. */
export type FaultSite = 'read' | 'tls-read' | 'sweep' | 'timer' | 'socket-event' | 'serve' | 'chat-flush';

/** What a session needs from the thread that serves it (ThreadSessions). */
export interface SessionThread {
  readonly options: ResolvedServerOptions;
  readonly counters: ThreadCounters;
  readonly log: ServerLog;
  readonly echo: boolean;
  readonly logMessages: boolean;
  readonly acks: PrebuiltAcks;
  /** The decoder's options, the same for every session of the thread. */
  readonly decoderOptions: FrameDecoderOptions;
  readonly replyPool: ReplyBufferPool;
  /** Memory behind the thread's shared read buffer. */
  readonly readMemory: ArrayBufferLike;
  /** Test-only fault injection (injected-faults.ts); null in real use. */
  readonly faults: InjectedFaults | null;
  /** Chat mode: the thread's rooms and bus; null in ack and echo modes. */
  readonly chat: ChatThread | null;
  /** Stop counting this session against --max-connections (idempotent). */
  release(session: Session): void;
  /** Our own code threw while serving `remote`: log it (`[ERROR]`, with the cause) and count it. */
  faulted(remote: string, where: FaultSite, cause: unknown): void;
}

export type CloseReason = 'disconnect' | 'peer-closed' | 'error' | 'reset';

/** What a connection did, returned to whoever handed it over when it closes. */
export interface SessionSummary {
  remote: string;
  messages: number;
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  reason: CloseReason;
  /** Protocol error code the server sent, if any (TIMEOUT, BAD_HEADER, ...). */
  errorCode?: string;
}

/**
 * One client connection, for its whole life: parses frames from the host's
 * shared read buffer, answers each, applies flow control and the timeouts.
 * The same class serves every strategy (handoff, reuseport, single).
 */
export class Session implements ChatConnection {
  readonly remote: string;
  readonly done: Promise<SessionSummary>;
  readonly #socket: net.Socket;
  readonly #host: SessionThread;
  readonly #decoder: FrameDecoder;
  readonly #startedAt: number;
  #resolve!: (summary: SessionSummary) => void;

  messages = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** Ack mode: the decoder's frames already acked (the rest of `decoder.frames` is due). */
  #ackedFrames = 0;
  /** Ack mode: every frame is answered with an ack, counted from the decoder, not per frame. */
  readonly #acksFrames: boolean;
  /** Ack mode on plain TCP: acks straight to the socket's handle (direct-acks.ts); null: through the stream. */
  readonly #direct: DirectAcks | null;
  #pendingEcho: Buffer[] = [];
  #pendingEchoBytes = 0;
  /** Pool buffers behind this read's echo replies, given back once they are flushed. */
  #pendingPooled: Buffer[] = [];

  /**
   * The timeout clocks are stamped by the thread's sweep, not per read (a clock read per
   * message is a measurable share of a small message's cost): the sweep that first sees a
   * frame completed, or a new frame begun, stamps its own time. A timeout therefore fires
   * at most one sweep period late, never early (checkTimeouts).
   */
  #idleSince: number;
  #frameStartedAt = NOT_STARTED;
  /** `messages` as the last sweep saw it. */
  #messagesAtSweep = 0;
  /** The socket's high-water mark (fixed at adoption), read on every ack write. */
  readonly #highWaterMark: number;
  /** When the server stopped reading for flow control; NOT_STARTED while reading. */
  #pausedAt = NOT_STARTED;
  /** Since when unsent bytes are above the high-water mark (write() said so), until 'drain'. */
  #overHighWaterSince = NOT_STARTED;
  /** Set once the server decided to close: input is ignored from then on. */
  #closing = false;
  #disconnecting = false;
  #reason: CloseReason = 'peer-closed';
  #errorCode: string | undefined;
  #graceTimer: NodeJS.Timeout | undefined;
  /** While closing: when the peer last sent anything. */
  #lastReadAt = 0;
  /** Our FIN is queued: nothing more may be written. */
  #ended = false;
  /** Chat mode: this connection as a member of the chat. */
  readonly #member: ChatMember | null;
  /** Test-only: an injected fault waiting for its place (sweep, timer). */
  #armedFault: CrashSite | null = null;

  /** `peer`: the client's address from a PROXY header; null: the socket's own peer. */
  constructor(socket: net.Socket, host: SessionThread, peer: ProxyAddress | null = null) {
    this.#socket = socket;
    this.#host = host;
    this.remote = peer ? addressName(peer.address, peer.port) : addressName(socket.remoteAddress, socket.remotePort);
    this.#startedAt = this.#idleSince = performance.now();
    this.#highWaterMark = socket.writableHighWaterMark;
    this.#acksFrames = !host.echo && host.chat === null;
    // Acks libuv held and has now written count as the stream's 'drain' does: reading resumes.
    this.#direct = this.#acksFrames
      ? DirectAcks.of(
          socket,
          this.#guarded('socket-event', () => this.#resumeReading()),
        )
      : null;
    this.#decoder = new FrameDecoder(
      host.decoderOptions,
      (payload) => this.#onFrame(payload),
      (err) => this.fail(err),
    );
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    // Socket events run our code from Node's event loop: each inside this connection's failure boundary.
    socket.on(
      'drain',
      this.#guarded('socket-event', () => this.#resumeReading()),
    );
    socket.on('error', () => {
      this.#reason = this.#closing ? this.#reason : 'reset';
    });
    socket.on(
      'close',
      this.#guarded('socket-event', () => this.#onClose()),
    );
    this.#member = host.chat ? host.chat.attach(this) : null;
  }

  // --- ChatConnection: what the chat needs from this connection.

  get address(): string {
    return this.remote;
  }

  get unsentBytes(): number {
    return this.#socket.writableLength;
  }

  /** One write for everything the chat has for this connection this turn. */
  writeOut(chunks: Buffer[], bytes: number): void {
    if (this.#ended) return;
    if (this.#armedFault === 'chat-flush') {
      this.#armedFault = null; // once: the failure boundary's own flush of this connection must not throw again
      throw injectedFault(`a message asked for a throw in the chat's flush (${this.remote})`);
    }
    if (chunks.length === 1) this.#write(chunks[0]!);
    else if (bytes <= JOIN_ECHO_BELOW_BYTES) this.#write(Buffer.concat(chunks, bytes));
    else {
      this.#socket.cork();
      for (const chunk of chunks) this.#write(chunk);
      this.#socket.uncork();
    }
  }

  /** Called for every read with the host's shared buffer: valid only during this call. */
  onRead(bytesRead: number, buffer: Buffer): void {
    if (this.#closing) {
      this.#lastReadAt = performance.now(); // after !DISCONNECT or an error, input is ignored
      return;
    }
    this.bytesIn += bytesRead;
    const decoder = this.#decoder;
    const before = decoder.frames;
    decoder.push(buffer, bytesRead);
    const completed = decoder.frames - before;
    this.#host.counters.received(completed, bytesRead);
    this.messages += completed;
    this.#flushReplies();
    if (this.#disconnecting && !this.#closing) {
      this.#closing = true;
      this.#reason = 'disconnect';
      const member = this.#member;
      if (member) {
        // The reply to !DISCONNECT may wait behind a !JOIN being confirmed: close once it is out.
        member.endAfterReplies = () => {
          this.#host.chat!.detach(member);
          this.#endGracefully();
        };
        this.#host.chat!.flushMember(member);
      } else {
        this.#endGracefully();
      }
    }
  }

  #onFrame(payload: Buffer): void {
    const host = this.#host;
    if (host.logMessages) logMessage(host.log, this.remote, payload);
    if (host.faults !== null) this.#injectFault(host.faults, payload);
    if (payload.length === DISCONNECT_BYTES.length && payload.equals(DISCONNECT_BYTES)) {
      this.#decoder.stop(); // anything after !DISCONNECT is ignored
      this.#disconnecting = true;
    }
    if (this.#member !== null) {
      host.chat!.onPayload(this.#member, payload);
    } else if (host.echo) {
      if (payload.buffer === host.readMemory) {
        // A view into the shared read buffer, reused by the next read: copy it, with its header, in one go,
        // into a recycled buffer when it is large.
        const headerBytes = host.options.headerBytes;
        const size = headerBytes + payload.length;
        const pooled = host.replyPool.take(size);
        let frame: Buffer;
        if (pooled) {
          frame = pooled.subarray(0, size);
          writeHeader(frame, 0, payload.length, headerBytes);
          frame.set(payload, headerBytes);
          this.#pendingPooled.push(pooled);
        } else {
          frame = encodeFrame(payload, headerBytes);
        }
        this.#pendingEcho.push(frame);
        this.#pendingEchoBytes += size;
      } else {
        // The decoder gathered this payload in a buffer of its own: send that buffer as it is.
        this.#pendingEcho.push(encodeHeader(payload.length, host.options.headerBytes), payload);
        this.#pendingEchoBytes += host.options.headerBytes + payload.length;
      }
    }
  }

  /** Test-only: a message that asks for a fault gets it (injected-faults.ts). */
  #injectFault(faults: InjectedFaults, payload: Buffer): void {
    if (faults.killThreadPayload !== null && payload.equals(faults.killThreadPayload)) {
      // Thrown on the next turn of the event loop, outside every failure boundary: the thread ends.
      setImmediate(() => {
        throw injectedFault(`a message asked this thread to die (${this.remote})`);
      });
    }
    if (faults.crashPayload === null || !payload.equals(faults.crashPayload)) return;
    if (faults.crashAt === 'read') throw injectedFault(`a message asked for a throw in the read path (${this.remote})`);
    this.#armedFault = faults.crashAt;
  }

  /** Test-only: throws if an injected fault waits for `site`. */
  #trip(site: CrashSite): void {
    if (this.#armedFault === site) throw injectedFault(`a message asked for a throw in the ${site} (${this.remote})`);
  }

  /** Writes the replies of one read: acks as one slice of a prebuilt run, echoes joined or corked. */
  #flushReplies(): void {
    if (this.#acksFrames) {
      const acks = this.#decoder.frames - this.#ackedFrames;
      if (acks > 0) {
        this.#ackedFrames += acks;
        // One ack per read is the common case (a client waiting for each reply): no run to slice.
        if (acks === 1) this.#writeAcks(this.#host.acks.frame);
        else this.#host.acks.forEachRun(acks, this.#writeAcks);
      }
      return;
    }
    const echoes = this.#pendingEcho;
    if (echoes.length === 0) return;
    this.#pendingEcho = [];
    const total = this.#pendingEchoBytes;
    this.#pendingEchoBytes = 0;
    const pooled = this.#pendingPooled;
    // Writes complete in order: when the last one is done, every pooled buffer of this read is free.
    const release = pooled.length === 0 ? undefined : this.#releaser(pooled);
    if (pooled.length > 0) this.#pendingPooled = [];
    if (echoes.length === 1) this.#write(echoes[0]!, release);
    else if (total < JOIN_ECHO_BELOW_BYTES && !release) this.#write(Buffer.concat(echoes, total));
    else {
      this.#socket.cork();
      const last = echoes.length - 1;
      for (let i = 0; i < last; i++) this.#write(echoes[i]!);
      this.#write(echoes[last]!, release);
      this.#socket.uncork();
    }
  }

  readonly #writeAcks = (acks: Buffer): void => {
    const direct = this.#direct;
    if (direct === null || !direct.write(acks)) {
      this.#write(acks);
      return;
    }
    this.bytesOut += acks.length;
    this.#host.counters.sent(acks.length);
    if (direct.pendingBytes >= this.#highWaterMark) this.#overHighWater();
  };

  #releaser(buffers: Buffer[]): () => void {
    const pool = this.#host.replyPool;
    return () => {
      for (const buffer of buffers) pool.give(buffer);
    };
  }

  #write(bytes: Buffer, onFlushed?: () => void): void {
    this.#direct?.wroteThroughStream();
    this.bytesOut += bytes.length;
    this.#host.counters.sent(bytes.length);
    // write() says false once unsent replies pass the high-water mark: stop reading until 'drain'.
    if (!this.#socket.write(bytes, onFlushed)) this.#overHighWater();
  }

  #overHighWater(): void {
    const now = performance.now();
    if (this.#overHighWaterSince === NOT_STARTED) this.#overHighWaterSince = now;
    if (this.#pausedAt === NOT_STARTED && !this.#closing) {
      this.#pausedAt = now;
      this.#socket.pause();
    }
  }

  #resumeReading(): void {
    this.#overHighWaterSince = NOT_STARTED;
    if (this.#pausedAt === NOT_STARTED) return;
    // The timeouts stand still while the server itself is not reading.
    const paused = performance.now() - this.#pausedAt;
    this.#idleSince += paused;
    if (this.#frameStartedAt !== NOT_STARTED) this.#frameStartedAt += paused;
    this.#pausedAt = NOT_STARTED;
    if (!this.#closing) this.#socket.resume();
  }

  /**
   * Called by the thread's sweep timer. It first stamps the timeout clocks (see #idleSince):
   * a frame completed since the last sweep restarts the idle clock now; the frame timer runs
   * from the sweep that first saw the frame now in progress (a completed frame restarts it).
   */
  checkTimeouts(now: number, frameTimeoutMs: number, idleTimeoutMs: number, writeTimeoutMs: number): void {
    if (this.#armedFault !== null) this.#trip('sweep');
    if (this.#closing) return;
    const progressed = this.messages !== this.#messagesAtSweep;
    if (progressed) {
      this.#messagesAtSweep = this.messages;
      this.#idleSince = now;
    }
    if (!this.#decoder.inFrame) this.#frameStartedAt = NOT_STARTED;
    else if (progressed || this.#frameStartedAt === NOT_STARTED) this.#frameStartedAt = now;
    // The write deadline: a peer that has not taken our bytes for that long will not.
    if (
      writeTimeoutMs > 0 &&
      this.#overHighWaterSince !== NOT_STARTED &&
      now - this.#overHighWaterSince >= writeTimeoutMs
    ) {
      this.fail(new SlowConsumerError(`unread data for more than ${writeTimeoutMs / 1000} s`));
      return;
    }
    if (this.#pausedAt !== NOT_STARTED) return; // the other timeouts stand still while we do not read
    if (this.#frameStartedAt !== NOT_STARTED && now - this.#frameStartedAt >= frameTimeoutMs) {
      this.fail(new TimeoutError(`frame not completed within ${frameTimeoutMs / 1000} s`));
    } else if (idleTimeoutMs > 0 && now - this.#idleSince >= idleTimeoutMs) {
      this.fail(new TimeoutError(`no message within ${idleTimeoutMs / 1000} s`));
    }
  }

  /**
   * Sends the replies already due, then one `!ERROR` frame, then closes. Other connections
   * are untouched. `logged`: an `[ERROR]` line for it (not for a shutdown, logged once).
   */
  fail(err: ProtocolError, logged = true): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#reason = 'error';
    this.#errorCode = err.code;
    this.#decoder.stop();
    this.#flushReplies();
    if (this.#member) {
      this.#host.chat!.flushMember(this.#member);
      this.#host.chat!.detach(this.#member);
    }
    this.#host.counters.errorSent(err.code);
    if (logged) {
      this.#host.log.info('error', `[ERROR] ${this.remote} ${err.code} ${err.text}`, {
        remote: this.remote,
        code: err.code,
      });
    }
    this.#write(encodeFrame(errorPayload(err), this.#host.options.headerBytes));
    this.#endGracefully();
  }

  /**
   * The failure boundary: our own code threw while serving this connection. It alone
   * fails: it gets `!ERROR SHUTTING_DOWN` (INTERNAL_ERROR_TEXT) if a frame can still be
   * sent, and is closed; the error is logged with its cause and counted. Never throws.
   */
  crashed(where: FaultSite, cause: unknown): void {
    try {
      this.#host.faulted(this.remote, where, cause);
    } catch {
      // Even the log failed: the connection is still closed below.
    }
    try {
      if (!this.#closing) {
        this.fail(new ShuttingDownError(INTERNAL_ERROR_TEXT), false);
        return;
      }
    } catch {
      // fail() itself threw: no frame then, only the close.
    }
    this.#socket.destroy();
  }

  /** `fn`, for a socket event or a timer, inside this connection's failure boundary. */
  #guarded(where: FaultSite, fn: () => void): () => void {
    return () => {
      try {
        fn();
      } catch (err) {
        this.crashed(where, err);
      }
    };
  }

  /**
   * Flushes and sends FIN, then closes once the peer is quiet; a peer that will not
   * read what is left is cut off after a grace period.
   */
  #endGracefully(): void {
    const socket = this.#socket;
    this.#lastReadAt = performance.now();
    // Keep reading (and ignoring) what the peer sends, so that nothing unread is left when we close.
    if (this.#pausedAt !== NOT_STARTED) socket.resume();
    this.#ended = true;
    socket.end();
    this.#host.release(this);
    this.#graceTimer = setTimeout(
      this.#guarded('timer', () => socket.destroy()),
      CLOSE_GRACE_MS,
    );
    this.#graceTimer.unref();
    socket.once('finish', this.#closeWhenQuiet);
  }

  readonly #closeWhenQuiet = this.#guarded('timer', () => {
    if (this.#armedFault !== null) this.#trip('timer');
    const quietFor = performance.now() - this.#lastReadAt;
    if (quietFor >= QUIET_BEFORE_CLOSE_MS) this.#socket.destroy();
    else setTimeout(this.#closeWhenQuiet, QUIET_BEFORE_CLOSE_MS - quietFor).unref();
  });

  destroy(): void {
    this.#socket.destroy();
  }

  #onClose(): void {
    clearTimeout(this.#graceTimer);
    this.#closing = true;
    // Settled first: whatever throws below, the thread learns that this connection is over.
    this.#resolve({
      remote: this.remote,
      messages: this.messages,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      durationMs: Math.round(performance.now() - this.#startedAt),
      reason: this.#reason,
      ...(this.#errorCode ? { errorCode: this.#errorCode } : {}),
    });
    if (this.#member) this.#host.chat!.detach(this.#member);
  }
}
