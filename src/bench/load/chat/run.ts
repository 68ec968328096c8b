/**
 * Orchestration of a chat run (mode 'chat'): for each round and variant
 * (handoff with N workers, N handoff servers on a bus, nats-server, redis-server) a
 * target; for each connection count and payload size one measurement in phases
 *
 *   connect and enter the room (every connection confirmed) -> warm-up ->
 *   measured window (per-second samples) -> senders stop -> drain (until every
 *   receiver has every message sent, or nothing came for --timeout) -> close
 *
 * Throughput is deliveries read inside the window (the threads' shared
 * counters at its edges); latency, order, loss and duplicates come from each
 * receiving connection's own accounting, merged exactly.
 */
import { TargetUnreachableError } from '../../../protocol/index.ts';
import type { ResolvedBenchOptions } from '../../options.ts';
import {
  CHAT_SCHEMA,
  type ChatMeasurement,
  type ChatResult,
  type ChatSample,
  chatVariantKey,
  summarizeChat,
} from '../../results/chat-result.ts';
import { meanStdev } from '../../shared/stats.ts';
import { processCpuSeconds } from '../../shared/system.ts';
import { PHASE, readNamed } from '../counters.ts';
import { mergeHistograms, encodeHistogram, summarize } from '../../shared/latency.ts';
import { ThreadPool, type ThreadScript } from '../pool.ts';
import { runRounds } from '../rounds.ts';
import {
  type CounterReader,
  measureWindow,
  type PlanInfo,
  type RunHooks,
  type WindowFigures,
  SATURATED_UTILIZATION,
} from '../window.ts';
import { expectedDeliveries, roomShapes, threadConnections } from './layout.ts';
import {
  type ChatCounters,
  type ChatDrained,
  CHAT_FIELDS,
  type FromChatWorker,
  K,
  type ReceiverTally,
  type ToChatWorker,
} from './messages.ts';
import { type ChatTarget, type ChatVariant, startChatTarget, variantName } from './targets.ts';
import { siblingModule } from '../../../options/sibling-module.ts';

interface ChatPlan extends PlanInfo {
  variant: ChatVariant;
  clients: number;
  sizeBytes: number;
}

export type ChatRunHooks = RunHooks<ChatPlan, ChatMeasurement>;

const CHAT_SCRIPT: ThreadScript = {
  url: siblingModule('worker', import.meta.url),
  fields: CHAT_FIELDS,
  spinField: K.spinMs,
};

type ChatPool = ThreadPool<ToChatWorker, FromChatWorker>;

function readChatCounters(pool: ChatPool): ChatCounters {
  return readNamed(pool.countersMemory, CHAT_FIELDS, K);
}

function chatSample(later: ChatCounters, earlier: ChatCounters, t: number, seconds: number): ChatSample {
  const receiverDeliveries = later.receiverDeliveries - earlier.receiverDeliveries;
  return {
    t,
    seconds,
    sent: later.sent - earlier.sent,
    deliveries: later.deliveries - earlier.deliveries,
    receiverDeliveries,
    receiverDeliveriesPerSec: receiverDeliveries / seconds,
    errors: later.errors - earlier.errors,
  };
}

/** The variants of a run: each target kind, handoff once per server-worker count. */
function chatVariants(options: ResolvedBenchOptions): ChatVariant[] {
  const chat = options.chat!;
  const external = options.target;
  return chat.targetKinds.flatMap((kind): ChatVariant[] => {
    const alone = { serverWorkers: null, servers: 1, bus: 'local' as const };
    if (external) return [{ name: variantName(kind, null, 1, 'local', true), kind, ...alone, external }];
    if (kind !== 'handoff')
      return [{ name: variantName(kind, null, 1, 'local', false), kind, ...alone, external: null }];
    return chat.serverWorkers.map((w) => ({
      name: variantName(kind, w, chat.servers, chat.bus, false),
      kind,
      serverWorkers: w,
      servers: chat.servers,
      bus: chat.bus,
      external: null,
    }));
  });
}

