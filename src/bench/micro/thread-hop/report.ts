/** The thread hop's summaries over rounds, its table, and its JSON record. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { dirname } from 'node:path';
import { median } from '../../shared/stats.ts';
import { caseName, type HopOptions, LATENCY_DISCARD, percentile, type RunResult } from './run-case.ts';
import { type CaseSpec, FRAME_BYTES, type Shape, type Transport } from './wire.ts';

export interface CaseSummary {
  name: string;
  transport: Transport;
  shape: Shape;
  n: number;
  median: Omit<RunResult, 'round' | 'latencyUs' | 'timeOriginsEqual'>;
  /** Percentiles of all rounds' samples pooled. */
  pooledLatencyP50Us: number;
  pooledLatencyP99Us: number;
  runs: RunResult[];
}

const MEDIAN_KEYS = [
  'batchesPerSecond',
  'framesPerSecond',
  'aCpuUsPerBatch',
  'bCpuUsPerBatch',
  'aCpuUsPerFrame',
  'bCpuUsPerFrame',
  'aBusyPercent',
  'bBusyPercent',
  'processCpuUsPerFrame',
  'aNotifiesPerBatch',
  'bNotifiesPerBatch',
  'ringFullWaits',
  'latencyP50Us',
  'latencyP99Us',
  'latencyMaxUs',
  'aIdleCpuUsPerBatch',
  'bIdleCpuUsPerBatch',
] as const;

export function summarise(spec: CaseSpec, runs: RunResult[]): CaseSummary {
  const m = {} as CaseSummary['median'];
  for (const k of MEDIAN_KEYS) m[k] = finiteMedian(runs.map((r) => r[k]));
  const pooled = runs.flatMap((r) => r.latencyUs).sort((x, y) => x - y);
  return {
    name: caseName(spec),
    ...spec,
    median: m,
    pooledLatencyP50Us: percentile(pooled, 50),
    pooledLatencyP99Us: percentile(pooled, 99),
    runs,
  };
}

export function rate(n: number, unit: string): string {
  if (!Number.isFinite(n)) return '-';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M${unit}`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k${unit}`;
  return `${n.toFixed(0)} ${unit}`;
}

export function micros(us: number): string {
  if (!Number.isFinite(us)) return '-';
  if (us >= 1000) return `${(us / 1000).toFixed(2)} ms`;
  if (us >= 100) return `${us.toFixed(0)} µs`;
  if (us >= 10) return `${us.toFixed(1)} µs`;
  if (us >= 1) return `${us.toFixed(2)} µs`;
  return `${(us * 1000).toFixed(0)} ns`;
}

/** A markdown table, its columns padded so that it also reads on a terminal. */
function table(summaries: readonly CaseSummary[]): string {
  const head = [
    'transport',
    'shape',
    'N',
    'batches/s',
    'frames/s',
    'A CPU/batch',
    'A CPU/frame',
    'B CPU/batch',
    'B CPU/frame',
    'A busy',
    'B busy',
    'idle p50',
    'idle p99',
    'B CPU/idle batch',
  ];
  const right = new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
  const rows = summaries.map((s) => {
    const m = s.median;
    return [
      s.transport,
      s.shape,
      String(s.n),
      rate(m.batchesPerSecond, '/s'),
      rate(m.framesPerSecond, '/s'),
      micros(m.aCpuUsPerBatch),
      micros(m.aCpuUsPerFrame),
      micros(m.bCpuUsPerBatch),
      micros(m.bCpuUsPerFrame),
      `${m.aBusyPercent.toFixed(0)} %`,
      `${m.bBusyPercent.toFixed(0)} %`,
      micros(m.latencyP50Us),
      micros(m.latencyP99Us),
      micros(m.bIdleCpuUsPerBatch),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    `| ${cells.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (right.has(i) ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(head), rule, ...rows.map(line)].join('\n');
}

/** The median of the finite values; NaN (printed "-") when a case has none. */
function finiteMedian(values: readonly number[]): number {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length === 0 ? NaN : median(finite);
}

/** How a run was made: what the report's heading and the JSON record say. */
export interface HopRun {
  rounds: number;
  options: HopOptions;
  started: number;
  elapsedSeconds: number;
}

export function printReport(summaries: readonly CaseSummary[], run: HopRun): void {
  const { rounds, options: o } = run;
  console.log(
    `\nThread hop A -> B, medians of ${rounds} rounds; ${o.seconds} s closed loop (<= ${o.window} batches in flight), frames of ${FRAME_BYTES} B.`,
  );
  console.log('CPU = process.threadCpuUsage() of that thread (user + system); busy = its CPU time / wall time;');
  console.log(
    `idle p50/p99 = one-way latency of one batch on an idle pipe (${o.latencySamples} samples per round, 1 ms apart);`,
  );
  console.log('B CPU/idle batch = B thread CPU per batch in that idle phase (wake-up included).\n');
  console.log(table(summaries));
  const fullWaits = summaries.reduce((sum, s) => sum + s.runs.reduce((x, r) => x + r.ringFullWaits, 0), 0);
  console.log(`\nsab-ring full-ring waits: ${fullWaits}. Total ${run.elapsedSeconds.toFixed(1)} s.`);
}

export function saveJson(path: string, summaries: readonly CaseSummary[], run: HopRun): void {
  const meta = {
    date: new Date(run.started).toISOString(),
    command: `node src/bench/micro/thread-hop.ts ${process.argv.slice(2).join(' ')}`.trim(),
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    frameBytes: FRAME_BYTES,
    rounds: run.rounds,
    ...run.options,
    latencyDiscardedPerRun: LATENCY_DISCARD,
    elapsedSeconds: run.elapsedSeconds,
    units: {
      batchesPerSecond: 'batches/s received by B',
      framesPerSecond: 'frames/s received by B',
      cpu: 'µs of thread CPU (user + system)',
      busyPercent: '% of one core',
      latency: 'µs, one way, idle pipe',
    },
  };
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify({ meta, cases: summaries }, null, 2)}\n`);
  process.stderr.write(`thread-hop: saved ${path}\n`);
}
