// A tiny framed server for client tests, so that they do not depend on src/server:
// it speaks the wire protocol through the same FrameDecoder, and each test can
// replace the reply with anything (an !ERROR, raw bytes, nothing, a drop).
// For chat mode it is no chat server: each test scripts exactly what is sent
// (deliver(), refuse(), reply('!OK ...')) and when (waitForMessages()).
import net from 'node:net';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import {
  ACK_TEXT,
  DEFAULT_HEADER_BYTES,
  DISCONNECT_MESSAGE,
  encodeFrame,
  errorPayload,
  FrameDecoder,
  type ProtocolError,
  refusalFor,
} from '../../src/protocol/index.ts';
import { deliveryPayload, type DeliveryKind, refusalPayload } from '../../src/protocol/chat.ts';
import { type Client, type ClientOptions, connect } from '../../src/client/index.ts';

export type FakeMode = 'ack' | 'echo' | 'raw-ack' | 'silent';

/** One accepted connection, seen from the server. */
export class FakeConnection {
  readonly socket: net.Socket;
  readonly headerBytes: number;
  /** Every message received, in order (copies). */
  readonly received: Buffer[] = [];
  #waiters: Array<() => void> = [];
  /** The client sent its FIN. */
  clientEnded = false;
  readonly closed: Promise<void>;

  constructor(socket: net.Socket, headerBytes: number) {
    this.socket = socket;
    this.headerBytes = headerBytes;
    socket.on('end', () => {
      this.clientEnded = true;
    });
    socket.on('error', () => {
      // A client that resets is part of what these tests do.
    });
    this.closed = once(socket, 'close').then(() => {
      for (const wake of this.#waiters.splice(0)) wake(); // a waitForMessages() then says so at once
    });
  }

  /** Records a message the client sent (the server's decoder calls this). */
  record(payload: Buffer): number {
    const index = this.received.push(payload) - 1;
    for (const wake of this.#waiters.splice(0)) wake();
    return index;
  }

  /** The messages received once there are at least `count` (rejects after `ms`, or when the connection closes first). */
  async waitForMessages(count: number, ms = 5_000): Promise<string[]> {
    const deadline = performance.now() + ms;
    while (this.received.length < count) {
      if (this.socket.destroyed) throw new Error(`connection closed with ${this.received.length} of ${count} messages`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`only ${this.received.length} of ${count} messages within ${ms} ms`);
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        timer = setTimeout(resolve, left);
        this.#waiters.push(resolve);
      });
      clearTimeout(timer);
    }
    return this.received.map(String);
  }

  /** One framed reply. */
  reply(payload: Buffer | string): void {
    this.socket.write(this.frame(payload));
  }

  /** Writes `bytes` one byte per TCP segment (a new segment each event-loop turn). */
  dribble(bytes: Buffer): void {
    let i = 0;
    const next = (): void => {
      if (this.socket.destroyed || i >= bytes.length) return;
      this.socket.write(bytes.subarray(i, ++i));
      setImmediate(next);
    };
    next();
  }

  /** The frame for `payload` (to put several in one TCP write). */
  frame(payload: Buffer | string): Buffer {
    return encodeFrame(typeof payload === 'string' ? Buffer.from(payload) : payload, this.headerBytes);
  }

  /** Chat mode: pushes a delivery (`!MSG <room> <from> <text>`, `!JOINED ...`, `!LEFT ...`). */
  deliver(kind: DeliveryKind, room: string, from: string, text: string | Uint8Array = ''): void {
    this.reply(deliveryPayload(kind, room, from, text));
  }

  /** Chat mode: refuses a command, `!NO <CODE> <text>`; the connection stays open. */
  refuse(code: string, text: string): void {
    this.reply(refusalPayload(refusalFor(code, text)));
  }

  /** The error frame, then a clean close, as the real server does. */
  replyError(err: ProtocolError): void {
    this.reply(errorPayload(err));
    this.socket.end();
  }
}

/** Decides the reply to message `index` of a connection; the default follows `mode`. */
export type ReplyPolicy = (conn: FakeConnection, payload: Buffer, index: number) => void;

export interface FakeServerOptions {
  mode?: FakeMode;
  headerBytes?: number;
  /** Replaces the mode's reply (still called for !DISCONNECT, see `handleDisconnect`). */
  reply?: ReplyPolicy;
  /** Reply to `!DISCONNECT` then FIN, as PROTOCOL.md says (default true). */
  handleDisconnect?: boolean;
  /** Called for each connection right after accept (e.g. to send SERVER_FULL). */
  onConnection?: (conn: FakeConnection) => void;
}

export interface FakeServer {
  readonly port: number;
  readonly connections: FakeConnection[];
  /** Resolves with the next connection accepted (or the first if one is already there and not taken). */
  nextConnection(): Promise<FakeConnection>;
  close(): Promise<void>;
}

const ACK_BYTES = Buffer.from(ACK_TEXT);

/** Replies to each message by its payload: `script[payload]` (a reply, or what to do instead), else an ack. */
export function scripted(script: Record<string, string | ((conn: FakeConnection) => void)>): ReplyPolicy {
  return (conn, payload) => {
    const entry = script[payload.toString()];
    if (typeof entry === 'function') entry(conn);
    else conn.reply(entry ?? ACK_BYTES);
  };
}

export function replyByMode(mode: FakeMode): ReplyPolicy {
  return (conn, payload) => {
    if (mode === 'ack') conn.reply(ACK_BYTES);
    else if (mode === 'echo') conn.reply(payload);
    else if (mode === 'raw-ack') conn.socket.write(ACK_BYTES);
  };
}

/** Starts on 127.0.0.1, port 0; everything is torn down after the test (cleanup registered first). */
export async function startFakeServer(t: TestContext, options: FakeServerOptions = {}): Promise<FakeServer> {
  const headerBytes = options.headerBytes ?? DEFAULT_HEADER_BYTES;
  const mode = options.mode ?? 'ack';
  const reply = options.reply ?? replyByMode(mode);
  const handleDisconnect = options.handleDisconnect ?? true;
  const connections: FakeConnection[] = [];
  let taken = 0;
  const waiters: Array<() => void> = [];

  const server = net.createServer({ noDelay: true }, (socket) => {
    const conn = new FakeConnection(socket, headerBytes);
    connections.push(conn);
    const decoder = new FrameDecoder(
      { headerBytes, maxMessageBytes: 2 ** 31 - 1 },
      (view) => {
        const payload = Buffer.from(view);
        const index = conn.record(payload);
        const isDisconnect = handleDisconnect && payload.toString('latin1') === DISCONNECT_MESSAGE;
        if (isDisconnect) decoder.stop();
        reply(conn, payload, index);
        if (isDisconnect && !socket.destroyed) socket.end();
      },
      (err) => conn.replyError(err),
    );
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
    options.onConnection?.(conn);
    for (const wake of waiters.splice(0)) wake();
  });
  t.after(async () => {
    for (const conn of connections) conn.socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');

  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    async nextConnection() {
      while (connections.length <= taken) await new Promise<void>((resolve) => waiters.push(resolve));
      return connections[taken++]!;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** connect() to the fake server; destroyed after the test whatever happens. */
export async function openClient(
  t: TestContext,
  port: number,
  options: Omit<ClientOptions, 'port'> = {},
): Promise<Client> {
  let client: Client | undefined;
  t.after(() => client?.destroy());
  client = await connect({ port, ...options });
  return client;
}
