/**
 * Orchestration of a bench run: for each round, strategy and header size a
 * server; for each payload size one measurement in phases
 *
 *   connect -> ramp (until every connection has had a reply) -> warm-up ->
 *   measured window (per-second samples) -> drain (no new messages) -> close
 *
 * Figures come from the load threads' shared counters read at the window's
 * edges, their histograms merged exactly, the server's stats lines, and CPU
 * times read from /proc.
 */
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { NoReplyError, TargetUnreachableError, withHeaderSizeHint } from '../../protocol/index.ts';
import type { ServerStats } from '../../server/server.ts';
import type { Strategy } from '../../server/options.ts';
import { type CounterSnapshot, diffCounters, PHASE } from './counters.ts';
import { externalServer, startEmbeddedServer, type ServerUnderTest } from './embedded-server.ts';
import { mergeHistograms, encodeHistogram, summarize } from '../shared/latency.ts';
import { LoadPool, split } from './pool.ts';
import { churnFigures } from './churn-figures.ts';
import type { FromWorker, LoadSetup } from './messages.ts';
import { plural } from '../shared/format.ts';
import type { ResolvedBenchOptions, Transport } from '../options.ts';
import { readPemFile } from '../../options/pem-file.ts';
import { throwawayCertificate } from './throwaway-cert.ts';
import {
  type BenchResult,
  loadThreadFigures,
  type Measurement,
  measurementKey,
  type Sample,
  SCHEMA,
  summarizeMeasurements,
  variantName,
} from '../results/result.ts';
import { meanStdev } from '../shared/stats.ts';
import { runRounds } from './rounds.ts';
import {
  type CounterReader,
  measureWindow,
  type PlanInfo,
  type RunHooks as WindowHooks,
  type WindowFigures,
  type WindowLength,
  SATURATED_UTILIZATION,
} from './window.ts';

interface MeasurementPlan extends PlanInfo {
  strategy: Strategy | null;
  headerBytes: number;
  sizeBytes: number;
  /** Messages per connection (--churn); 0: connections stay open. */
  churn: number;
  transport: Transport;
}

export type RunHooks = WindowHooks<MeasurementPlan, Measurement>;

/** A strategy's name with `+tls` when the variant speaks TLS (`handoff+tls h64 16 B`); the target's likewise. */
function transportLabel(strategy: Strategy | null, transport: Transport): string | null {
  return transport === 'tls' ? `${strategy ?? 'target'}+tls` : strategy;
}

/** The CAs the load threads trust: --ca, else the embedded server's throw-away certificate, else the system's. */
function trustedCa(options: ResolvedBenchOptions): string | undefined {
  if (options.ca !== '') return readPemFile(options.ca, 'CA file');
  return options.target ? undefined : throwawayCertificate().ca;
}

export function runBench(options: ResolvedBenchOptions, hooks: RunHooks = {}): Promise<BenchResult> {
  const strategies: Array<Strategy | null> = options.target ? [null] : [...options.strategies];
  const churns = options.churn.length > 0 ? options.churn : [0];
  const pool = new LoadPool(options.workers);
  return runRounds(
    options,
    pool,
    hooks,
    {
      // One variant per strategy x header size x transport; inside it, the sizes.
      variants: strategies.flatMap((strategy) =>
        options.headerBytes.flatMap((headerBytes) =>
          options.transports.map((transport) => ({ strategy, headerBytes, transport })),
        ),
      ),
      start: ({ strategy, headerBytes, transport }) =>
        options.target
          ? Promise.resolve(externalServer(options.target.host, options.target.port))
          : startEmbeddedServer({
              workers: options.serverWorkers,
              strategy: strategy!,
              mode: options.mode,
              headerBytes,
              // Churn: a connection closed here may not be closed there yet when its successor arrives.
              maxConnections: options.clients * (options.churn.length > 0 ? 4 : 1) + 16,
              command: options.serverCommand,
              tls: transport === 'tls' ? throwawayCertificate() : null,
            }),
      address: (server) => ({ host: server.host, port: server.port }),
      points: ({ strategy, headerBytes, transport }) =>
        options.sizes.flatMap((sizeBytes) =>
          churns.map((churn) => ({
            key:
              measurementKey(transportLabel(strategy, transport), headerBytes, sizeBytes) +
              (churn > 0 ? ` churn ${churn}` : ''),
            strategy,
            headerBytes,
            sizeBytes,
            transport,
            churn,
          })),
        ),
      measure: (server, plan, warn) => measure(options, pool, server, plan, hooks, warn),
      stopAfter: (m) => options.bailout > 0 && m.errors.total >= options.bailout,
    },
    (measurements) => ({ schema: SCHEMA, measurements, summary: summarizeMeasurements(measurements) }),
  );
}