export function runChatBench(options: ResolvedBenchOptions, hooks: ChatRunHooks = {}): Promise<ChatResult> {
  const chat = options.chat!;
  const pool: ChatPool = new ThreadPool(options.workers, CHAT_SCRIPT);
  return runRounds(
    options,
    pool,
    hooks,
    {
      variants: chatVariants(options),
      start: (variant) =>
        startChatTarget(variant, {
          strategy: options.strategies[0]!,
          headerBytes: options.headerBytes[0]!,
          maxConnections: options.clients + 64,
          serverCommand: options.serverCommand,
          natsServer: chat.natsServer,
          redisServer: chat.redisServer,
          redisCli: chat.redisCli,
        }),
      address: (target) => target.endpoints[0]!,
      // Inside a variant (a target, started once a round): every connection count x size.
      points: (variant) =>
        chat.clients.flatMap((clients) =>
          options.sizes.map((sizeBytes) => ({
            key: chatVariantKey(variant.name, clients, sizeBytes),
            variant,
            clients,
            sizeBytes,
          })),
        ),
      measure: (target, plan, warn) => measureChat(options, pool, target, plan, hooks, warn),
    },
    (measurements) => ({ schema: CHAT_SCHEMA, measurements, summary: summarizeChat(measurements) }),
  );
}

/** Room names: handoff's lobby for one room of an embedded server (entered on connect), else private names. */
function roomNames(options: ResolvedBenchOptions, variant: ChatVariant): { names: string[]; lobby: boolean } {
  const rooms = options.chat!.rooms;
  const lobby = rooms === 1 && variant.kind === 'handoff' && !variant.external;
  if (lobby) return { names: ['lobby'], lobby };
  // On a server somebody else runs, a room nobody else is in.
  const tag = variant.external ? `-${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}` : '';
  return { names: Array.from({ length: rooms }, (_, r) => `bench${tag}-${r}`), lobby };
}

function sumOf<T>(items: readonly T[], f: (item: T) => number): number {
  return items.reduce((a, item) => a + f(item), 0);
}

function mergeKinds(all: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const kinds: Record<string, number> = {};
  for (const k of all) for (const [code, n] of Object.entries(k)) kinds[code] = (kinds[code] ?? 0) + n;
  return kinds;
}

/**
 * One chat measurement, in the phases of this file's header: enter the rooms, the window, stop and drain,
 * then the figures.
 */
async function measureChat(
  options: ResolvedBenchOptions,
  pool: ChatPool,
  target: ChatTarget,
  plan: ChatPlan,
  hooks: ChatRunHooks,
  warn: (text: string) => void,
): Promise<ChatMeasurement> {
  await target.settle();
  const statsBefore = await target.stats();
  const shapes = roomShapes(plan.clients, options.chat!.senders, options.chat!.rooms, plan.variant.kind);
  const ready = await enterRooms(options, pool, target, plan, shapes, hooks);
  const window = await chatWindow(options, pool, target, plan, hooks);
  hooks.onPhase?.(plan, 'drain');
  const sent = await stopAndDrain(options, pool);
  const statsAfter = await target.stats();
  await pool.all<'closed'>({ type: 'close' });
  const deliveriesCounted = statsBefore && statsAfter ? statsAfter.deliveries - statsBefore.deliveries : null;
  const m = chatMeasurement(options, plan, { shapes, ready, window, sent, target, deliveriesCounted });
  warnAbout(m, warn);
  return m;
}

type ChatReady = Extract<FromChatWorker, { type: 'ready' }>;
type ChatWindow = WindowFigures<ChatCounters, ChatSample> & {
  /** CPU seconds of each of the target's processes over the window (null: could not be read). */
  processCpuSeconds: Array<number | null>;
};

/** What the senders sent (in all, and inside the window), by sender id, and each thread's drained accounting. */
interface ChatSent {
  sentAll: number[];
  sentCounted: number[];
  drained: ChatDrained[];
}

