/**
 * The saved form of a run (results/*.json) and the summaries read from it by
 * the report, the chart and compare. Bump SCHEMA when a field changes meaning.
 */
import type { Environment } from '../shared/system.ts';
import type { LatencySummaryUs } from '../shared/latency.ts';
import type { ResolvedBenchOptions } from '../options.ts';
import { median } from '../shared/stats.ts';
import { formatSize } from '../shared/format.ts';
import { type ChurnFigures, type ChurnSummary, summarizeChurn } from './churn.ts';

export const SCHEMA = 'handoff-bench/1';

export interface Sample {
  /** Seconds since the start of the measured window, at the end of this sample. */
  t: number;
  seconds: number;
  messages: number;
  msgsPerSec: number;
  txWireBytes: number;
  rxWireBytes: number;
  errors: number;
}

export interface Measurement {
  /** `strategy h<header> <size>`: what repeats across rounds. */
  key: string;
  /** `strategy h<header>`: one line of the chart, one column of a comparison. */
  variant: string;
  round: number;
  strategy: string | null;
  headerBytes: number;
  sizeBytes: number;
  mode: string;
  clients: number;
  pipelining: number;
  /** Target total msgs/s in rate mode, 0 = closed loop. */
  rate: number;
  connect: { ms: number; failed: number; firstError: string };
  /** Until every connection had its first reply; measuring starts after it. */
  ramp: { ms: number; unramped: number };
  /** `startEpochMs`: when the window began (ms since the Unix epoch); absent in runs saved before it was recorded. */
  window: { seconds: number; messages: number; startEpochMs?: number };
  msgsPerSec: { overall: number; mean: number; stdev: number; min: number; max: number };
  samples: Sample[];
  latencyUs: LatencySummaryUs;
  /** HdrHistogram V2 compressed base64, values in nanoseconds. */
  histogram: string;
  bytes: { txPayload: number; rxPayload: number; txWire: number; rxWire: number; txHeader: number; rxHeader: number };
  /** Megabytes (1e6 bytes) per second, both directions together. */
  payloadMBps: number;
  wireMBps: number;
  /** Header bytes / wire bytes, counted on the frames sent and decoded. */
  headerShare: number;
  errors: { total: number; kinds: Record<string, number>; first: string };
  timeouts: number;
  unanswered: number;
  connAcked: { min: number; max: number };
  server: {
    pid: number;
    workers: number | null;
    cpuSeconds: number | null;
    cpuSecondsPerMillionMsgs: number | null;
    /** Open connections of each server worker during the window (the balance). */
    connectionsPerWorker: number[];
    /** Messages the server counted over the whole measurement, and the tester's acks. */
    messages: number | null;
    testerAcked: number;
    countsAgree: boolean | null;
  } | null;
  tester: {
    /** The whole tester process over the window (every thread, the orchestrator's too). */
    cpuSeconds: number;
    cpuUsPerMsg: number;
    /** The load threads alone: each one's CPU over the window, and their sum per message; absent in runs saved before it was recorded. */
    loadThreads?: { cpuSeconds: number[]; cpuUsPerMsg: number };
    /** Event-loop utilisation of each load thread over the window. */
    threadUtilization: number[];
    machineBusy: number | null;
    /** The tester machine's cores (what --workers could use); absent in runs saved before it was recorded. */
    cores?: number;
    saturated: boolean;
  };
  /** Connection churn (--churn): absent when connections stayed open. */
  churn?: ChurnFigures;
}

export interface SummaryRow {
  variant: string;
  strategy: string | null;
  headerBytes: number;
  sizeBytes: number;
  rounds: number;
  /** Median over rounds of each round's overall msgs/s. */
  msgsPerSec: number;
  msgsPerSecMin: number;
  msgsPerSecMax: number;
  /** Run-to-run noise: (max - min) / 2 / median over rounds, or per-second CV with one round; null with one round of fewer than 2 full seconds. */
  noise: number | null;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  payloadMBps: number;
  wireMBps: number;
  headerShare: number;
  errors: number;
  timeouts: number;
  serverCpuSecondsPerMillionMsgs: number | null;
  /** The load threads' own CPU per message (median over rounds; CPU-s per million = µs each); absent or null in runs saved before it was recorded. */
  testerCpuSecondsPerMillionMsgs?: number | null;
  testerSaturated: boolean;
  /** Connection churn's figures over the rounds (--churn). */
  churn?: ChurnSummary;
}