/** Not one reply in a measurement: what came instead, and the header size used (the usual cause). */
function noReply(server: ServerUnderTest, plan: MeasurementPlan, options: ResolvedBenchOptions, first: string) {
  const within = Math.max(options.timeoutS, options.connectTimeoutS);
  const what = first ? `first error ${first}` : `nothing within ${within} s`;
  // The hint is in `first` already when a connection saw it, said once; one that names the mode mismatch needs none.
  const err = new NoReplyError(`${plan.key}: no reply from ${server.host}:${server.port} could be read (${what})`);
  return first.includes('header size') || first.includes('--mode') ? err : withHeaderSizeHint(err, plan.headerBytes);
}

/** After the ramp: a warning for connections that had no reply, and the server's counters while all are busy. */
async function afterRamp(
  ramped: ReadonlyArray<{ unramped: number }>,
  plan: MeasurementPlan,
  server: ServerUnderTest,
  warn: (text: string) => void,
): Promise<ServerStats | null> {
  const unramped = ramped.reduce((a, r) => a + r.unramped, 0);
  if (unramped > 0) warn(`${plan.key}: ${unramped} connections had no reply within the ramp limit`);
  // Balance while every connection is open and busy.
  return server.stats();
}

/**
 * One measurement, in the phases of this file's header: connect, ramp (or, with --amount, the
 * load starting with the window), the window, drain, then the figures.
 */
async function measure(
  options: ResolvedBenchOptions,
  pool: LoadPool,
  server: ServerUnderTest,
  plan: MeasurementPlan,
  hooks: RunHooks,
  warn: (text: string) => void,
): Promise<Measurement> {
  const statsBefore = await settledStats(server);
  const connected = await connectAll(options, pool, server, plan, hooks, warn);
  const ramp = options.amount === 0 ? await rampUp(options, pool, server, plan, hooks, warn) : null;
  const window = await ackWindow(options, pool, server, plan, hooks, ramp);
  const ramped = await window.started;
  const statsRamped = ramp ? ramp.stats : await afterRamp(ramped, plan, server, warn);
  hooks.onPhase?.(plan, 'drain');
  const drained = await pool.drain(options.timeoutS * 1000);
  const all = pool.counters();
  const statsAfter = await server.stats();
  await pool.close();
  // Not one reply in the whole measurement: figures of zeros would hide what went wrong.
  if (all.acked === 0) throw noReply(server, plan, options, firstErrorOf(drained));
  const stats = { before: statsBefore, ramped: statsRamped, after: statsAfter };
  const m = ackMeasurement(options, plan, { server, connected, ramped, window, drained, all, stats });
  warnAboutErrors(options, m, warn);
  return m;
}

type Connected = Extract<FromWorker, { type: 'connected' }>;
type Ramped = Extract<FromWorker, { type: 'ramped' }>;
type Drained = Extract<FromWorker, { type: 'drained' }>;

const firstErrorOf = (drained: readonly Drained[]): string => drained.find((d) => d.firstError)?.firstError ?? '';

/** What each load thread is told: its share of the connections (and of --amount), the target, the message. */
function loadSetups(
  options: ResolvedBenchOptions,
  threads: number,
  server: ServerUnderTest,
  plan: MeasurementPlan,
): LoadSetup[] {
  const perThread = split(options.clients, threads);
  // --amount: each thread's exact share, in proportion to its connections.
  const budgets = options.amount > 0 ? split(options.amount, threads) : perThread.map(() => -1);
  const timeoutMs = options.timeoutS * 1000;
  const connectTimeoutMs = Math.round(options.connectTimeoutS * 1000);
  return perThread.map((connections, i) => ({
    host: server.host,
    port: server.port,
    connections,
    headerBytes: plan.headerBytes,
    sizeBytes: plan.sizeBytes,
    mode: options.mode,
    pipelining: options.pipelining,
    payloads: options.payloads,
    budget: budgets[i]!,
    intervalMs: options.rate > 0 ? (options.clients / options.rate) * 1000 : 0,
    phaseOffset: i / threads,
    timeoutMs,
    connectTimeoutMs,
    rampTimeoutMs: Math.max(timeoutMs, connectTimeoutMs),
    churn: plan.churn,
    tls: plan.transport === 'tls' ? { ca: trustedCa(options) } : null,
  }));
}

