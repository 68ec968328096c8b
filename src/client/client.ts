import net from 'node:net';
import {
  ConnectError,
  ConnectionClosedError,
  ConnectTimeoutError,
  DISCONNECT_MESSAGE,
  encodeFrame,
  encodeHeader,
  encodeTextFrame,
  type HandoffError,
  InvalidMessageError,
  parseErrorPayload,
  ReplyTimeoutError,
  UnexpectedReplyError,
} from '../protocol/index.ts';
import { type ClientOptions, type ResolvedClientOptions, resolveClientOptions } from './options.ts';
import { createReplyReader, type ReplyReader } from './reply-reader.ts';

/** How the connection ended, as `client.closed` reports it. */
export interface CloseInfo {
  /**
   * null when the end was asked for: close(), destroy(), or a `!DISCONNECT` sent.
   * Otherwise why it ended: the ProtocolError the server sent (SHUTTING_DOWN, TIMEOUT, ...),
   * a BadReplyError, a ReplyTimeoutError, an UnexpectedReplyError, or a ConnectionClosedError
   * (the server went away; `cause` has details).
   */
  error: HandoffError | null;
}

type ReplyKind = 'text' | 'buffer' | 'json';

interface PendingReply {
  kind: ReplyKind;
  sentAt: number;
  resolve: (value: never) => void;
  reject: (err: Error) => void;
}

/** Payloads above this are written as header + payload inside cork(), not copied into one frame buffer. */
const COPY_LIMIT_BYTES = 64 * 1024;
/** How long close() waits for the `!DISCONNECT` reply and the server's FIN before it drops the connection. */
const CLOSE_GRACE_MS = 5_000;
const DISCONNECT_BYTES = Buffer.from(DISCONNECT_MESSAGE, 'latin1');

/** FIFO of pending replies. A head index instead of shift(): O(1) per reply with thousands pipelined. */
class ReplyQueue {
  #items: PendingReply[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: PendingReply): void {
    this.#items.push(item);
  }

  peek(): PendingReply | undefined {
    return this.#items[this.#head];
  }

  shift(): PendingReply | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined as never;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  drain(): PendingReply[] {
    const rest = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return rest;
  }
}

function isDisconnect(message: string | Uint8Array): boolean {
  if (typeof message === 'string') return message === DISCONNECT_MESSAGE;
  return message.length === DISCONNECT_BYTES.length && DISCONNECT_BYTES.equals(message);
}

function parseJsonOrText(payload: Buffer): unknown {
  const text = payload.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Words for the connect errors a user meets; the errno code stays in the message and in `cause`. */
const CONNECT_FAILURE_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  ECONNRESET: 'connection reset',
};

/**
 * One connection to a handoff server (or to the tutorial's original one, with `ack: 'raw'`).
 *
 * Sends may be pipelined: call send() many times without awaiting; the server keeps
 * the order of replies, so each reply settles the oldest send still waiting.
 * Create it with `connect()`.
 */
export class Client {
  readonly options: ResolvedClientOptions;
  /** Settles (never rejects) once the socket is closed, whoever closed it. */
  readonly closed: Promise<CloseInfo>;
  #socket: net.Socket;
  #reader: ReplyReader;
  #pending = new ReplyQueue();
  /** Set once the connection cannot carry sends any more; later sends reject with it. */
  #failure: HandoffError | null = null;
  #closeError: HandoffError | null = null;
  /** A `!DISCONNECT` went out: the server's FIN is expected, nothing more may be sent. */
  #disconnectSent = false;
  #endRequested = false;
  #closing: Promise<void> | null = null;
  #isClosed = false;
  #replyTimer: NodeJS.Timeout | null = null;

