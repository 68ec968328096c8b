import { randomUUID } from 'node:crypto';
import type net from 'node:net';
import { networkInterfaces } from 'node:os';
import { allocateCounters, ServerCounters } from './observe/counters.ts';
import { LINGERING_REFUSALS_PER_THREAD } from './accept/acceptor.ts';
import { budgetWarning, currentBudget } from './accept/descriptors.ts';
import { count, counted, createServerLog, fitLine, megabytes, rate, type ServerLog } from './observe/log.ts';
import { DEFAULT_HEADER_BYTES } from '../protocol/index.ts';
import { METRICS_LIMITS, type MetricsEndpoint, startMetrics } from './observe/metrics.ts';
import { type ResolvedServerOptions, resolveServerOptions, type ServerOptions } from './options.ts';
import { ChatBridge } from './chat/chat-bridge.ts';
import { type Serving, START_STRATEGY } from './accept/strategies.ts';
import { loadTlsMaterial } from './prelude/tls.ts';
import { checkRuntime } from './runtime.ts';

/** Cumulative counters since start; `workers` has one entry per live thread that serves connections. */
export interface ServerStats {
  activeConnections: number;
  /** The connection limit in force: --max-connections, or lower when the descriptor limit allows fewer. */
  maxConnections: number;
  /** Connections accepted and served (refused ones are not counted here). */
  totalConnections: number;
  /** Connections refused with SERVER_FULL. */
  refusedConnections: number;
  /** Complete frames received (each is answered). */
  messages: number;
  /** Chat deliveries written (a message delivered to 10 members counts 10). */
  deliveries: number;
  /** Chat mode: bus messages and batches from other servers dropped (unservable, or their handling threw). */
  busDropped?: number;
  bytesIn: number;
  bytesOut: number;
  workers: Array<{ activeConnections: number; totalConnections: number; messages: number }>;
}

export interface RunningServer {
  readonly host: string;
  readonly port: number;
  /** The metrics endpoint (--metrics-port), null when off. */
  readonly metrics: { host: string; port: number } | null;
  readonly options: ResolvedServerOptions;
  stats(): ServerStats;
  /**
   * Graceful stop: no new connections, SHUTTING_DOWN to each open one, flush, close.
   * Resolves as soon as every connection is closed (at most CLOSE_DEADLINE_MS later).
   */
  close(): Promise<void>;
}

/** Longest close() waits for connections before it tears the threads down. */
const CLOSE_DEADLINE_MS = 4_000;

/** Every address a client on the same network can use, when bound to a wildcard address. */
function reachableAddresses(host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host];
  const out: string[] = [];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (host === '0.0.0.0' && a.family !== 'IPv4') continue;
      out.push(a.address);
    }
  }
  return out;
}

/** A deadline that can be called off, so that nothing keeps the process alive once it is not needed. */
function deadlineAfter(ms: number): { reached: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const reached = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { reached, cancel: () => clearTimeout(timer) };
}

/** The chat bus every thread joins, and the bridge to the other servers on it when --bus is set. */
interface ChatBus {
  chat: { busName: string; bridge: boolean } | null;
  bridge: ChatBridge | null;
}

/**
 * Starts a server and resolves once it accepts connections (strategies in
 * strategies.ts: handoff, the default, reuseport and single).
 */
export async function startServer(input: ServerOptions = {}): Promise<RunningServer> {
  checkRuntime();
  const options = resolveServerOptions(input);
  // A certificate or key that cannot be used stops the start here, before any thread.
  const tls = options.tlsCert === '' ? null : loadTlsMaterial(options.tlsCert, options.tlsKey);
  const log = createServerLog(options);
  const memory = allocateCounters(options.strategy === 'single' ? 1 : options.workers);
  const counters = new ServerCounters(memory);
  counters.limit = options.maxConnections;

  log.essential('starting', '[STARTING] server is starting...');
  const bus = await startChatBus(options, log, counters);
  const { chat, bridge } = bus;
  let serving: Serving;
  try {
    serving = await START_STRATEGY[options.strategy]({
      options,
      log,
      counters,
      memory,
      chat,
      tls,
      onThreadGone: (threadId) => bridge?.onThreadGone(threadId),
    });
  } catch (err) {
    await bridge?.stop();
    throw err;
  }
  const { address } = serving;
  fitDescriptorLimit(counters, options, log);

  const stats = (): ServerStats => serverStats(counters, options);
  logListening(log, options, address, serving.threads);
  const metrics = await startMetricsOrStop(options, log, counters, async () => {
    await serving.stop(Promise.resolve());
    await bridge?.stop();
  });
  const statsTimer = startStatsLine(options, log, stats);
  const close = closeOnce(async () => {
    clearInterval(statsTimer);
    await metrics?.close();
    await stopServing(log, counters, serving, bus);
    logStopped(log, options, stats());
  });

  const metricsAddress = metrics && { host: metrics.host, port: metrics.port };
  return { host: address.address, port: address.port, metrics: metricsAddress, options, stats, close };
}

