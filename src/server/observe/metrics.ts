/**
 * `--metrics-port`: a Prometheus endpoint (`GET /metrics`, text format, via
 * prom-client) on the main thread. Every figure is read at scrape time from
 * the counters the threads already keep in shared memory (counters.ts), in
 * prom-client collect() callbacks: a scrape asks no worker anything and adds
 * nothing to the per-message path.
 *
 * The endpoint is hardened (METRICS_LIMITS) so that slow, half-sent or flooding
 * scrapers cost the data path little: requests have short deadlines, connections
 * and keep-alive are bounded, prom-client's process figures (the costly part to
 * render) are cached for a second while the handoff_* figures stay exact, and
 * responses are paced: past a few a second, each waits its turn.
 */
import http from 'node:http';
import type net from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { BUS_DROP_REASONS, REFUSAL_REASONS, type ServerCounters, type ThreadSnapshot } from './counters.ts';
import type { ServerLog } from './log.ts';
import type { Mode } from '../options.ts';

const METRICS_PATH = '/metrics';

/** The bounds of the metrics endpoint (docs/server.md, "Metrics"). */
export const METRICS_LIMITS = Object.freeze({
  /** Connections open at once; one more is closed as soon as it is accepted. */
  maxConnections: 16,
  /** A request's headers must be in within this... */
  headersTimeoutMs: 3_000,
  /** ...and the whole request within this. */
  requestTimeoutMs: 5_000,
  /** How often Node checks the two deadlines above (its default, 30 s, would let them run far over). */
  checkEveryMs: 1_000,
  /** An idle keep-alive connection is closed after this... */
  keepAliveTimeoutMs: 5_000,
  /** ...and any connection after this many requests. */
  maxRequestsPerSocket: 100,
  /** prom-client's process figures (process_*, nodejs_*) are rendered at most this often. */
  processCacheMs: 1_000,
  /** Responses a second, all connections together; a request beyond waits for its turn (none is refused). */
  responsesPerSecond: 10,
});

export interface MetricsEndpoint {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface MetricsContext {
  host: string;
  port: number;
  counters: ServerCounters;
  mode: Mode;
  log: ServerLog;
}

/** True for an address only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

type Reading = number | Array<[labels: Record<string, string>, value: number]>;

type Put = (labels: Record<string, string>, value: number) => void;

/** Replaces a metric's values with a reading (unlabelled: one number; labelled: one value per label set). */
function fill(reset: () => void, put: Put, reading: Reading): void {
  reset();
  if (typeof reading === 'number') put({}, reading);
  else for (const [labels, value] of reading) put(labels, value);
}

/**
 * A metric whose value is read at scrape time. prom-client counters only go up: they are
 * reset, then given the reading.
 */
function readMetric(
  kind: 'counter' | 'gauge',
  register: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => Reading,
): void {
  const config = { name, help, labelNames, registers: [register] };
  if (kind === 'counter') {
    new Counter({
      ...config,
      collect() {
        fill(
          () => this.reset(),
          (l, v) => this.inc(l, v),
          read(),
        );
      },
    });
  } else {
    new Gauge({
      ...config,
      collect() {
        fill(
          () => this.reset(),
          (l, v) => this.set(l, v),
          read(),
        );
      },
    });
  }
}

type MetricArgs = [register: Registry, name: string, help: string, labelNames: string[], read: () => Reading];
const readCounter = (...args: MetricArgs) => readMetric('counter', ...args);
const readGauge = (...args: MetricArgs) => readMetric('gauge', ...args);

/** prom-client's process defaults (CPU, memory, heap, GC, the main thread's loop lag). */
function processRegistry(): Registry {
  const register = new Registry();
  collectDefaultMetrics({ register });
  return register;
}

/** The registry of one server's own metrics (handoff_*), read fresh at every scrape. */
function serverRegistry(counters: ServerCounters, mode: Mode): Registry {
  const register = new Registry();
  // The live threads, labelled by thread id (a dead thread's series go; its figures stay in the totals).
  const perWorker = (field: (t: ThreadSnapshot) => number) => () =>
    counters.snapshots().map((t): [Record<string, string>, number] => [{ worker: String(t.threadId) }, field(t)]);

  readGauge(register, 'handoff_workers', 'Threads serving connections', [], () => counters.liveThreads().length);
  readGauge(register, 'handoff_connections_active', 'Open connections, all threads', [], () => counters.active);
  readCounter(register, 'handoff_connections_total', 'Connections accepted and served', [], () => {
    return counters.sum().totalConnections;
  });
  readCounter(register, 'handoff_messages_total', 'Complete frames received (each is answered)', [], () => {
    return counters.sum().messages;
  });
  readCounter(register, 'handoff_bytes_received_total', 'Bytes read from clients', [], () => counters.sum().bytesIn);
  readCounter(register, 'handoff_bytes_sent_total', 'Bytes written to clients', [], () => counters.sum().bytesOut);
  if (mode === 'chat') {
    readCounter(register, 'handoff_chat_deliveries_total', 'Chat deliveries written', [], () => {
      return counters.sum().deliveries;
    });
    readCounter(
      register,
      'handoff_bus_dropped_total',
      'Chat bus messages and batches from other servers dropped, by reason',
      ['reason'],
      () => {
        const dropped = counters.busDroppedByReason();
        return BUS_DROP_REASONS.map((reason) => [{ reason }, dropped[reason]]);
      },
    );
  }
  readCounter(register, 'handoff_protocol_errors_total', '!ERROR frames sent to connections, by code', ['code'], () =>
    Object.entries(counters.errorsByCode()).map(([code, n]) => [{ code }, n]),
  );
  readCounter(
    register,
    'handoff_session_faults_total',
    'Connections closed because our own code threw while serving them (each logged as [ERROR] with its cause)',
    [],
    () => counters.sum().sessionFaults,
  );
  readCounter(register, 'handoff_refused_total', 'Connections refused at accept, by reason', ['reason'], () => {
    const refused = counters.refusedByReason();
    return REFUSAL_REASONS.map((reason) => [{ reason }, refused[reason]]);
  });
  const worker = ['worker'];
  readGauge(
    register,
    'handoff_worker_connections_active',
    'Open connections per thread',
    worker,
    perWorker((t) => t.activeConnections),
  );
  readCounter(
    register,
    'handoff_worker_messages_total',
    'Frames received per live thread',
    worker,
    perWorker((t) => t.messages),
  );
  const lag = (quantile: string, field: (t: ThreadSnapshot) => number) =>
    readGauge(
      register,
      `handoff_worker_event_loop_lag_${quantile}_seconds`,
      `Event-loop delay per thread over its last second, ${quantile}`,
      worker,
      perWorker(field),
    );
  lag('p50', (t) => t.loopLag.p50);
  lag('p99', (t) => t.loopLag.p99);
  lag('max', (t) => t.loopLag.max);
  return register;
}

/** A text rendered at most once every `ms` (a render in flight is shared). */
class CachedText {
  readonly #ms: number;
  readonly #render: () => Promise<string>;
  #text: Promise<string> | null = null;
  #renderedAt = 0;