/** Connect every connection and enter its room; one that does not get in fails the measurement (nothing would be exact). */
async function enterRooms(
  options: ResolvedBenchOptions,
  pool: ChatPool,
  target: ChatTarget,
  plan: ChatPlan,
  shapes: ReturnType<typeof roomShapes>,
  hooks: ChatRunHooks,
): Promise<ChatReady[]> {
  const chat = options.chat!;
  const { variant, clients, sizeBytes } = plan;
  const { senders, rooms } = chat;
  const { names, lobby } = roomNames(options, variant);
  const perThread = threadConnections(clients, senders, rooms, pool.size, target.endpoints.length);
  pool.control.set(PHASE.RAMP);
  hooks.onPhase?.(plan, 'connect');
  const originMs = performance.now();
  const ready = await pool.all<'ready'>((i) => ({
    type: 'setup',
    setup: {
      kind: variant.kind,
      endpoints: target.endpoints,
      conns: perThread[i]!,
      roomNames: names,
      lobby,
      receiversPerRoom: shapes.map((s) => s.receivers),
      senders,
      rooms,
      headerBytes: options.headerBytes[0]!,
      sizeBytes,
      window: chat.window,
      natsPingEvery: chat.natsPingEvery,
      intervalMs: options.rate > 0 ? (senders / options.rate) * 1000 : 0,
      setupTimeoutMs: Math.round(options.connectTimeoutS * 1000),
      originMs,
    },
  }));
  const failed = sumOf(ready, (r) => r.failed);
  if (failed > 0) {
    await pool.all<'closed'>({ type: 'close' });
    const where = target.endpoints.map((e) => `${e.host}:${e.port}`).join(', ');
    const first = ready.find((r) => r.error)?.error ?? '';
    throw new TargetUnreachableError(
      `${plan.key}: ${failed} of ${clients} connections did not get into the room at ${where} (so nothing would be exact): ${first}`,
    );
  }
  return ready;
}

/** Start the senders, then the warm-up and the measured window (per-second samples, CPU at its edges). */
async function chatWindow(
  options: ResolvedBenchOptions,
  pool: ChatPool,
  target: ChatTarget,
  plan: ChatPlan,
  hooks: ChatRunHooks,
): Promise<ChatWindow> {
  const reader: CounterReader<ChatCounters> = { read: () => readChatCounters(pool), count: (c) => c.deliveries };
  await pool.all<'started'>({ type: 'start', startMs: performance.now() + 1 });
  const durationMs = options.durationS * 1000;
  // Read at the window's two edges: each process's CPU apart (handoff's and the bus's), and their sum.
  const edges: Array<Array<number | null>> = [];
  const serverCpu = () => {
    edges.push(target.processes.map((p) => processCpuSeconds(p.pid)));
    return target.cpuSeconds();
  };
  const figures = await measureWindow(
    pool,
    reader,
    options.warmupS,
    { durationMs, stopAtCount: 0, limitMs: durationMs },
    chatSample,
    serverCpu,
    { onPhase: (phase) => hooks.onPhase?.(plan, phase), onTick: (tick) => hooks.onTick?.(plan, tick) },
  );
  const [before, after] = [edges[0] ?? [], edges.at(-1) ?? []];
  const processCpu = target.processes.map((_, i) => {
    const [a, b] = [before[i], after[i]];
    return a === null || a === undefined || b === null || b === undefined ? null : b - a;
  });
  return { ...figures, processCpuSeconds: processCpu };
}

/** Stop the senders; each receiver then waits until it has every message sent to it, or nothing came for --timeout. */
async function stopAndDrain(options: ResolvedBenchOptions, pool: ChatPool): Promise<ChatSent> {
  const senders = options.chat!.senders;
  const stopped = await pool.all<'stopped'>({ type: 'stop' });
  const sentAll = new Array<number>(senders).fill(0);
  const sentCounted = new Array<number>(senders).fill(0);
  for (const s of stopped.flatMap((r) => r.senders)) {
    sentAll[s.sid] = s.sent;
    sentCounted[s.sid] = s.counted;
  }
  const drained = await pool.all<'drained'>({
    type: 'drain',
    sentAll,
    sentCounted,
    quietMs: options.timeoutS * 1000,
  });
  return { sentAll, sentCounted, drained };
}