/** Chat mode's bus; the bridge to the other servers is on it before any thread, so that every thread finds it there. */
async function startChatBus(
  options: ResolvedServerOptions,
  log: ServerLog,
  counters: ServerCounters,
): Promise<ChatBus> {
  if (options.mode !== 'chat') return { chat: null, bridge: null };
  const chat = { busName: `handoff-chat-${process.pid}-${randomUUID()}`, bridge: options.bus !== null };
  const bridge = options.bus
    ? await ChatBridge.start({
        bus: options.bus,
        busName: chat.busName,
        headerBytes: options.headerBytes,
        maxMessageBytes: options.maxMessageBytes,
        log,
        counters,
      })
    : null;
  return { chat, bridge };
}

/** The metrics endpoint when --metrics-port is set; when it cannot start, what started before it is stopped. */
async function startMetricsOrStop(
  options: ResolvedServerOptions,
  log: ServerLog,
  counters: ServerCounters,
  stopStarted: () => Promise<void>,
): Promise<MetricsEndpoint | null> {
  if (options.metricsPort === null) return null;
  try {
    return await startMetrics({
      host: options.metricsHost,
      port: options.metricsPort,
      counters,
      mode: options.mode,
      log,
    });
  } catch (err) {
    await stopStarted();
    throw err;
  }
}

/** A close() that runs `stop` once, however often it is called. */
function closeOnce(stop: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= stop());
}

/** Stops the threads (each open connection gets SHUTTING_DOWN) within CLOSE_DEADLINE_MS, then the bus. */
async function stopServing(log: ServerLog, counters: ServerCounters, serving: Serving, bus: ChatBus): Promise<void> {
  const open = counters.active;
  if (open > 0) {
    // Closing them is the server doing its job: one line, not an error per connection.
    log.info('shutting-down', `[SHUTTING DOWN] closing ${count(open)} open connection${open === 1 ? '' : 's'}`, {
      active: open,
    });
  }
  const deadline = deadlineAfter(CLOSE_DEADLINE_MS);
  try {
    await serving.stop(deadline.reached);
    await bus.bridge?.stop();
  } finally {
    deadline.cancel();
  }
}

function logStopped(log: ServerLog, options: ResolvedServerOptions, final: ServerStats): void {
  const deliveries = options.mode === 'chat' ? `, ${counted(final.deliveries, 'delivery', 'deliveries')}` : '';
  const dropped = final.busDropped ? `, ${counted(final.busDropped, 'bus batch', 'bus batches')} dropped` : '';
  log.essential(
    'stopped',
    `[STOPPED] ${counted(final.totalConnections, 'connection')}, ${counted(final.messages, 'message')} served${deliveries}${dropped}`,
    { ...final },
  );
  log.flush();
}

function serverStats(counters: ServerCounters, options: ResolvedServerOptions): ServerStats {
  const live = counters.threads();
  const sum = counters.sum();
  const dropped = Object.values(counters.busDroppedByReason()).reduce((a, b) => a + b, 0);
  return {
    ...(options.mode === 'chat' ? { busDropped: dropped } : {}),
    activeConnections: counters.active,
    maxConnections: counters.limit,
    totalConnections: sum.totalConnections,
    refusedConnections: counters.refused,
    messages: sum.messages,
    deliveries: sum.deliveries,
    bytesIn: sum.bytesIn,
    bytesOut: sum.bytesOut,
    workers: live.map((t) => ({
      activeConnections: t.activeConnections,
      totalConnections: t.totalConnections,
      messages: t.messages,
    })),
  };
}

/**
 * Lowers the connection limit to what the descriptor limit leaves room for (after
 * start-up, so that every descriptor the server itself holds is counted), in one line.
 */
function fitDescriptorLimit(counters: ServerCounters, options: ResolvedServerOptions, log: ServerLog): void {
  const acceptingThreads = options.strategy === 'reuseport' ? options.workers : 1;
  // Room for refusals in flight, and for the metrics endpoint's connections.
  const metrics = options.metricsPort === null ? 0 : METRICS_LIMITS.maxConnections;
  const budget = currentBudget(options.maxConnections, acceptingThreads * LINGERING_REFUSALS_PER_THREAD + metrics);
  if (budget === null || budget.maxConnections === budget.requested) return;
  counters.limit = budget.maxConnections;
  log.essential('descriptor-limit', budgetWarning(budget), { ...budget });
}

/** Binding a wildcard address: every interface, so every machine that can reach this one. */
function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

