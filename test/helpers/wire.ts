// Raw-socket test utilities: a client that speaks the wire protocol byte for byte
// (no src/client involved), so server tests are black-box.
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { after, before, describe } from 'node:test';
import {
  ACK_TEXT,
  DEFAULT_HEADER_BYTES,
  encodeFrame,
  FrameDecoder,
  parseErrorPayload,
  type ProtocolError,
} from '../../src/protocol/index.ts';
import type { ServerOptions, Strategy } from '../../src/server/options.ts';
import { type RunningServer, startServer } from '../../src/server/server.ts';
import { testCertificate, tlsServerOptions } from './tls.ts';

/** How a connection ended, seen from the client. */
export type CloseKind = 'fin' | 'reset' | 'local';

export interface WireClientOptions {
  headerBytes?: number;
  /** Collect raw bytes instead of decoding frames (for `ack: 'raw'`). */
  raw?: boolean;
  /** Keep decoded frames in `frames` (default true). Turn off for big volumes and use onFrame. */
  keepFrames?: boolean;
  /** Called for every decoded frame (payload copied). */
  onFrame?: (payload: Buffer) => void;
  /** Speak TLS, trusting `ca` (PEM). connect() sets it for a server started with TLS. */
  tls?: { ca: string };
  /** Bytes sent before anything else (a PROXY header), before the TLS handshake too. */
  prefix?: Buffer;
}

export interface ReadResult {
  frames: Buffer[];
  /** How the server ended the connection. */
  closedBy: CloseKind;
}

const DEFAULT_WAIT_MS = 10_000;

/**
 * A raw TCP client. Frames are decoded with the project's streaming FrameDecoder
 * (limit 2^31-1 so that the decoder never judges the server's replies).
 */
export class WireClient {
  readonly socket: net.Socket;
  readonly headerBytes: number;
  /** Decoded frames, in arrival order (copies). */
  readonly frames: Buffer[] = [];
  /** Number of frames decoded so far (also when keepFrames is false). */
  frameCount = 0;
  /** Raw bytes received so far (only with `raw: true`). */
  rawBytes: Buffer = Buffer.alloc(0);
  bytesReceived = 0;
  /** Set once the connection is over. */
  closedBy: CloseKind | null = null;
  /** The socket error that ended it, if any. */
  error: Error | null = null;
  /** A decode error on the server's bytes: the server sent a bad frame. */
  decodeError: ProtocolError | null = null;
  #gotFin = false;
  #waiters = new Set<() => void>();
  #closed: Promise<void>;