/** What a measurement's figures are made of. */
interface ChatFigures {
  shapes: ReturnType<typeof roomShapes>;
  ready: readonly ChatReady[];
  window: ChatWindow;
  sent: ChatSent;
  target: ChatTarget;
  /** Deliveries the servers counted over the measurement (null: not ours to read). */
  deliveriesCounted: number | null;
}

/** The saved measurement (schema handoff-bench-chat/1). */
function chatMeasurement(options: ResolvedBenchOptions, plan: ChatPlan, f: ChatFigures): ChatMeasurement {
  const chat = options.chat!;
  const { variant, clients, sizeBytes } = plan;
  const { senders, rooms } = chat;
  const { c0, c1, seconds, samples } = f.window;
  const { sentAll, sentCounted, drained } = f.sent;
  const w = chatSample(c1, c0, seconds, seconds);
  const histogram = mergeHistograms(drained.map((d) => d.histogram));
  const totalSent = sumOf(sentAll, (n) => n);
  const counted = sumOf(sentCounted, (n) => n);
  const tallies = drained.flatMap((d) => d.receivers);
  const errorKinds = mergeKinds(drained.map((d) => d.errorKinds));
  const embedded = variant.kind === 'handoff' && !variant.external;
  return {
    key: plan.key,
    variant: variant.name,
    round: plan.round,
    targetKind: variant.kind,
    serverWorkers: variant.serverWorkers,
    servers: embedded ? variant.servers : null,
    bus: embedded ? variant.bus : null,
    redis: embedded && variant.bus === 'redis',
    sizeBytes,
    headerBytes: options.headerBytes[0]!,
    clients,
    senders,
    receivers: clients - senders,
    rooms,
    recipientsPerMessage:
      totalSent > 0
        ? expectedDeliveries(sentAll, rooms, f.shapes) / totalSent
        : sumOf(f.shapes, (s) => s.recipients * s.senders) / senders,
    window: chat.window,
    rate: options.rate,
    setup: {
      ms: Math.max(...f.ready.map((r) => r.readyMs)),
      connectMs: Math.max(...f.ready.map((r) => r.connectMs)),
    },
    windowSeconds: seconds,
    sent: { window: counted, total: totalSent, perSec: counted / seconds },
    deliveriesPerSec: deliveryRates(w, samples, seconds),
    samples,
    latencyUs: summarize(histogram),
    histogram: encodeHistogram(histogram),
    check: checkOf(drained),
    perReceiver: {
      min: Math.min(...tallies.filter((t) => t.receiverOnly).map((t) => t.inWindow)),
      max: Math.max(...tallies.filter((t) => t.receiverOnly).map((t) => t.inWindow)),
    },
    presenceEvents: sumOf(drained, (d) => d.presence),
    rxMBps: (c1.rxWire - c0.rxWire) / seconds / 1e6,
    txMBps: (c1.txWire - c0.txWire) / seconds / 1e6,
    errors: {
      total: sumOf(Object.values(errorKinds), (n) => n),
      kinds: errorKinds,
      first: drained.find((d) => d.firstError)?.firstError ?? '',
    },
    server: serverFigures(f, w),
    tester: testerFigures(f.window, w),
  };
}

/** Deliveries per second over the window, and the spread of its whole seconds. */
function deliveryRates(w: ChatSample, samples: readonly ChatSample[], seconds: number) {
  const perSecond = samples.filter((s) => s.seconds >= 0.999).map((s) => s.receiverDeliveriesPerSec);
  const { mean, stdev } = meanStdev(perSecond.length ? perSecond : [w.receiverDeliveriesPerSec]);
  return {
    all: w.deliveries / seconds,
    receivers: w.receiverDeliveriesPerSec,
    mean,
    stdev,
    min: perSecond.length ? Math.min(...perSecond) : w.receiverDeliveriesPerSec,
    max: perSecond.length ? Math.max(...perSecond) : w.receiverDeliveriesPerSec,
  };
}