  /** Use connect(): this takes a socket that is already connected. */
  constructor(socket: net.Socket, options: ResolvedClientOptions) {
    this.options = options;
    this.#socket = socket;
    this.#reader = createReplyReader(
      options,
      (payload) => this.#onReply(payload),
      (err) => this.#fail(err),
    );
    let resolveClosed!: (info: CloseInfo) => void;
    this.closed = new Promise((resolve) => {
      resolveClosed = resolve;
    });
    socket.on('data', (chunk: Buffer) => this.#reader.push(chunk));
    socket.on('end', () => {
      const outstanding = this.#pending.length;
      const midReply = this.#reader.inReply ? ' in the middle of a reply' : '';
      this.#fail(
        new ConnectionClosedError(
          outstanding > 0
            ? `the server closed the connection${midReply} with ${outstanding} repl${outstanding === 1 ? 'y' : 'ies'} outstanding`
            : `the server closed the connection${midReply}`,
        ),
      );
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.#fail(new ConnectionClosedError(`connection lost: ${err.code ?? err.message}`, { cause: err }));
    });
    socket.once('close', () => {
      this.#isClosed = true;
      this.#fail(new ConnectionClosedError('the connection is closed'));
      resolveClosed({ error: this.#closeError });
    });
  }

  /** Sends one message; resolves with the reply decoded as UTF-8 (invalid bytes become U+FFFD). */
  send(message: string | Uint8Array): Promise<string> {
    return this.#request(message, 'text');
  }

  /** Sends one message; resolves with the reply's bytes exactly as sent by the server. */
  sendBuffer(message: string | Uint8Array): Promise<Buffer> {
    return this.#request(message, 'buffer');
  }

  /**
   * Sends `JSON.stringify(value)`; resolves with the reply parsed as JSON when it is
   * valid JSON (an echo server gives the value back), else with the reply's text
   * (an ack server gives `'Msg received'`). A text reply that happens to be valid
   * JSON (`"42"`, `true`) comes back parsed: use send() when that matters.
   */
  sendJson(value: unknown): Promise<unknown> {
    const text = JSON.stringify(value);
    if (text === undefined) {
      return Promise.reject(new InvalidMessageError(`sendJson cannot send ${String(value)}: it has no JSON form`));
    }
    return this.#request(text, 'json');
  }

  /** Replies still awaited. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  /** True once the socket is closed. */
  get isClosed(): boolean {
    return this.#isClosed;
  }

  /**
   * Ends the conversation as the protocol says: sends `!DISCONNECT` (after any sends
   * still in flight, which get their replies), waits for its reply and the server's
   * FIN. Resolves once closed, also when the server had already gone; never rejects.
   * Gives up waiting after a few seconds and drops the connection. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#closeGracefully();
    return this.#closing;
  }

  /** Drops the connection now; sends still waiting reject with ConnectionClosedError. */
  destroy(): void {
    this.#endRequested = true;
    this.#fail(new ConnectionClosedError('the connection was destroyed by the client'));
  }

  async #closeGracefully(): Promise<void> {
    this.#endRequested = true;
    if (!this.#failure && !this.#disconnectSent) {
      this.#request(DISCONNECT_BYTES, 'buffer', true).catch(() => {
        // The outcome is in `closed`; close() only promises that the connection ends.
      });
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(resolve, CLOSE_GRACE_MS, 'late');
    });
    const outcome = await Promise.race([this.closed, late]);
    clearTimeout(timer);
    if (outcome === 'late') {
      this.#fail(
        new ConnectionClosedError(`the server did not close the connection within ${CLOSE_GRACE_MS} ms of !DISCONNECT`),
      );
      await this.closed;
    }
  }

  #request<T>(message: string | Uint8Array, kind: ReplyKind, internal = false): Promise<T> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (!internal && (this.#endRequested || this.#disconnectSent)) {
      return Promise.reject(
        new ConnectionClosedError(
          this.#disconnectSent
            ? 'a !DISCONNECT was sent: the server ignores anything after it'
            : 'the client is closing',
        ),
      );
    }
    if (typeof message !== 'string' && !(message instanceof Uint8Array)) {
      return Promise.reject(new InvalidMessageError('a message must be a string or a Uint8Array'));
    }
    try {
      this.#write(message);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err))); // e.g. HeaderOverflowError: nothing was written
    }
    if (isDisconnect(message)) this.#disconnectSent = true;
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ kind, sentAt: performance.now(), resolve: resolve, reject });
      if (this.options.replyTimeoutMs > 0 && this.#replyTimer === null)
        this.#armReplyTimer(this.options.replyTimeoutMs);
    });
  }

  /** Header and payload always leave in one write: two writes cost a delayed-ACK round (~40 ms) per message. */
  #write(message: string | Uint8Array): void {
    const headerBytes = this.options.headerBytes;
    const socket = this.#socket;
    if (typeof message === 'string') {
      // A UTF-8 string is at most 3 bytes per UTF-16 unit.
      if (message.length * 3 <= COPY_LIMIT_BYTES) {
        socket.write(encodeTextFrame(message, headerBytes));
        return;
      }
      message = Buffer.from(message, 'utf8');
    }
    if (message.length <= COPY_LIMIT_BYTES) {
      socket.write(encodeFrame(message, headerBytes));
      return;
    }
    // Big payload: no copy. cork() makes the two buffers one writev().
    const header = encodeHeader(message.length, headerBytes);
    socket.cork();
    socket.write(header);
    socket.write(message);
    socket.uncork();
  }

  #onReply(payload: Buffer): void {
    const error = parseErrorPayload(payload);
    if (error) {
      this.#fail(error);
      return;
    }
    const pending = this.#pending.shift();
    if (!pending) {
      this.#fail(new UnexpectedReplyError('the server sent a reply to no message'));
      return;
    }
    if (this.#pending.length === 0) this.#clearReplyTimer();
    const settle = pending.resolve as (value: unknown) => void;
    if (pending.kind === 'text') settle(payload.toString('utf8'));
    else if (pending.kind === 'buffer')
      settle(Buffer.from(payload)); // the payload may be a view into a socket chunk
    else settle(parseJsonOrText(payload));
  }

  /**
   * Ends the connection because of `reason`. The oldest waiting send gets `reason`
   * itself when it is about that reply (an `!ERROR`, a bad reply, a timeout); every
   * other one gets a ConnectionClosedError with `reason` as its cause. Runs once.
   */
  #fail(reason: HandoffError): void {
    if (this.#failure) return;
    const aboutTheConnection = reason instanceof ConnectionClosedError;
    const closedError = aboutTheConnection
      ? reason
      : new ConnectionClosedError(`connection closed after ${reason.message}`, { cause: reason });
    this.#failure = closedError;
    if (!aboutTheConnection || !(this.#endRequested || this.#disconnectSent)) this.#closeError = reason;
    this.#reader.stop();
    this.#clearReplyTimer();
    const waiting = this.#pending.drain();
    for (let i = 0; i < waiting.length; i++) waiting[i]!.reject(i === 0 ? reason : closedError);
    this.#socket.destroy();
  }

  #armReplyTimer(delayMs: number): void {
    this.#replyTimer = setTimeout(() => {
      this.#replyTimer = null;
      const oldest = this.#pending.peek();
      if (!oldest) return;
      const waitedMs = performance.now() - oldest.sentAt;
      const limitMs = this.options.replyTimeoutMs;
      if (waitedMs >= limitMs) {
        this.#fail(new ReplyTimeoutError(`no reply within ${limitMs} ms`));
      } else {
        // The reply we timed was answered meanwhile: time the oldest one still waiting.
        this.#armReplyTimer(limitMs - waitedMs);
      }
    }, delayMs);
  }

  #clearReplyTimer(): void {
    if (this.#replyTimer === null) return;
    clearTimeout(this.#replyTimer);
    this.#replyTimer = null;
  }
}

/**
 * Opens a connection. Options are validated first (InvalidOptionError); a
 * connection that cannot be made rejects with a ConnectError whose `cause` is
 * the socket error, or with a ConnectTimeoutError after `connectTimeoutMs`.
 */
export async function connect(input: ClientOptions): Promise<Client> {
  const options = resolveClientOptions(input);
  const where = `${options.host}:${options.port}`;
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect({ host: options.host, port: options.port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectTimeoutError(`cannot connect to ${where}: no answer within ${options.connectTimeoutMs} ms`));
    }, options.connectTimeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const words = (err.code && CONNECT_FAILURE_TEXT[err.code]) ?? err.message;
      reject(
        new ConnectError(`cannot connect to ${where}: ${words}${err.code ? ` (${err.code})` : ''}`, { cause: err }),
      );
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
  socket.setNoDelay(true);
  return new Client(socket, options);
}