  private constructor(socket: net.Socket, options: WireClientOptions) {
    this.socket = socket;
    this.headerBytes = options.headerBytes ?? DEFAULT_HEADER_BYTES;
    const keep = options.keepFrames ?? true;
    const onFrame = options.onFrame;
    const decoder = new FrameDecoder(
      { headerBytes: this.headerBytes, maxMessageBytes: 2 ** 31 - 1 },
      (payload) => {
        this.frameCount++;
        if (keep || onFrame) {
          const copy = Buffer.from(payload);
          if (keep) this.frames.push(copy);
          onFrame?.(copy);
        }
      },
      (err) => {
        this.decodeError = err;
      },
    );
    socket.on('data', (chunk: Buffer) => {
      this.bytesReceived += chunk.length;
      if (options.raw) this.rawBytes = Buffer.concat([this.rawBytes, chunk]);
      else decoder.push(chunk);
      this.#wake();
    });
    socket.on('end', () => {
      this.#gotFin = true;
      this.#wake();
    });
    socket.on('error', (err) => {
      this.error ??= err;
    });
    this.#closed = new Promise((resolve) => {
      socket.once('close', () => {
        if (this.#gotFin) this.closedBy = 'fin';
        else if (this.error && (this.error as NodeJS.ErrnoException).code === 'ECONNRESET') this.closedBy = 'reset';
        else if (this.error) this.closedBy = 'reset';
        else this.closedBy = 'local';
        this.#wake();
        resolve();
      });
    });
  }

  static async connect(port: number, host = '127.0.0.1', options: WireClientOptions = {}): Promise<WireClient> {
    let socket = net.connect({ port, host, noDelay: true });
    if (options.prefix || options.tls) await once(socket, 'connect');
    if (options.prefix) socket.write(options.prefix);
    if (options.tls) {
      socket = tls.connect({ socket, ca: options.tls.ca, servername: 'localhost' });
      const client = new WireClient(socket, options);
      await once(socket, 'secureConnect');
      return client;
    }
    const client = new WireClient(socket, options);
    if (!options.prefix) await once(socket, 'connect');
    return client;
  }

  /** True once the server's FIN arrived (the socket may still be closing). */
  get gotFin(): boolean {
    return this.#gotFin;
  }

  get closed(): boolean {
    return this.closedBy !== null;
  }

  /** Sends one frame; resolves when the bytes are handed to the kernel. */
  send(payload: Uint8Array | string, headerBytes = this.headerBytes): Promise<void> {
    const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    return this.sendRaw(encodeFrame(bytes, headerBytes));
  }

  /** Sends bytes as they are. */
  sendRaw(bytes: Uint8Array | string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.write(bytes, (err) => (err ? reject(err) : resolve()));
    });
  }

  /** Stops reading (TCP backpressure reaches the server). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  /** Resolves once `predicate()` holds; rejects on timeout or when the connection ended first. */
  async until(predicate: () => boolean, what: string, timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    if (predicate()) return;
    await new Promise<void>((resolve, reject) => {
      const check = (): void => {
        if (predicate()) done(null);
        else if (this.closedBy !== null)
          done(new Error(`connection ended (${this.closedBy}) before ${what}; got ${this.describe()}`));
      };
      const timer = setTimeout(
        () => done(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${this.describe()}`)),
        timeoutMs,
      );
      const done = (err: Error | null): void => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        if (err) reject(err);
        else resolve();
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** The next `n` frames not yet taken by readFrames (frames are consumed in order). */
  #taken = 0;
  async readFrames(n: number, timeoutMs = DEFAULT_WAIT_MS): Promise<Buffer[]> {
    const target = this.#taken + n;
    await this.until(() => this.frames.length >= target, `${n} frame(s)`, timeoutMs);
    const out = this.frames.slice(this.#taken, target);
    this.#taken = target;
    return out;
  }

  /** One frame, as a string. */
  async readText(timeoutMs = DEFAULT_WAIT_MS): Promise<string> {
    const [frame] = await this.readFrames(1, timeoutMs);
    return frame!.toString('utf8');
  }

  /** Raw bytes until at least `n` have arrived (for `ack: 'raw'`). */
  async readRawBytes(n: number, timeoutMs = DEFAULT_WAIT_MS): Promise<Buffer> {
    await this.until(() => this.rawBytes.length >= n, `${n} raw byte(s)`, timeoutMs);
    return this.rawBytes;
  }

  /** Waits until the connection is closed (by either side); rejects after `timeoutMs`. */
  async waitClose(timeoutMs = DEFAULT_WAIT_MS): Promise<CloseKind> {
    await this.until(() => this.closedBy !== null, 'the connection to close', timeoutMs);
    await this.#closed;
    return this.closedBy!;
  }

  /** Everything the server sends until it closes the connection: all frames not yet taken + how it closed. */
  async readUntilClose(timeoutMs = DEFAULT_WAIT_MS): Promise<ReadResult> {
    const closedBy = await this.waitClose(timeoutMs);
    const frames = this.frames.slice(this.#taken);
    this.#taken = this.frames.length;
    return { frames, closedBy };
  }

  /** True if nothing more arrives and the connection stays open for `ms`. */
  async staysQuiet(ms: number): Promise<boolean> {
    const frames = this.frames.length;
    const bytes = this.bytesReceived;
    await new Promise((r) => setTimeout(r, ms));
    return this.frames.length === frames && this.bytesReceived === bytes && this.closedBy === null;
  }

  /** Closes our side cleanly (FIN) and waits for the close. */
  async end(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    if (this.closedBy !== null) return;
    this.socket.end();
    await this.waitClose(timeoutMs).catch(() => this.socket.destroy());
  }

  destroy(): void {
    this.socket.destroy();
  }

  describe(): string {
    const texts = this.frames.slice(-3).map((f) => JSON.stringify(f.subarray(0, 80).toString('utf8')));
    return `${this.frames.length} frame(s) [last: ${texts.join(', ')}], ${this.bytesReceived} byte(s), closed: ${this.closedBy ?? 'no'}, fin: ${this.#gotFin}${this.error ? `, error: ${(this.error as NodeJS.ErrnoException).code ?? this.error.message}` : ''}`;
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/** Starts a server on 127.0.0.1:0 (silent) and closes it after the test. Cleanup is registered first. */
export async function withServer(t: TestContext, options: ServerOptions = {}): Promise<RunningServer> {
  let server: RunningServer | undefined;
  let closing: Promise<void> | undefined;
  t.after(async () => {
    if (server) await (closing ??= server.close());
  });
  const started = await startServer({ host: '127.0.0.1', port: 0, silent: true, ...options });
  // close() may be called by the test too: make the cleanup's call harmless.
  server = {
    host: started.host,
    port: started.port,
    metrics: started.metrics,
    options: started.options,
    stats: () => started.stats(),
    close: () => (closing ??= started.close()),
  };
  return server;
}

/**
 * One server for all the tests of the enclosing `describe` (started in `before`,
 * closed in `after`): for many small cases against the same configuration.
 */
export function sharedServer(options: ServerOptions = {}): () => RunningServer {
  let server: RunningServer | undefined;
  after(async () => {
    await server?.close();
  });
  before(async () => {
    server = await startServer({ host: '127.0.0.1', port: 0, silent: true, ...options });
  });
  return () => {
    if (!server) throw new Error('shared server not started');
    return server;
  };
}

/** A server reached through connect(): a RunningServer started with TLS is spoken to in TLS. */
type Reachable = { host: string; port: number; options?: { tlsCert: string } };

function speaksTls(server: Reachable, options: WireClientOptions): WireClientOptions {
  if (options.tls || !server.options || server.options.tlsCert === '') return options;
  return { ...options, tls: { ca: testCertificate().ca } };
}

/** Connects a WireClient to `server`; destroyed after the test. */
export async function connect(t: TestContext, server: Reachable, options: WireClientOptions = {}): Promise<WireClient> {
  let client: WireClient | undefined;
  t.after(() => client?.destroy());
  client = await WireClient.connect(server.port, server.host, speaksTls(server, options));
  return client;
}

/** Many connections at once (bounded concurrency of connects). */
export async function connectMany(
  t: TestContext,
  server: Reachable,
  count: number,
  given: WireClientOptions = {},
): Promise<WireClient[]> {
  const options = speaksTls(server, given);
  const clients: WireClient[] = [];
  t.after(() => {
    for (const c of clients) c.destroy();
  });
  const batch = 100;
  for (let i = 0; i < count; i += batch) {
    const made = await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, () => WireClient.connect(server.port, server.host, options)),
    );
    clients.push(...made);
  }
  return clients;
}

/** `n` connections, each of which has had one message acked (so each is known to be served). */
export async function answeredClients(
  t: TestContext,
  server: Reachable,
  n: number,
  options: WireClientOptions = {},
): Promise<WireClient[]> {
  const clients: WireClient[] = [];
  for (let i = 0; i < n; i++) {
    const c = await connect(t, server, options);
    await c.send(`hello ${i}`);
    assert.equal(await c.readText(5000), ACK_TEXT, c.describe());
    clients.push(c);
  }
  return clients;
}

/** `!ERROR <CODE> <text>` -> { code, text }, or null for an ordinary payload. */
export function errorOf(payload: Buffer | undefined): { code: string; text: string } | null {
  if (!payload) return null;
  const err = parseErrorPayload(payload);
  return err ? { code: err.code, text: err.text } : null;
}

/**
 * The server's last frame is `!ERROR <code> <non-empty text>` and the server, not this
 * client, ended the connection. Callers assert how many frames came before it.
 */
export function assertEndedWithError(client: WireClient, { frames, closedBy }: ReadResult, code: string): void {
  const err = errorOf(frames.at(-1));
  assert.equal(err?.code, code, `got ${JSON.stringify(frames.at(-1)?.toString())} (${client.describe()})`);
  assert.ok(err.text.trim().length > 0, 'the text after the code is not empty');
  assert.notEqual(closedBy, 'local');
}

/** Polls `predicate` until it holds; rejects after `boundMs` with `what`. */
export async function eventually(predicate: () => boolean, what: string, boundMs = 5000): Promise<void> {
  const deadline = performance.now() + boundMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${boundMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One server configuration of the matrix every behaviour runs against. */
export interface ServerVariant {
  strategy: Strategy;
  workers: number;
  /** e.g. `handoff/2w`. */
  label: string;
  /** Served over TLS (the test certificate). */
  tls?: boolean;
}

/** handoff with 1 and 2 workers, reuseport with 1 and 2 workers, single. */
export const VARIANTS: readonly ServerVariant[] = Object.freeze([
  { strategy: 'handoff', workers: 1, label: 'handoff/1w' },
  { strategy: 'handoff', workers: 2, label: 'handoff/2w' },
  { strategy: 'reuseport', workers: 1, label: 'reuseport/1w' },
  { strategy: 'reuseport', workers: 2, label: 'reuseport/2w' },
  { strategy: 'single', workers: 1, label: 'single' },
]);

/** One per strategy (handoff and reuseport with 2 workers): for the heavier cases. */
export const STRATEGY_VARIANTS: readonly ServerVariant[] = Object.freeze(
  VARIANTS.filter((v) => v.strategy === 'single' || v.workers === 2),
);

/** The same behaviours over TLS: handoff with 2 workers (the TLS read path, after the hand-off). */
export const TLS_VARIANTS: readonly ServerVariant[] = Object.freeze([
  { strategy: 'handoff', workers: 2, label: 'handoff/2w+tls', tls: true },
]);

/** Every variant, plain and TLS: for files whose cases are cheap. */
export const VARIANTS_AND_TLS: readonly ServerVariant[] = Object.freeze([...VARIANTS, ...TLS_VARIANTS]);

/**
 * Declares `body` once per variant, each in its own `describe` titled with the
 * variant. Variants run concurrently with each other (their servers are separate);
 * the tests of one variant run in order unless `concurrency` says otherwise.
 */
export function forEachVariant(
  body: (variant: ServerVariant) => void,
  options: {
    variants?: readonly ServerVariant[];
    concurrency?: boolean | number;
    variantConcurrency?: boolean | number;
  } = {},
): void {
  const variants = options.variants ?? VARIANTS;
  describe('server variants', { concurrency: options.variantConcurrency ?? true }, () => {
    for (const variant of variants) {
      describe(variant.label, { concurrency: options.concurrency ?? false }, () => body(variant));
    }
  });
}

/** The server options of a variant merged with the test's own. */
export function variantOptions(variant: ServerVariant, options: ServerOptions = {}): ServerOptions {
  return {
    strategy: variant.strategy,
    workers: variant.workers,
    ...(variant.tls ? tlsServerOptions() : {}),
    ...options,
  };
}

/** A payload of `size` bytes with a recognisable, position-dependent pattern. */
export function patternPayload(size: number, seed = 0): Buffer {
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) buf[i] = (i * 31 + seed * 7 + (i >>> 8)) & 0xff;
  return buf;
}
