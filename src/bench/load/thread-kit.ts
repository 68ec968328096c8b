/**
 * What every load thread (worker.ts for ack/echo, chat/worker.ts) does alike:
 * answer the orchestrator's orders in turn, count errors by the catalogue's
 * code, hear once from each connection in a phase bounded by one deadline, and
 * close every connection.
 */
import net from 'node:net';
import tls from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';
import { ConnectTimeoutError, type HandoffError, ProtocolError } from '../../protocol/index.ts';
import { Control, PHASE } from './counters.ts';

/** This thread's slot of the pool's live counters (`fields` of them) and the phase word (pool.ts's workerData). */
export function threadShared(fields: number): { counters: Float64Array; control: Control } {
  const init = workerData as { index: number; counters: SharedArrayBuffer; control: SharedArrayBuffer };
  return {
    counters: new Float64Array(init.counters, init.index * fields * Float64Array.BYTES_PER_ELEMENT, fields),
    control: new Control(init.control),
  };
}

/**
 * This thread's own CPU over the measured window (process.threadCpuUsage: this
 * thread alone, not the process), read when the thread first sees MEASURE and
 * then DRAIN. Seen lazily, at the thread's next event after the orchestrator
 * moves the phase: a thread that has no event meanwhile spends no CPU either,
 * so the reading is the window's. A thread that never saw MEASURE spent 0.
 */
export class WindowCpu {
  #start = -1;
  #end = -1;

  reset(): void {
    this.#start = -1;
    this.#end = -1;
  }

  /** Called with each phase change the thread sees (not per message: a system call). */
  see(phase: number): void {
    if (phase >= PHASE.MEASURE && this.#start < 0) this.#start = threadCpuNow();
    if (phase === PHASE.DRAIN && this.#end < 0) this.#end = threadCpuNow();
  }

  /** CPU seconds between the two, 0 until both were seen. */
  seconds(): number {
    return this.#start < 0 || this.#end < 0 ? 0 : this.#end - this.#start;
  }
}

function threadCpuNow(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1e6;
}

/** One handler per kind of order (its `type`). */
export type OrderHandlers<To extends { type: string }, From> = {
  [T in To['type']]: (order: Extract<To, { type: T }>) => From | Promise<From>;
};

/** Answers each order from the orchestrator with what its handler returns, in turn. */
export function serveOrders<To extends { type: string }, From>(handlers: OrderHandlers<To, From>): void {
  const port = parentPort!;
  port.on('message', async (order: To) => {
    const handle = handlers[order.type as To['type']] as (order: To) => From | Promise<From>;
    port.postMessage(await handle(order));
  });
}

/** `CODE: message` (a ProtocolError's message already starts with its code). */
function withCode(err: HandoffError): string {
  return err instanceof ProtocolError ? err.message : `${err.code}: ${err.message}`;
}

/** Errors of one measurement by the catalogue's code (ERR_* and the codes of `!ERROR` frames). */
export class ErrorTally {
  readonly kinds: Record<string, number> = {};
  first = '';
  readonly #counters: Float64Array;
  readonly #field: number;

  /** Each error also adds one to `counters[field]` (the live count the orchestrator reads). */
  constructor(counters: Float64Array, field: number) {
    this.#counters = counters;
    this.#field = field;
  }

  count(err: HandoffError): void {
    this.kinds[err.code] = (this.kinds[err.code] ?? 0) + 1;
    this.#counters[this.#field]! += 1;
    if (!this.first) this.first = withCode(err);
  }

  reset(): void {
    for (const key of Object.keys(this.kinds)) delete this.kinds[key];
    this.first = '';
  }
}

/** How a connect phase ended for one thread: the connections given up on, by code (ERR_CONNECT, ERR_CONNECT_TIMEOUT, ...). */
export interface SettledCounts {
  failed: number;
  failedKinds: Record<string, number>;
  /** The first failure, `CODE: message`. */
  error: string;
}

export interface Settled extends SettledCounts {
  ms: number;
}

/**
 * A phase that hears once from each of `count` connections (it is up, or given
 * up on), bounded by one deadline: at `deadlineMs`, `giveUp` is told to give up
 * every connection still pending with a ConnectTimeoutError saying `late`, so
 * the phase always ends, also against a target that drops SYNs.
 */
export function settleAll(
  count: number,
  deadlineMs: number,
  late: string,
  giveUp: (err: ConnectTimeoutError) => void,
  begin: (settle: (err?: HandoffError) => void) => void,
): Promise<Settled> {
  const began = performance.now();
  return new Promise((resolve) => {
    let pending = count;
    const out: Settled = { failed: 0, failedKinds: {}, error: '', ms: 0 };
    const settle = (err?: HandoffError) => {
      if (err) {
        out.failed++;
        out.failedKinds[err.code] = (out.failedKinds[err.code] ?? 0) + 1;
        if (!out.error) out.error = withCode(err);
      }
      if (--pending > 0) return;
      clearTimeout(deadline);
      out.ms = performance.now() - began;
      resolve(out);
    };
    const deadline = setTimeout(() => giveUp(new ConnectTimeoutError(late)), deadlineMs);
    begin(settle);
    if (count === 0) {
      pending = 1;
      settle();
    }
  });
}

/** Destroys every connection (marking it `closing`, so its close is no error) and resolves once all are closed. */
export function closeAll(conns: ReadonlyArray<{ closing: boolean; readonly socket: net.Socket }>): Promise<void> {
  return new Promise((resolve) => {
    let pending = 0;
    for (const c of conns) {
      c.closing = true;
      if (c.socket.destroyed) continue;
      pending++;
      c.socket.once('close', () => {
        if (--pending === 0) resolve();
      });
      c.socket.destroy();
    }
    if (pending === 0) resolve();
  });
}

/**
 * A connection that reads with `onread` into `buffer` (the thread's one reused
 * read buffer: no allocation per read, no stream machinery), Nagle off.
 */
export function connectReading(
  host: string,
  port: number,
  buffer: Buffer,
  onRead: (n: number) => boolean,
  secure: { ca: string | undefined } | null = null,
): net.Socket {
  if (secure === null) {
    return net.connect({ host, port, noDelay: true, onread: { buffer, callback: onRead } } as net.NetConnectOpts);
  }
  // TLS cannot read through `onread`: each decrypted chunk is copied into the same buffer, so
  // that the connection's read code is the one plain TCP uses. ('connect' comes before the
  // handshake: what is written then is sent once it is done.)
  const socket = tls.connect({ host, port, ca: secure.ca, ...(net.isIP(host) === 0 ? { servername: host } : {}) });
  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => {
    for (let at = 0; at < chunk.length; at += buffer.length) {
      const n = chunk.copy(buffer, 0, at, Math.min(chunk.length, at + buffer.length));
      if (onRead(n) === false) socket.pause();
    }
  });
  return socket;
}
