/**
 * The saved form of a chat run (results/*.json with schema handoff-bench-chat/1)
 * and its summary rows. Bump CHAT_SCHEMA when a field changes meaning.
 *
 * The figure to put beside NATS and Redis is `deliveriesPerSec.receivers`:
 * deliveries to the connections that only receive. In handoff a sender is a
 * room member and gets every other sender's messages too (recipients per
 * message = receivers + senders - 1); `deliveriesPerSec.all` counts those.
 */
import type { LatencySummaryUs } from '../shared/latency.ts';
import { formatSize } from '../shared/format.ts';
import { groupByKey, roundsNoise, type RunEnvelope } from './result.ts';
import { median } from '../shared/stats.ts';

/** What a chat run measures: handoff's chat, a nats-server or a redis-server (each speaks its own wire). */
export const TARGET_KINDS = ['handoff', 'nats', 'redis'] as const;

/** What joins the chat bench's handoff servers: `local` is one server's own threads (no service). */
export const BENCH_BUSES = ['local', 'redis', 'redis-cluster', 'nats'] as const;
export type BenchBus = (typeof BENCH_BUSES)[number];
export type TargetKind = (typeof TARGET_KINDS)[number];

export const CHAT_SCHEMA = 'handoff-bench-chat/1';

export interface ChatSample {
  /** Seconds since the start of the measured window, at the end of this sample. */
  t: number;
  seconds: number;
  sent: number;
  deliveries: number;
  receiverDeliveries: number;
  receiverDeliveriesPerSec: number;
  errors: number;
}

export interface ChatMeasurement {
  /** `variant connections size`: what repeats across rounds. */
  key: string;
  /** One line of the chart: the server and how it runs (`handoff w2`, `nats-server`). */
  variant: string;
  round: number;
  targetKind: TargetKind;
  serverWorkers: number | null;
  /** Embedded handoff servers in the measurement, and the bus between them; null for other targets. */
  servers: number | null;
  bus: BenchBus | null;
  /** Whether the bus was one redis-server (the field of runs before `bus`). */
  redis: boolean;
  sizeBytes: number;
  headerBytes: number;
  /** Connections: senders + receivers. */
  clients: number;
  senders: number;
  /** Connections that only receive. */
  receivers: number;
  rooms: number;
  /** Deliveries one message makes (averaged over the rooms when they differ). */
  recipientsPerMessage: number;
  window: number;
  /** Total messages/s of all senders in rate mode; 0 = closed loop. */
  rate: number;
  /** Connect and enter the room, every connection. */
  setup: { ms: number; connectMs: number };
  windowSeconds: number;
  /** Messages sent inside the window, and per second. */
  sent: { window: number; total: number; perSec: number };
  deliveriesPerSec: {
    /** Deliveries read in the window by every receiving connection (handoff's senders included). */
    all: number;
    /** By the connections that only receive: the figure to compare across servers. */
    receivers: number;
    /** Per-second samples of the receivers' figure. */
    mean: number;
    stdev: number;
    min: number;
    max: number;
  };
  samples: ChatSample[];
  /** Send (due) time to receipt, every distinct delivery of a message sent inside the window. */
  latencyUs: LatencySummaryUs;
  /** HdrHistogram V2 compressed base64, values in nanoseconds. */
  histogram: string;
  /**
   * Checked at every receiving connection, per sender: expected = what the
   * other senders of its room sent; lost = expected - distinct received, after
   * the drain (exact). `...Total` counts every message, warm-up included.
   */
  check: {
    expected: number;
    delivered: number;
    lost: number;
    expectedTotal: number;
    deliveredTotal: number;
    lostTotal: number;
    duplicates: number;
    reordered: number;
    reorderedFar: number;
    gaps: number;
    gapMessages: number;
    unexpected: number;
    receiversWithLoss: number;
    closedConnections: number;
    /** Redis PUBLISH replies that reached another number of subscribers than the room has. */
    ackMismatches: number;
    drained: boolean;
    drainMs: number;
  };
  /** Window deliveries of the least and the most served receiver. */
  perReceiver: { min: number; max: number };
  presenceEvents: number;
  /** Wire bytes per second, MB (1e6), in the window. */
  rxMBps: number;
  txMBps: number;
  errors: { total: number; kinds: Record<string, number>; first: string };
  server: {
    /** Each process serving the room, with its own CPU seconds in the window (null: could not be read). */
    processes: Array<{ name: string; pid: number; cpuSeconds?: number | null }>;
    cpuSeconds: number | null;
    /** Server CPU per delivery to any recipient, µs. */
    cpuUsPerDelivery: number | null;
    /** Handoff: deliveries its servers counted over the measurement, and delivery frames the tester read. */
    deliveriesCounted: number | null;
    testerFrames: number;
    countsAgree: boolean | null;
  } | null;
  tester: {
    cpuSeconds: number;
    cpuUsPerDelivery: number;
    /** Deliveries per read system call in the window (the fewer, the more each costs). */
    deliveriesPerRead: number;
    threadUtilization: number[];
    machineBusy: number | null;
    saturated: boolean;
  };
}