/** Every load thread makes its connections; when none could be made, the target is unreachable. */
async function connectAll(
  options: ResolvedBenchOptions,
  pool: LoadPool,
  server: ServerUnderTest,
  plan: MeasurementPlan,
  hooks: RunHooks,
  warn: (text: string) => void,
): Promise<Connected[]> {
  const setups = loadSetups(options, pool.size, server, plan);
  pool.control.set(PHASE.RAMP);
  hooks.onPhase?.(plan, 'connect');
  const connected = await pool.setup(setups);
  const failed = connected.reduce((a, c) => a + c.failed, 0);
  const connectError = connected.find((c) => c.error)?.error ?? '';
  if (failed === options.clients) {
    await pool.close();
    // The first failure without its code: `cannot connect to h:p: connection refused (ECONNREFUSED)`.
    const why = connectError.replace(/^ERR_[A-Z_]+: /, '');
    throw new TargetUnreachableError(`cannot connect to ${server.host}:${server.port}: ${why}`);
  }
  if (failed > 0) warn(`${plan.key}: ${failed} of ${options.clients} connections failed (${connectError})`);
  return connected;
}

/** The ramp, before the window: the load starts, and every connection has had a reply (or the ramp limit passed). */
async function rampUp(
  options: ResolvedBenchOptions,
  pool: LoadPool,
  server: ServerUnderTest,
  plan: MeasurementPlan,
  hooks: RunHooks,
  warn: (text: string) => void,
): Promise<{ started: Promise<Ramped[]>; stats: ServerStats | null }> {
  hooks.onPhase?.(plan, 'ramp');
  const started = pool.start();
  const ramped = await started;
  if (pool.counters().acked === 0) {
    // Nothing readable came back: measuring would only wait out the window.
    pool.control.set(PHASE.DRAIN);
    const drained = await pool.drain(0);
    await pool.close();
    throw noReply(server, plan, options, firstErrorOf(drained));
  }
  return { started, stats: await afterRamp(ramped, plan, server, warn) };
}

/** The window's figures, the load threads' ramp (with --amount it starts with the window) and the acceptor's CPU. */
type AckWindow = WindowFigures<CounterSnapshot, Sample> & {
  started: Promise<Ramped[]>;
  /** CPU seconds of the server's main thread at the window's two edges (null: not ours to read). */
  mainThreadCpu: Array<number | null>;
};

/** How long the window lasts: --duration, --messages or --amount, and what ends it early (--bailout). */
function windowLength(options: ResolvedBenchOptions, threads: number): WindowLength<CounterSnapshot> {
  const counted = options.amount || options.messages;
  return {
    durationMs: options.durationS * 1000,
    stopAtCount: counted,
    // Bounded even in --messages mode: a stalled server must not hang the run forever.
    limitMs: counted > 0 ? Math.max(options.timeoutS * 1000, 600_000) : options.durationS * 1000,
    // Only when there is something to watch: the check wakes this thread every 20 ms, and
    // that thread's CPU is the tester's too.
    ...(options.bailout > 0 || options.amount > 0
      ? {
          stopWhen: (c: CounterSnapshot) =>
            (options.bailout > 0 && c.errors >= options.bailout) || (options.amount > 0 && c.done === threads),
        }
      : {}),
  };
}

/** The warm-up and the measured window; with --amount the load starts at the window's start. */
async function ackWindow(
  options: ResolvedBenchOptions,
  pool: LoadPool,
  server: ServerUnderTest,
  plan: MeasurementPlan,
  hooks: RunHooks,
  ramp: { started: Promise<Ramped[]> } | null,
): Promise<AckWindow> {
  let started = ramp?.started ?? null;
  // measureWindow reads the server's CPU at the window's two edges; the main thread's (handoff's acceptor) is read beside it.
  const mainThreadCpu: Array<number | null> = [];
  const serverCpuAtEdges = () => {
    mainThreadCpu.push(server.mainThreadCpuSeconds?.() ?? null);
    return server.cpuSeconds();
  };
  const reader: CounterReader<CounterSnapshot> = { read: () => pool.counters(), count: (c) => c.acked };
  const figures = await measureWindow(
    pool,
    reader,
    options.warmupS,
    windowLength(options, pool.size),
    ackSample,
    serverCpuAtEdges,
    {
      onPhase: (phase) => hooks.onPhase?.(plan, phase),
      onTick: (tick) => hooks.onTick?.(plan, tick),
      onWindowStart: () => {
        started ??= pool.start();
      },
    },
  );
  return { ...figures, started: started!, mainThreadCpu };
}

