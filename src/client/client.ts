import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { readPemFile } from '../options/pem-file.ts';
import {
  BadReplyError,
  ConnectError,
  socketFailureText,
  ConnectionClosedError,
  ConnectTimeoutError,
  DISCONNECT_MESSAGE,
  encodeFrame,
  encodeHeader,
  encodeTextFrame,
  type HandoffError,
  InvalidMessageError,
  InvalidOptionError,
  parseErrorPayload,
  ReplyTimeoutError,
  ServerSpeaksTlsError,
  UnexpectedReplyError,
  withHeaderSizeHint,
} from '../protocol/index.ts';
import {
  ChatCommand,
  type Delivery,
  deliveryKind,
  type DeliveryKind,
  OK_PREFIX,
  parseDelivery,
  parseRefusal,
} from '../protocol/chat.ts';
import { type ClientOptions, type ResolvedClientOptions, resolveClientOptions } from './options.ts';
import { createReplyReader, type ReplyReader } from './reply-reader.ts';
import { speaksTls, startsLikeTls } from './tls-probe.ts';

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

/** What `join()` resolves with: the room now joined, as the server spells it. */
export interface JoinReply {
  room: string;
}
/** What `nick()` resolves with: the name later deliveries from this connection carry. */
export interface NickReply {
  name: string;
}
/**
 * What `who()` resolves with: the current room and its members, this connection included
 * (first), in the server's order. A room too big for one reply (PROTOCOL.md, the `!WHO`
 * size rule) lists as many as fit: `leftOut` counts the others (0 when every member is listed).
 */
export interface WhoReply {
  room: string;
  members: string[];
  leftOut: number;
}

/** A `!WHO` reply's last word when the room did not fit: how many it left out (no member name starts with `+`). */
const LEFT_OUT = /^\+(\d{1,15})$/;

/** `<room> <from> ... [+N]`; null when a word other than the last starts with `+`, which no name does. */
function readWho([room, ...names]: string[]): WhoReply | null {
  const leftOut = LEFT_OUT.exec(names.at(-1) ?? '');
  if (leftOut) names.pop();
  if (names.some((name) => name.startsWith('+'))) return null;
  return { room: room!, members: names, leftOut: leftOut ? Number(leftOut[1]) : 0 };
}

/**
 * The events a Client emits (chat mode only): each delivery by its kind, and
 * every delivery, whatever its kind, as `delivery`. Listeners run synchronously
 * as frames are read, as socket `data` listeners do.
 */
export interface ClientEvents {
  message: [delivery: Delivery];
  joined: [delivery: Delivery];
  left: [delivery: Delivery];
  delivery: [delivery: Delivery];
}

type ChatReplyKind = 'join' | 'nick' | 'who';
type ReplyKind = 'text' | 'buffer' | 'json' | ChatReplyKind;

/**
 * How each chat command's `!OK` reply reads: the words after `!OK <COMMAND> `,
 * split at single spaces, become the result (null: the reply is not that).
 */
const OK_REPLIES: Readonly<
  Record<ChatReplyKind, { command: ChatCommand; shape: string; read: (words: string[]) => object | null }>
> = {
  join: {
    command: ChatCommand.JOIN,
    shape: '!OK JOIN <room>',
    read: (words): JoinReply | null => (words.length === 1 ? { room: words[0]! } : null),
  },
  nick: {
    command: ChatCommand.NICK,
    shape: '!OK NICK <name>',
    read: (words): NickReply | null => (words.length === 1 ? { name: words[0]! } : null),
  },
  who: {
    command: ChatCommand.WHO,
    shape: '!OK WHO <room> <from> ...',
    read: readWho,
  },
};

/** The result of a chat command's reply, or the BadReplyError that says it is not the reply expected. */
function readOkReply(kind: ChatReplyKind, payload: Buffer): object | BadReplyError {
  const { command, shape, read } = OK_REPLIES[kind];
  const text = payload.toString('utf8');
  const prefix = `${OK_PREFIX}${command} `;
  const words = text.startsWith(prefix) ? text.slice(prefix.length).split(' ') : [];
  const result = words.length > 0 && words.every((word) => word !== '') ? read(words) : null;
  if (result) return result;
  const shown = JSON.stringify(text.length > 60 ? `${text.slice(0, 60)}...` : text);
  return new BadReplyError(
    `expected ${shape} in reply to !${command}, got ${shown} (is the server in chat mode, --mode chat?)`,
  );
}

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
/** The longest the TLS question (a port that closed on us without a byte) may take. */
const TLS_PROBE_MS = 3_000;
const DISCONNECT_BYTES = Buffer.from(DISCONNECT_MESSAGE, 'latin1');