export interface ChatSummaryRow {
  variant: string;
  targetKind: TargetKind;
  sizeBytes: number;
  clients: number;
  receivers: number;
  senders: number;
  rounds: number;
  /** Median over rounds of the deliveries/s to receivers. */
  deliveriesPerSec: number;
  deliveriesPerSecMin: number;
  deliveriesPerSecMax: number;
  /** To every recipient (handoff's senders included). */
  allDeliveriesPerSec: number;
  sentPerSec: number;
  /** Half the range over rounds / median, or the per-second CV with one round; null when unknown. */
  noise: number | null;
  /** Latency samples over the rounds (0: no message sent inside a window was delivered, the latencies mean nothing). */
  latencySamples: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  lost: number;
  lostTotal: number;
  duplicates: number;
  reordered: number;
  errors: number;
  serverCpuUsPerDelivery: number | null;
  testerSaturated: boolean;
}

export interface ChatResult extends RunEnvelope {
  schema: typeof CHAT_SCHEMA;
  measurements: ChatMeasurement[];
  summary: ChatSummaryRow[];
}

export function chatVariantKey(variant: string, clients: number, sizeBytes: number): string {
  return `${variant} ${clients} conns ${formatSize(sizeBytes)}`;
}

/** One row per variant x connections x size, over its rounds, in the order first measured. */
export function summarizeChat(measurements: readonly ChatMeasurement[]): ChatSummaryRow[] {
  return groupByKey(measurements).map((g) => {
    const first = g[0]!;
    const rates = g.map((m) => m.deliveriesPerSec.receivers);
    const noise = roundsNoise(rates, first.samples, first.deliveriesPerSec);
    const cpu = g.map((m) => m.server?.cpuUsPerDelivery).filter((v): v is number => typeof v === 'number');
    const sum = (f: (m: ChatMeasurement) => number) => g.reduce((a, m) => a + f(m), 0);
    return {
      variant: first.variant,
      targetKind: first.targetKind,
      sizeBytes: first.sizeBytes,
      clients: first.clients,
      receivers: first.receivers,
      senders: first.senders,
      rounds: g.length,
      deliveriesPerSec: median(rates),
      deliveriesPerSecMin: Math.min(...rates),
      deliveriesPerSecMax: Math.max(...rates),
      allDeliveriesPerSec: median(g.map((m) => m.deliveriesPerSec.all)),
      sentPerSec: median(g.map((m) => m.sent.perSec)),
      noise,
      latencySamples: sum((m) => m.latencyUs.count),
      p50Us: median(g.map((m) => m.latencyUs.p50)),
      p90Us: median(g.map((m) => m.latencyUs.p90)),
      p99Us: median(g.map((m) => m.latencyUs.p99)),
      p999Us: median(g.map((m) => m.latencyUs.p999)),
      maxUs: Math.max(...g.map((m) => m.latencyUs.max)),
      lost: sum((m) => m.check.lost),
      lostTotal: sum((m) => m.check.lostTotal),
      duplicates: sum((m) => m.check.duplicates),
      reordered: sum((m) => m.check.reordered),
      errors: sum((m) => m.errors.total),
      serverCpuUsPerDelivery: cpu.length ? median(cpu) : null,
      testerSaturated: g.some((m) => m.tester.saturated),
    };
  });
}
