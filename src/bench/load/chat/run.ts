/**
 * Orchestration of a chat run (mode 'chat'): for each round and variant
 * (handoff with N workers, handoff x2 on Redis, nats-server, redis-server) a
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
import { meanStdev } from '../../results/result.ts';
import { PHASE, readNamed } from '../counters.ts';
import { mergeHistograms, encodeHistogram, summarize } from '../histogram.ts';
import { ThreadPool, type ThreadScript } from '../pool.ts';
import { SATURATED_UTILIZATION } from '../run.ts';
import { runRounds } from '../rounds.ts';
import { type CounterReader, measureWindow, type PlanInfo, type RunHooks } from '../window.ts';
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

export interface ChatPlan extends PlanInfo {
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
export function chatVariants(options: ResolvedBenchOptions): ChatVariant[] {
  const chat = options.chat!;
  const external = options.target;
  return chat.targetKinds.flatMap((kind): ChatVariant[] => {
    if (external)
      return [{ name: variantName(kind, null, false, true), kind, serverWorkers: null, redis: false, external }];
    if (kind !== 'handoff')
      return [{ name: variantName(kind, null, false, false), kind, serverWorkers: null, redis: false, external: null }];
    return chat.serverWorkers.map((w) => ({
      name: variantName(kind, w, chat.redis, false),
      kind,
      serverWorkers: w,
      redis: chat.redis,
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

async function measureChat(
  options: ResolvedBenchOptions,
  pool: ChatPool,
  target: ChatTarget,
  plan: ChatPlan,
  hooks: ChatRunHooks,
  warn: (text: string) => void,
): Promise<ChatMeasurement> {
  const chat = options.chat!;
  const { variant, clients, sizeBytes } = plan;
  const { senders, rooms } = chat;
  await target.settle();
  const statsBefore = await target.stats();
  const shapes = roomShapes(clients, senders, rooms, variant.kind);
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

  const reader: CounterReader<ChatCounters> = { read: () => readChatCounters(pool), count: (c) => c.deliveries };
  await pool.all<'started'>({ type: 'start', startMs: performance.now() + 1 });
  const durationMs = options.durationS * 1000;
  const { samples, c0, c1, seconds, serverCpuSeconds, testerCpuSeconds, threadUtilization, machineBusy } =
    await measureWindow(
      pool,
      reader,
      options.warmupS,
      { durationMs, stopAtCount: 0, limitMs: durationMs },
      chatSample,
      () => target.cpuSeconds(),
      { onPhase: (phase) => hooks.onPhase?.(plan, phase), onTick: (tick) => hooks.onTick?.(plan, tick) },
    );

  hooks.onPhase?.(plan, 'drain');
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
  const statsAfter = await target.stats();
  await pool.all<'closed'>({ type: 'close' });

  const w = chatSample(c1, c0, seconds, seconds);
  const perSecond = samples.filter((s) => s.seconds >= 0.999).map((s) => s.receiverDeliveriesPerSec);
  const { mean, stdev } = meanStdev(perSecond.length ? perSecond : [w.receiverDeliveriesPerSec]);
  const histogram = mergeHistograms(drained.map((d) => d.histogram));
  const totalSent = sumOf(sentAll, (n) => n);
  const counted = sumOf(sentCounted, (n) => n);
  const sum = (f: (d: ChatDrained) => number) => sumOf(drained, f);
  const tallies = drained.flatMap((d) => d.receivers);
  const errorKinds = mergeKinds(drained.map((d) => d.errorKinds));
  const errorTotal = sumOf(Object.values(errorKinds), (n) => n);
  const testerCpu = testerCpuSeconds;
  const serverCpu = serverCpuSeconds;
  const frames = sum((d) => d.frames + d.presence);
  const deliveriesCounted = statsBefore && statsAfter ? statsAfter.deliveries - statsBefore.deliveries : null;
  const saturated = threadUtilization.some((u) => u >= SATURATED_UTILIZATION);
  const m: ChatMeasurement = {
    key: plan.key,
    variant: variant.name,
    round: plan.round,
    targetKind: variant.kind,
    serverWorkers: variant.serverWorkers,
    redis: variant.redis,
    sizeBytes,
    headerBytes: options.headerBytes[0]!,
    clients,
    senders,
    receivers: clients - senders,
    rooms,
    recipientsPerMessage:
      totalSent > 0
        ? expectedDeliveries(sentAll, rooms, shapes) / totalSent
        : sumOf(shapes, (s) => s.recipients * s.senders) / senders,
    window: chat.window,
    rate: options.rate,
    setup: { ms: Math.max(...ready.map((r) => r.readyMs)), connectMs: Math.max(...ready.map((r) => r.connectMs)) },
    windowSeconds: seconds,
    sent: { window: counted, total: totalSent, perSec: counted / seconds },
    deliveriesPerSec: {
      all: w.deliveries / seconds,
      receivers: w.receiverDeliveriesPerSec,
      mean,
      stdev,
      min: perSecond.length ? Math.min(...perSecond) : w.receiverDeliveriesPerSec,
      max: perSecond.length ? Math.max(...perSecond) : w.receiverDeliveriesPerSec,
    },
    samples,
    latencyUs: summarize(histogram),
    histogram: encodeHistogram(histogram),
    check: checkOf(drained),
    perReceiver: {
      min: Math.min(...tallies.filter((t) => t.receiverOnly).map((t) => t.inWindow)),
      max: Math.max(...tallies.filter((t) => t.receiverOnly).map((t) => t.inWindow)),
    },
    presenceEvents: sum((d) => d.presence),
    rxMBps: (c1.rxWire - c0.rxWire) / seconds / 1e6,
    txMBps: (c1.txWire - c0.txWire) / seconds / 1e6,
    errors: { total: errorTotal, kinds: errorKinds, first: drained.find((d) => d.firstError)?.firstError ?? '' },
    server:
      target.processes.length === 0
        ? null
        : {
            processes: target.processes,
            cpuSeconds: serverCpu,
            cpuUsPerDelivery: serverCpu !== null && w.deliveries > 0 ? (serverCpu * 1e6) / w.deliveries : null,
            deliveriesCounted,
            testerFrames: frames,
            countsAgree: deliveriesCounted === null ? null : deliveriesCounted === frames,
          },
    tester: {
      cpuSeconds: testerCpu,
      cpuUsPerDelivery: w.deliveries > 0 ? (testerCpu * 1e6) / w.deliveries : 0,
      deliveriesPerRead: c1.reads > c0.reads ? w.deliveries / (c1.reads - c0.reads) : 0,
      threadUtilization,
      machineBusy,
      saturated,
    },
  };
  warnAbout(m, warn);
  return m;
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