/** What a measurement's figures are made of. */
interface AckFigures {
  server: ServerUnderTest;
  connected: readonly Connected[];
  ramped: readonly Ramped[];
  window: AckWindow;
  drained: readonly Drained[];
  /** The counters after the drain: the whole measurement. */
  all: CounterSnapshot;
  stats: { before: ServerStats | null; ramped: ServerStats | null; after: ServerStats | null };
}

/** The saved measurement (schema handoff-bench/1). */
function ackMeasurement(options: ResolvedBenchOptions, plan: MeasurementPlan, f: AckFigures): Measurement {
  const { seconds, startEpochMs, samples } = f.window;
  const { connected, ramped, drained, all, stats } = f;
  const w = diffCounters(f.window.c1, f.window.c0);
  const histogram = mergeHistograms(drained.map((d) => d.histogram));
  const txPayload = w.txWire - w.txHeader;
  const rxPayload = w.rxWire - w.rxHeader;
  const errorKinds = countErrorKinds(connected, drained);
  const connectError = connected.find((c) => c.error)?.error ?? '';
  return {
    key: plan.key,
    variant: variantName(transportLabel(plan.strategy, plan.transport), plan.headerBytes),
    round: plan.round,
    strategy: plan.strategy,
    headerBytes: plan.headerBytes,
    sizeBytes: plan.sizeBytes,
    mode: options.mode,
    clients: options.clients,
    pipelining: options.pipelining,
    rate: options.rate,
    connect: {
      ms: Math.max(...connected.map((c) => c.connectMs)),
      failed: connected.reduce((a, c) => a + c.failed, 0),
      firstError: connectError,
    },
    ramp: { ms: Math.max(...ramped.map((r) => r.rampMs)), unramped: ramped.reduce((a, r) => a + r.unramped, 0) },
    window: { seconds, messages: w.acked, startEpochMs },
    msgsPerSec: messageRates(w.acked, samples, seconds),
    samples,
    latencyUs: summarize(histogram),
    histogram: encodeHistogram(histogram),
    bytes: { txPayload, rxPayload, txWire: w.txWire, rxWire: w.rxWire, txHeader: w.txHeader, rxHeader: w.rxHeader },
    payloadMBps: (txPayload + rxPayload) / seconds / 1e6,
    wireMBps: (w.txWire + w.rxWire) / seconds / 1e6,
    headerShare: w.txWire + w.rxWire > 0 ? (w.txHeader + w.rxHeader) / (w.txWire + w.rxWire) : 0,
    errors: {
      total: Object.values(errorKinds).reduce((a, b) => a + b, 0),
      kinds: errorKinds,
      first: firstErrorOf(drained) || connectError,
    },
    timeouts: all.timeouts,
    unanswered: drained.reduce((a, d) => a + d.unanswered, 0),
    connAcked: {
      min: Math.min(...drained.map((d) => d.connAckedMin)),
      max: Math.max(...drained.map((d) => d.connAckedMax)),
    },
    server:
      f.server.pid === null
        ? null
        : // Churn: the connections of the whole measurement, not the ones open at the ramp.
          serverFigures(
            f.server,
            stats.before,
            plan.churn ? stats.after : stats.ramped,
            stats.after,
            all,
            w.acked,
            f.window.serverCpuSeconds,
          ),
    ...(plan.churn > 0 ? { churn: churnOf(plan, f, w.connects) } : {}),
    tester: testerFigures(f.window, drained, w.acked),
  };
}

/** By the catalogue's code: the connections given up on, then what went wrong with the others. */
function countErrorKinds(connected: readonly Connected[], drained: readonly Drained[]): Record<string, number> {
  const errorKinds: Record<string, number> = {};
  for (const kinds of [...connected.map((c) => c.failedKinds), ...drained.map((d) => d.errorKinds)]) {
    for (const [k, v] of Object.entries(kinds)) errorKinds[k] = (errorKinds[k] ?? 0) + v;
  }
  return errorKinds;
}