/** The servers' side: their CPU per delivery, and whether their delivery count agrees with the frames read. */
function serverFigures(f: ChatFigures, w: ChatSample): ChatMeasurement['server'] {
  if (f.target.processes.length === 0) return null;
  const serverCpu = f.window.serverCpuSeconds;
  const frames = sumOf(f.sent.drained, (d) => d.frames + d.presence);
  return {
    processes: f.target.processes.map((p, i) => ({ ...p, cpuSeconds: f.window.processCpuSeconds[i] ?? null })),
    cpuSeconds: serverCpu,
    cpuUsPerDelivery: serverCpu !== null && w.deliveries > 0 ? (serverCpu * 1e6) / w.deliveries : null,
    deliveriesCounted: f.deliveriesCounted,
    testerFrames: frames,
    countsAgree: f.deliveriesCounted === null ? null : f.deliveriesCounted === frames,
  };
}

/** The tester's own load: its CPU per delivery, deliveries per read, and whether a load thread was saturated. */
function testerFigures(window: ChatWindow, w: ChatSample): ChatMeasurement['tester'] {
  const { c0, c1, testerCpuSeconds: testerCpu, threadUtilization, machineBusy } = window;
  return {
    cpuSeconds: testerCpu,
    cpuUsPerDelivery: w.deliveries > 0 ? (testerCpu * 1e6) / w.deliveries : 0,
    deliveriesPerRead: c1.reads > c0.reads ? w.deliveries / (c1.reads - c0.reads) : 0,
    threadUtilization,
    machineBusy,
    saturated: threadUtilization.some((u) => u >= SATURATED_UTILIZATION),
  };
}

/** Every receiving connection's accounting, added up: what was lost is counted connection by connection. */
function checkOf(drained: readonly ChatDrained[]): ChatMeasurement['check'] {
  const tallies = drained.flatMap((d) => d.receivers);
  const over = (f: (t: ReceiverTally) => number) => sumOf(tallies, f);
  const order = (f: (d: ChatDrained) => number) => sumOf(drained, f);
  return {
    expected: over((t) => t.expected),
    delivered: over((t) => t.delivered),
    lost: over((t) => Math.max(0, t.expected - t.delivered)),
    expectedTotal: over((t) => t.expectedTotal),
    deliveredTotal: over((t) => t.deliveredTotal),
    lostTotal: over((t) => Math.max(0, t.expectedTotal - t.deliveredTotal)),
    unexpected: over((t) => Math.max(0, t.deliveredTotal - t.expectedTotal)),
    receiversWithLoss: tallies.filter((t) => t.deliveredTotal < t.expectedTotal).length,
    closedConnections: tallies.filter((t) => !t.open).length,
    duplicates: order((d) => d.duplicates),
    reordered: order((d) => d.reordered),
    reorderedFar: order((d) => d.reorderedFar),
    gaps: order((d) => d.gaps),
    gapMessages: order((d) => d.gapMessages),
    ackMismatches: order((d) => d.ackMismatches),
    drained: drained.every((d) => d.drained),
    drainMs: Math.max(...drained.map((d) => d.drainMs)),
  };
}

function warnAbout(m: ChatMeasurement, warn: (text: string) => void): void {
  const c = m.check;
  if (m.errors.total > 0) warn(`${m.key}: ${m.errors.total} errors (${m.errors.first})`);
  if (m.errors.kinds.SLOW_CONSUMER) {
    warn(
      `${m.key}: receivers were closed for reading too slowly. A server's answer to a message does not wait for ` +
        'its deliveries, so a closed loop lets them queue up whenever the receivers read less than the server writes: ' +
        'measure this size with --rate',
    );
  }
  if (c.lostTotal > 0) {
    warn(`${m.key}: ${c.lostTotal} deliveries lost (${c.lost} of the window's), at ${c.receiversWithLoss} receivers`);
  }
  if (c.duplicates > 0 || c.reordered > 0) warn(`${m.key}: ${c.duplicates} duplicated, ${c.reordered} out of order`);
  if (!c.drained) warn(`${m.key}: the drain ended with deliveries still missing (nothing came for --timeout)`);
  if (c.ackMismatches > 0) warn(`${m.key}: ${c.ackMismatches} PUBLISH replies reached another number of subscribers`);
  if (m.server?.countsAgree === false) {
    warn(
      `${m.key}: the servers counted ${m.server.deliveriesCounted} deliveries, the tester read ${m.server.testerFrames}`,
    );
  }
}