  constructor(ms: number, render: () => Promise<string>) {
    this.#ms = ms;
    this.#render = render;
  }

  get(): Promise<string> {
    const now = performance.now();
    if (this.#text === null || now - this.#renderedAt >= this.#ms) {
      this.#renderedAt = now;
      const text = this.#render();
      this.#text = text;
      text.catch(() => {
        if (this.#text === text) this.#text = null; // a failed render is not kept
      });
    }
    return this.#text;
  }
}

/** Runs callbacks at most `perSecond` a second, in order: one beyond waits for its turn. */
class Pacer {
  readonly #gapMs: number;
  #nextAt = 0;

  constructor(perSecond: number) {
    this.#gapMs = 1000 / perSecond;
  }

  run(fn: () => void): void {
    const now = performance.now();
    const at = Math.max(now, this.#nextAt);
    this.#nextAt = at + this.#gapMs;
    if (at <= now) fn();
    else setTimeout(fn, at - now).unref();
  }
}

/** Serves `/metrics` on host:port (0 picks a free port); says where in one log line. */
export async function startMetrics(context: MetricsContext): Promise<MetricsEndpoint> {
  const limits = METRICS_LIMITS;
  const register = serverRegistry(context.counters, context.mode);
  const processFigures = processRegistry();
  const processText = new CachedText(limits.processCacheMs, () => processFigures.metrics());
  const pacer = new Pacer(limits.responsesPerSecond);
  const respond = (request: http.IncomingMessage, response: http.ServerResponse) => {
    if (request.socket.destroyed) return; // gone while it waited for its turn
    const path = (request.url ?? '').split('?')[0];
    if (path !== METRICS_PATH) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: metrics are at ${METRICS_PATH}\n`);
      return;
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('GET only\n');
      return;
    }
    Promise.all([register.metrics(), processText.get()]).then(
      ([own, process]) => response.writeHead(200, { 'content-type': register.contentType }).end(own + process),
      (err: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
    );
  };
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: limits.checkEveryMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
    },
    (request, response) => pacer.run(() => respond(request, response)),
  );
  server.maxConnections = limits.maxConnections;
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: context.host, port: context.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { address, port } = server.address() as net.AddressInfo;
  const where = address.includes(':') ? `[${address}]` : address;
  context.log.essential('metrics', `[METRICS] Prometheus metrics on http://${where}:${port}${METRICS_PATH}`, {
    host: address,
    port,
  });
  if (!isLoopback(context.host)) {
    context.log.essential(
      'metrics-exposed',
      `[WARNING] metrics bound to ${context.host}: any machine that can reach this one can read them`,
      { host: context.host },
    );
  }
  return {
    host: address,
    port,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