/** What every saved run says about itself, besides its measurements (ack, echo and chat runs alike). */
export interface RunEnvelope {
  label: string;
  environment: Environment;
  options: ResolvedBenchOptions;
  target: { kind: 'embedded' | 'external'; host: string; port: number | null };
  startedAt: string;
  finishedAt: string;
  warnings: string[];
}

export interface BenchResult extends RunEnvelope {
  schema: typeof SCHEMA;
  measurements: Measurement[];
  summary: SummaryRow[];
}

/** The load threads' own CPU over the window (each thread's, read by itself), and their sum per message of the window. */
export function loadThreadFigures(cpuSeconds: number[], messages: number): { cpuSeconds: number[]; cpuUsPerMsg: number } {
  const total = cpuSeconds.reduce((a, b) => a + b, 0);
  return { cpuSeconds, cpuUsPerMsg: messages > 0 ? (total * 1e6) / messages : 0 };
}

export function variantName(strategy: string | null, headerBytes: number): string {
  return `${strategy ?? 'target'} h${headerBytes}`;
}

export function measurementKey(strategy: string | null, headerBytes: number, sizeBytes: number): string {
  return `${variantName(strategy, headerBytes)} ${formatSize(sizeBytes)}`;
}

/** Measurements grouped by key (the rounds of one thing), in the order first measured. */
export function groupByKey<T extends { key: string }>(items: readonly T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const g = groups.get(item.key);
    if (g) g.push(item);
    else groups.set(item.key, [item]);
  }
  return [...groups.values()];
}

/**
 * Run-to-run noise of a figure measured in rounds: half the range over the
 * median; with one round, the coefficient of variation of its per-second
 * samples; null when that round had fewer than 2 full seconds (one sample has no spread).
 */
export function roundsNoise(
  rates: readonly number[],
  firstSamples: ReadonlyArray<{ seconds: number }>,
  perSecond: { mean: number; stdev: number },
): number | null {
  if (rates.length > 1) {
    const med = median(rates);
    return med > 0 ? (Math.max(...rates) - Math.min(...rates)) / 2 / med : 0;
  }
  if (firstSamples.filter((s) => s.seconds >= 0.999).length < 2) return null;
  return perSecond.mean > 0 ? perSecond.stdev / perSecond.mean : 0;
}

/** One row per variant x size, over its rounds; in the order first measured. */
export function summarizeMeasurements(measurements: readonly Measurement[]): SummaryRow[] {
  return groupByKey(measurements).map((g) => {
    const first = g[0]!;
    const rates = g.map((m) => m.msgsPerSec.overall);
    const med = median(rates);
    const min = Math.min(...rates);
    const max = Math.max(...rates);
    const noise = roundsNoise(rates, first.samples, first.msgsPerSec);
    const cpu = g.map((m) => m.server?.cpuSecondsPerMillionMsgs).filter((v): v is number => typeof v === 'number');
    const testerCpu = g.flatMap((m) => (m.tester.loadThreads ? [m.tester.loadThreads.cpuUsPerMsg] : []));
    return {
      variant: first.variant,
      strategy: first.strategy,
      headerBytes: first.headerBytes,
      sizeBytes: first.sizeBytes,
      rounds: g.length,
      msgsPerSec: med,
      msgsPerSecMin: min,
      msgsPerSecMax: max,
      noise,
      p50Us: median(g.map((m) => m.latencyUs.p50)),
      p99Us: median(g.map((m) => m.latencyUs.p99)),
      p999Us: median(g.map((m) => m.latencyUs.p999)),
      maxUs: Math.max(...g.map((m) => m.latencyUs.max)),
      payloadMBps: median(g.map((m) => m.payloadMBps)),
      wireMBps: median(g.map((m) => m.wireMBps)),
      headerShare: median(g.map((m) => m.headerShare)),
      errors: g.reduce((a, m) => a + m.errors.total, 0),
      timeouts: g.reduce((a, m) => a + m.timeouts, 0),
      serverCpuSecondsPerMillionMsgs: cpu.length ? median(cpu) : null,
      testerCpuSecondsPerMillionMsgs: testerCpu.length ? median(testerCpu) : null,
      testerSaturated: g.some((m) => m.tester.saturated),
      ...(first.churn ? { churn: summarizeChurn(g.map((m) => m.churn!)) } : {}),
    };
  });
}