/** Messages per second over the window, and the spread of its whole seconds. */
function messageRates(acked: number, samples: readonly Sample[], seconds: number): Measurement['msgsPerSec'] {
  const perSecond = samples.filter((s) => s.seconds >= 0.999).map((s) => s.msgsPerSec);
  const { mean, stdev } = meanStdev(perSecond.length ? perSecond : [acked / seconds]);
  return {
    overall: acked / seconds,
    mean,
    stdev,
    min: perSecond.length ? Math.min(...perSecond) : acked / seconds,
    max: perSecond.length ? Math.max(...perSecond) : acked / seconds,
  };
}

/** --churn's figures: connections made per second, and the server's count of them and its acceptor's CPU. */
function churnOf(plan: MeasurementPlan, f: AckFigures, windowConnects: number) {
  const { before, after } = f.stats;
  const cpu = f.window.mainThreadCpu;
  return churnFigures(plan.churn, {
    windowConnects,
    seconds: f.window.seconds,
    drained: f.drained.map((d) => d.churn!),
    serverConnections: before && after ? after.totalConnections - before.totalConnections : null,
    serverMainThreadCpuSeconds: cpu[0] != null && cpu[1] != null ? cpu[1] - cpu[0] : null,
  });
}

/** The tester's own load: its CPU per message (and each load thread's), and whether a load thread was saturated. */
function testerFigures(window: AckWindow, drained: readonly Drained[], acked: number): Measurement['tester'] {
  const { testerCpuSeconds: testerCpu, threadUtilization, machineBusy } = window;
  return {
    cpuSeconds: testerCpu,
    cpuUsPerMsg: acked > 0 ? (testerCpu * 1e6) / acked : 0,
    loadThreads: loadThreadFigures(
      drained.map((d) => d.cpuSeconds),
      acked,
    ),
    threadUtilization,
    machineBusy,
    cores: availableParallelism(),
    saturated: threadUtilization.some((u) => u >= SATURATED_UTILIZATION),
  };
}

/** The errors of a measurement, and --bailout's end of the run. */
function warnAboutErrors(options: ResolvedBenchOptions, m: Measurement, warn: (text: string) => void): void {
  const errorTotal = m.errors.total;
  if (errorTotal > 0) warn(`${m.key}: ${errorTotal} ${plural(errorTotal, 'error')} (${m.errors.first})`);
  if (options.bailout > 0 && errorTotal >= options.bailout) {
    warn(`${m.key}: bailed out after ${errorTotal} errors (bailout ${options.bailout}): the run stops here`);
  }
}

function serverFigures(
  server: ServerUnderTest,
  before: ServerStats | null,
  ramped: ServerStats | null,
  after: ServerStats | null,
  all: CounterSnapshot,
  windowMessages: number,
  cpuSeconds: number | null,
): NonNullable<Measurement['server']> {
  const messages = before && after ? after.messages - before.messages : null;
  return {
    pid: server.pid!,
    workers: server.workers,
    cpuSeconds,
    cpuSecondsPerMillionMsgs: cpuSeconds !== null && windowMessages > 0 ? cpuSeconds / (windowMessages / 1e6) : null,
    // Connections each worker accepted during this measurement: counting the active ones
    // would include the previous measurement's, which may still be closing.
    connectionsPerWorker: ramped
      ? ramped.workers.map((w, i) => w.totalConnections - (before?.workers[i]?.totalConnections ?? 0))
      : [],
    messages,
    testerAcked: all.acked,
    countsAgree: messages === null ? null : messages === all.acked,
  };
}

/** Bound on waiting for an embedded server to see the previous measurement's connections close. */
const SETTLE_LIMIT_MS = 5_000;

/**
 * The server's counters once the previous measurement's connections have closed on its
 * side too: until then they would count against its connection limit (SERVER_FULL for
 * the new ones) and blur the balance. Bounded; null for a server we cannot ask.
 */
async function settledStats(server: ServerUnderTest): Promise<ServerStats | null> {
  const deadline = performance.now() + SETTLE_LIMIT_MS;
  let stats = await server.stats();
  while (stats && stats.activeConnections > 0 && performance.now() < deadline) {
    await sleep(50);
    stats = await server.stats();
  }
  return stats;
}

function ackSample(later: CounterSnapshot, earlier: CounterSnapshot, t: number, seconds: number): Sample {
  const d = diffCounters(later, earlier);
  return {
    t,
    seconds,
    messages: d.acked,
    msgsPerSec: d.acked / seconds,
    txWireBytes: d.txWire,
    rxWireBytes: d.rxWire,
    errors: d.errors,
  };
}