/** FIFO (pending replies, buffered deliveries). A head index instead of shift(): O(1) per item with thousands queued. */
class Queue<T> {
  #items: T[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
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

  drain(): T[] {
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

const BANG = 0x21; // '!': the first byte of every error, delivery and refusal

/**
 * One connection to a handoff server (or to the tutorial's original one, with `ack: 'raw'`).
 *
 * Sends may be pipelined: call send() many times without awaiting; the server keeps
 * the order of replies, so each reply settles the oldest send still waiting.
 * Create it with `connect()`.
 *
 * With `chat: true` (a server in `--mode chat`) the server also pushes deliveries
 * between replies: they never settle a send; they are emitted as events
 * (ClientEvents) and kept for deliveries(). join(), nick() and who() send the
 * chat commands; a `!NO` reply rejects its send with a CommandRefusedError and the
 * connection stays usable.
 */
export class Client extends EventEmitter<ClientEvents> {
  readonly options: ResolvedClientOptions;
  /** Settles (never rejects) once the socket is closed, whoever closed it. */
  readonly closed: Promise<CloseInfo>;
  #socket: net.Socket;
  #reader: ReplyReader;
  #pending = new Queue<PendingReply>();
  /** Deliveries nobody has taken from deliveries() yet, with their payload sizes. */
  #backlog = new Queue<{ delivery: Delivery; bytes: number }>();
  #backlogBytes = 0;
  #droppedDeliveries = 0;
  /** deliveries() iterators waiting for the next delivery (null: there will be none). */
  #deliveryWaiters: Array<(delivery: Delivery | null) => void> = [];
  #deliveriesEnded = false;
  /** Set once the connection cannot carry sends any more; later sends reject with it. */
  #failure: HandoffError | null = null;
  #closeError: HandoffError | null = null;
  /** A `!DISCONNECT` went out: the server's FIN is expected, nothing more may be sent. */
  #disconnectSent = false;
  #endRequested = false;
  #closing: Promise<void> | null = null;
  #isClosed = false;
  #replyTimer: NodeJS.Timeout | null = null;
  /** Frames read so far: until the first, a timeout or a bad frame comes with the header-size hint. */
  #framesSeen = 0;
  /** No byte has come from the server yet: the first ones may say that the port speaks TLS. */
  #silent = true;
  /** Set while the port is asked whether it speaks TLS: the connection's end waits for the answer. */
  #tlsQuestion: Promise<void> | null = null;

  /** Use connect(): this takes a socket that is already connected. */
  constructor(socket: net.Socket, options: ResolvedClientOptions) {
    super();
    this.options = options;
    this.#socket = socket;
    this.#reader = createReplyReader(
      options,
      (payload) => this.#onFrame(payload),
      (err) => this.#fail(this.#framesSeen === 0 ? withHeaderSizeHint(err, options.headerBytes) : err),
    );
    let resolveClosed!: (info: CloseInfo) => void;
    this.closed = new Promise((resolve) => {
      resolveClosed = resolve;
    });
    socket.on('data', (chunk: Buffer) => {
      if (this.#silent) {
        this.#silent = false;
        if (!options.tls && startsLikeTls(chunk)) {
          this.#fail(this.#speaksTlsError());
          return;
        }
      }
      this.#reader.push(chunk);
    });
    socket.on('end', () => {
      const outstanding = this.#pending.length;
      const midReply = this.#reader.inReply ? ' in the middle of a reply' : '';
      const closed = new ConnectionClosedError(
        outstanding > 0
          ? `the server closed the connection${midReply} with ${outstanding} repl${outstanding === 1 ? 'y' : 'ies'} outstanding`
          : `the server closed the connection${midReply}`,
      );
      // A TLS server closes a plain connection without a byte (OpenSSL sends no alert to a
      // peer that is not speaking TLS); a handoff server always says why it closes.
      if (this.#silent && outstanding > 0 && !options.tls && !this.#disconnectSent) {
        this.#tlsQuestion = this.#askTls(closed);
      } else this.#fail(closed);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.#fail(new ConnectionClosedError(`connection lost: ${err.code ?? err.message}`, { cause: err }));
    });
    socket.once('close', async () => {
      await this.#tlsQuestion;
      this.#isClosed = true;
      this.#fail(new ConnectionClosedError('the connection is closed'));
      this.#endDeliveries();
      resolveClosed({ error: this.#closeError });
    });
  }

  #speaksTlsError(): ServerSpeaksTlsError {
    const { host, port } = this.options;
    return new ServerSpeaksTlsError(`${host}:${port}: this port speaks TLS: pass --tls`);
  }

  /** Fails the connection with `closed`, or with ServerSpeaksTlsError if the port completes a TLS handshake. */
  async #askTls(closed: ConnectionClosedError): Promise<void> {
    const { host, port, connectTimeoutMs } = this.options;
    const tls = await speaksTls(host, port, Math.min(connectTimeoutMs, TLS_PROBE_MS));
    this.#fail(tls ? this.#speaksTlsError() : closed);
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

  /** Chat mode: enters `room` (leaving the current one); resolves once the server says it is done (`!OK JOIN`). */
  join(room: string): Promise<JoinReply> {
    return this.#command('join', room);
  }

  /** Chat mode: names this connection in later deliveries; resolves on `!OK NICK`. */
  nick(name: string): Promise<NickReply> {
    return this.#command('nick', name);
  }

  /** Chat mode: the members of the current room, this connection included. */
  who(): Promise<WhoReply> {
    return this.#command('who');
  }

  /**
   * Chat mode: every delivery, in arrival order, as an async iterator that ends
   * once the connection is closed (and what it had received is taken). Deliveries
   * that arrive while nobody iterates are kept, up to `maxBufferedDeliveryBytes`
   * (the oldest are dropped past it; see droppedDeliveries), so a loop started
   * late, or again after a `break`, misses nothing that was kept. Several loops at
   * once share the one stream: each delivery goes to one of them.
   */
  deliveries(): AsyncGenerator<Delivery, void, undefined> {
    if (!this.options.chat) throw this.#notChat('deliveries()');
    return this.#deliveryStream();
  }

  /** Chat mode: deliveries dropped unread because the deliveries() buffer was full. */
  get droppedDeliveries(): number {
    return this.#droppedDeliveries;
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

  /** Sends `!<COMMAND>` or `!<COMMAND> <argument>` as given: the server, not the client, judges names and rooms. */
  #command<T>(kind: ChatReplyKind, argument?: string): Promise<T> {
    if (!this.options.chat) return Promise.reject(this.#notChat(`${kind}()`));
    const command = `!${OK_REPLIES[kind].command}`;
    if (argument === undefined) return this.#request(command, kind);
    if (typeof argument !== 'string') {
      return Promise.reject(new InvalidMessageError(`${kind}() takes a string, got ${typeof argument}`));
    }
    return this.#request(`${command} ${argument}`, kind);
  }

  #notChat(what: string): InvalidOptionError {
    return new InvalidOptionError(
      'chat',
      `${what} needs {chat} set to true: only then are deliveries told apart from replies`,
    );
  }

  async *#deliveryStream(): AsyncGenerator<Delivery, void, undefined> {
    for (;;) {
      const kept = this.#backlog.shift();
      let delivery: Delivery | null;
      if (kept) {
        this.#backlogBytes -= kept.bytes;
        delivery = kept.delivery;
      } else if (this.#deliveriesEnded) {
        return;
      } else {
        delivery = await new Promise<Delivery | null>((resolve) => this.#deliveryWaiters.push(resolve));
        if (delivery === null) return;
      }
      yield delivery;
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

  #onFrame(payload: Buffer): void {
    this.#framesSeen++;
    // Errors, deliveries and refusals all start with '!': one byte compare spares every other reply the prefix tests.
    let refusal = null;
    if (payload[0] === BANG) {
      const error = parseErrorPayload(payload);
      if (error) {
        this.#fail(error);
        return;
      }
      if (this.options.chat) {
        const kind = deliveryKind(payload);
        if (kind !== null) {
          this.#onDelivery(payload, kind);
          return;
        }
        refusal = parseRefusal(payload);
      }
    }
    const pending = this.#pending.shift();
    if (!pending) {
      this.#fail(new UnexpectedReplyError('the server sent a reply to no message'));
      return;
    }
    if (this.#pending.length === 0) this.#clearReplyTimer();
    if (refusal) {
      pending.reject(refusal); // one command refused; the connection goes on
      return;
    }
    const settle = pending.resolve as (value: unknown) => void;
    switch (pending.kind) {
      case 'text':
        settle(payload.toString('utf8'));
        break;
      case 'buffer':
        settle(Buffer.from(payload)); // the payload may be a view into a socket chunk
        break;
      case 'json':
        settle(parseJsonOrText(payload));
        break;
      default: {
        // A reply of the wrong shape is still this command's reply: the order holds, the connection goes on.
        const result = readOkReply(pending.kind, payload);
        if (result instanceof BadReplyError) pending.reject(result);
        else settle(result);
      }
    }
  }

  #onDelivery(payload: Buffer, kind: DeliveryKind): void {
    const delivery = parseDelivery(payload, kind);
    if (!delivery) {
      const head = JSON.stringify(payload.toString('utf8', 0, Math.min(payload.length, 60)));
      this.#fail(new BadReplyError(`malformed delivery from the server: ${head}`));
      return;
    }
    const waiter = this.#deliveryWaiters.shift();
    if (waiter) waiter(delivery);
    else this.#keep(delivery, payload.length);
    // Last: a listener that throws must not cost the iterator its delivery.
    this.emit(delivery.kind, delivery);
    this.emit('delivery', delivery);
  }

  /** Buffers a delivery for deliveries(), dropping the oldest beyond the limit so that memory stays bounded. */
  #keep(delivery: Delivery, bytes: number): void {
    this.#backlog.push({ delivery, bytes });
    this.#backlogBytes += bytes;
    const limit = this.options.maxBufferedDeliveryBytes;
    while (this.#backlogBytes > limit) {
      this.#backlogBytes -= this.#backlog.shift()!.bytes;
      this.#droppedDeliveries++;
    }
  }

  /** The connection is closed: iterators end once they have taken what was kept. */
  #endDeliveries(): void {
    this.#deliveriesEnded = true;
    for (const waiter of this.#deliveryWaiters.splice(0)) waiter(null);
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
        const late = new ReplyTimeoutError(`no reply within ${limitMs / 1000} s`);
        this.#fail(this.#framesSeen === 0 ? withHeaderSizeHint(late, this.options.headerBytes) : late);
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

/** What the server's certificate is checked against: the host's name (SNI too), and `ca` when given. */
function serverIdentity(host: string, ca: string | undefined): tls.ConnectionOptions {
  return { ...(net.isIP(host) === 0 ? { servername: host } : {}), ...(ca === undefined ? {} : { ca }) };
}

/**
 * Opens a connection. Options are validated first (InvalidOptionError); a
 * connection that cannot be made rejects with a ConnectError whose `cause` is
 * the socket error, or with a ConnectTimeoutError after `connectTimeoutMs`.
 */
export async function connect(input: ClientOptions): Promise<Client> {
  const options = resolveClientOptions(input);
  const where = `${options.host}:${options.port}`;
  const ca = options.ca === '' ? undefined : readPemFile(options.ca, 'CA file');
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const socket = options.tls
      ? tls.connect({ host: options.host, port: options.port, ...serverIdentity(options.host, ca) })
      : net.connect({ host: options.host, port: options.port, noDelay: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new ConnectTimeoutError(`cannot connect to ${where}: no answer within ${options.connectTimeoutMs / 1000} s`),
      );
    }, options.connectTimeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ConnectError(`cannot connect to ${where}: ${socketFailureText(err)}`, { cause: err }));
    });
    socket.once(options.tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
  socket.setNoDelay(true);
  return new Client(socket, options);
}