function bracketed(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** `TLS`, `PROXY protocol from 127.0.0.0/8,::1` when they are on. */
function transportParts(options: ResolvedServerOptions): string[] {
  const tls = options.tlsCert === '' ? [] : ['TLS'];
  // One part per trusted entry: a long list breaks between entries.
  const [first, ...more] = options.proxyTrusted;
  const proxy = options.proxyProtocol ? [`PROXY protocol from ${first}`, ...more] : [];
  return [...tls, ...proxy];
}

/** The tutorial's line (`Server is listening on ...`), then how it serves, on a row of its own below it. */
function listeningText(options: ResolvedServerOptions, where: string, threads: number): string {
  const threadsText = options.strategy === 'single' ? 'main thread only' : `${threads} workers`;
  const mode = options.mode === 'ack' ? `mode ack (${options.ack})` : `mode ${options.mode}`;
  const how = [threadsText, `strategy ${options.strategy}`, mode, ...transportParts(options)];
  return `[LISTENING] Server is listening on ${where}\n${fitLine(' '.repeat('[LISTENING]'.length), how, ', ')}`;
}

/**
 * The one line the tutorial's own Python client needs: the default server frames its
 * acks (the protocol), while that client prints what it receives, header bytes and all.
 */
const TUTORIAL_HINT = "[HINT] acks are framed here; the tutorial's own client wants --ack raw";

function logListening(log: ServerLog, options: ResolvedServerOptions, address: net.AddressInfo, threads: number) {
  const bound = bracketed(address.address);
  const where = reachableAddresses(options.host).map(bracketed);
  log.essential('listening', listeningText(options, `${bound}:${address.port}`, threads), {
    host: address.address,
    port: address.port,
    addresses: where,
    workers: threads,
    strategy: options.strategy,
    mode: options.mode,
    ack: options.ack,
    headerBytes: options.headerBytes,
    tls: options.tlsCert !== '',
    proxyProtocol: options.proxyProtocol,
  });
  // The tutorial's client speaks plain TCP with 64-byte headers, no PROXY header: only then can --ack raw help it.
  const tutorialCanTalk =
    options.headerBytes === DEFAULT_HEADER_BYTES && options.tlsCert === '' && !options.proxyProtocol;
  if (options.mode === 'ack' && options.ack === 'framed' && tutorialCanTalk) {
    log.info('hint', TUTORIAL_HINT);
  }
  if (!isWildcard(address.address)) return;
  log.essential(
    'exposed',
    fitLine(
      '[WARNING]',
      `bound to every interface (${bound}): any machine that can reach this one can now connect`.split(' '),
      ' ',
    ),
    { host: address.address },
  );
  for (const other of where) {
    log.essential('listening-also', `[LISTENING] reachable at ${other}:${address.port}`);
  }
}

/** A line every few seconds while busy: connections per thread, messages/s, bytes/s. */
function startStatsLine(
  options: ResolvedServerOptions,
  log: ServerLog,
  stats: () => ServerStats,
): NodeJS.Timeout | undefined {
  if (options.statsIntervalMs === 0 || !log.verbose) return undefined;
  let last = stats();
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const now = stats();
    const at = performance.now();
    const seconds = (at - lastAt) / 1000;
    const messages = now.messages - last.messages;
    const deliveries = now.deliveries - last.deliveries;
    // Nothing happened since the last line (no message, no connection opened or closed): no line.
    const quiet =
      messages === 0 &&
      deliveries === 0 &&
      now.totalConnections === last.totalConnections &&
      now.activeConnections === last.activeConnections;
    if (!quiet) {
      const perThread = now.workers.map((w) => count(w.activeConnections)).join('/');
      const messageRate = messages / seconds;
      const deliveryRate = deliveries / seconds;
      const inMBs = (now.bytesIn - last.bytesIn) / seconds / 1e6;
      const outMBs = (now.bytesOut - last.bytesOut) / seconds / 1e6;
      const parts = [
        `${counted(now.activeConnections, 'connection')} (per worker ${perThread})`,
        `${rate(messageRate)} msg/s`,
        ...(options.mode === 'chat' ? [`${rate(deliveryRate)} deliveries/s`] : []),
        `in ${megabytes(inMBs)} MB/s`,
        `out ${megabytes(outMBs)} MB/s`,
      ];
      log.info('stats', fitLine('[STATS]', parts, ' | '), {
        ...now,
        messagesPerSecond: Math.round(messageRate),
        deliveriesPerSecond: Math.round(deliveryRate),
        bytesInPerSecond: Math.round(inMBs * 1e6),
        bytesOutPerSecond: Math.round(outMBs * 1e6),
      });
    }
    last = now;
    lastAt = at;
  }, options.statsIntervalMs);
  timer.unref();
  return timer;
}
