/**
 * A soak thread: its connections run closed loop (one message in flight each,
 * the tutorial's send-then-wait), and each leaves after a random lifetime and
 * comes straight back: half of them say !DISCONNECT and wait for the server's
 * FIN, half close abruptly. A connection leaves only with nothing in flight, so
 * every message it sent has its reply and the server's count must equal the
 * clients' exactly. Reads go into the thread's one buffer (onread), as in the
 * load tester.
 */
import type net from 'node:net';
import {
  ACK_TEXT,
  ConnectError,
  DISCONNECT_MESSAGE,
  encodeFrame,
  FrameDecoder,
  type HandoffError,
  parseErrorPayload,
} from '../../protocol/index.ts';
import { createLatencyHistogram, encodeHistogram } from '../shared/latency.ts';
import { connectReading, serveOrders, settleAll } from '../load/thread-kit.ts';
import { Random } from '../shared/random.ts';
import type { FromSoakThread, SoakSample, SoakSetup, ToSoakThread } from './messages.ts';

const READ_BUFFER_BYTES = 256 * 1024;
const ACK = Buffer.from(ACK_TEXT, 'utf8');

const readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
let setup: SoakSetup;
let random: Random;
let message: Buffer;
let disconnectFrame: Buffer;
let interval = createLatencyHistogram(32);
let conns: Conn[] = [];
let stopping = false;
let onQuiet: (() => void) | null = null;
const totals = { sent: 0, acked: 0, disconnects: 0, aborts: 0 };
const errorKinds: Record<string, number> = {};
let firstError = '';

function countError(code: string, text: string): void {
  errorKinds[code] = (errorKinds[code] ?? 0) + 1;
  if (!firstError) firstError = `${code}: ${text}`;
}

/** Mean lifetime `m` seconds, exponential: most leave soon, a few stay long. */
function lifetimeMs(): number {
  return -Math.log(1 - random.next() / 4294967296) * setup.meanLifetimeS * 1000;
}

class Conn {
  readonly socket: net.Socket;
  readonly decoder: FrameDecoder;
  readonly slot: number;
  readonly leaveAt = performance.now() + lifetimeMs();
  inflight = false;
  sentAt = 0;
  /** Set once this connection leaves: its close is expected. */
  leaving: 'no' | 'disconnect' | 'abort' = 'no';
  open = false;
  /** The first connect of the run reports to the start phase once; a reconnect counts its failure as an error. */
  readonly #settle: (err?: HandoffError) => void;

  constructor(slot: number, onSettled?: (err?: HandoffError) => void) {
    this.slot = slot;
    let settled = false;
    this.#settle = (err) => {
      if (settled) return;
      settled = true;
      if (onSettled) onSettled(err);
      else if (err) countError(err.code, err.message);
    };
    this.decoder = new FrameDecoder(
      { headerBytes: setup.headerBytes, maxMessageBytes: 2 ** 31 - 1 },
      (payload) => this.#onReply(payload),
      (err) => countError(err.code, err.message),
    );
    this.socket = connectReading(setup.host, setup.port, readBuffer, (n) => {
      this.decoder.push(readBuffer, n);
      return true;
    });
    this.socket.setTimeout(setup.connectTimeoutMs, () => {
      if (this.open) return;
      this.socket.destroy();
    });
    this.socket.once('connect', () => {
      this.open = true;
      this.socket.setTimeout(0);
      this.#settle();
      this.#send();
    });
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      if (this.leaving === 'abort') return;
      if (!this.open) this.#settle(new ConnectError(`${err.code ?? ''} ${err.message}`.trim()));
      else countError(err.code ?? 'ERR_SOCKET', err.message);
    });
    this.socket.on('close', () => this.#onClose());
  }

  #send(): void {
    this.inflight = true;
    this.sentAt = performance.now();
    totals.sent++;
    this.socket.write(this.leaving === 'disconnect' ? disconnectFrame : message);
  }

  #onReply(payload: Buffer): void {
    if (!this.inflight) countError('DUPLICATE', 'a reply with no message in flight');
    this.inflight = false;
    totals.acked++;
    interval.recordValue(Math.max(1, Math.round((performance.now() - this.sentAt) * 1e6)));
    if (!payload.equals(ACK)) {
      const err = parseErrorPayload(payload);
      countError(err?.code ?? 'UNEXPECTED_REPLY', err?.text ?? payload.subarray(0, 60).toString('latin1'));
    }
    if (this.leaving === 'disconnect') return; // the server's FIN follows
    if (stopping) {
      checkQuiet();
      return;
    }
    if (performance.now() < this.leaveAt) {
      this.#send();
    } else if (random.chance(0.5)) {
      this.leaving = 'disconnect';
      this.#send();
    } else {
      this.leaving = 'abort';
      totals.aborts++;
      this.socket.destroy();
    }
  }

  #onClose(): void {
    if (!this.open) {
      this.#settle(new ConnectError('closed before it connected'));
    } else if (this.leaving === 'disconnect' && !this.inflight) {
      totals.disconnects++;
    } else if (this.leaving !== 'abort' && !stopping) {
      countError(
        'ERR_CONNECTION_CLOSED',
        `the server closed a connection${this.inflight ? ' with a message in flight' : ''}`,
      );
    }
    if (stopping) {
      checkQuiet();
      return;
    }
    // Straight back: the thread keeps its number of connections.
    conns[this.slot] = new Conn(this.slot);
  }
}

function checkQuiet(): void {
  if (onQuiet && conns.every((c) => !c.inflight || c.socket.destroyed)) onQuiet();
}

function sample(): SoakSample {
  const histogram = encodeHistogram(interval);
  interval = createLatencyHistogram(32);
  return {
    histogram,
    ...totals,
    errorKinds: { ...errorKinds },
    firstError,
    open: conns.filter((c) => c.open && !c.socket.destroyed).length,
  };
}

serveOrders<ToSoakThread, FromSoakThread>({
  async start({ setup: s }) {
    setup = s;
    random = new Random(s.seed);
    message = encodeFrame(Buffer.alloc(s.sizeBytes, 0x78), s.headerBytes);
    disconnectFrame = encodeFrame(Buffer.from(DISCONNECT_MESSAGE, 'utf8'), s.headerBytes);
    conns = new Array<Conn>(s.connections);
    const settled = await settleAll(
      s.connections,
      s.connectTimeoutMs + 1000,
      'no connection within the deadline',
      () => {
        for (const c of conns) if (c && !c.open) c.socket.destroy();
      },
      (settle) => {
        for (let i = 0; i < s.connections; i++) {
          conns[i] = new Conn(i, settle);
        }
      },
    );
    return { type: 'started', failed: settled.failed, failedKinds: settled.failedKinds, error: settled.error };
  },
  sample: () => ({ type: 'sample', ...sample() }),
  async stop({ timeoutMs }) {
    stopping = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      onQuiet = () => {
        clearTimeout(timer);
        resolve();
      };
      checkQuiet();
    });
    onQuiet = null;
    const unanswered = conns.filter((c) => c.inflight && !c.socket.destroyed).length;
    const final = sample();
    for (const c of conns) {
      c.leaving = 'abort';
      c.socket.destroy();
    }
    return { type: 'stopped', unanswered, ...final };
  },
  exit: () => {
    setImmediate(() => process.exit(0));
    return { type: 'exited' };
  },
});
