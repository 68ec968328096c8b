/**
 * Two runs (or two variants of one run) side by side, per payload size, with
 * the ratio and whether it is beyond the run-to-run noise.
 *
 * Not a t-test over messages (autocannon-compare's): messages of one run are
 * not independent samples, so such a test calls nearly any difference
 * significant. The unit of evidence here is a repeated measurement: the
 * spread of each side's rounds (--repeat), or, for two variants of one run,
 * the spread of the per-round ratios, rounds having been interleaved A B A B so
 * that drift hits both sides alike. With a single round the noise falls back
 * to the per-second spread, which underestimates it; the output says so.
 */
import { stat, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compareChartSpec, renderSvg } from './chart.ts';
import { boolean, text } from '../../options/validators.ts';
import { InvalidOptionError, ResultsFileError } from '../../protocol/index.ts';
import { fmtInt, fmtUs, formatSize } from '../format.ts';
import { markdownTable, textTable } from './report.ts';
import { type AnyResult, isChatResult, listRuns, readResult, runFileStem } from './saved-runs.ts';
import { type Measurement, median } from './result.ts';

/** What `handoff compare` takes: the runs to compare, and where the comparison goes. */
export interface CompareOptions {
  /** Two result files, a results folder (its two newest runs), or one run with two variants. */
  runs: readonly string[];
  /** Folder for the comparison files (markdown + SVG). */
  out?: string;
  /** Write the comparison files under `out`. */
  save?: boolean;
  /** Print the comparison as JSON. */
  json?: boolean;
}

export type ResolvedCompareOptions = Readonly<Required<CompareOptions>>;

export const COMPARE_DEFAULTS = Object.freeze({ out: 'results', save: true, json: false });

/** Validates every field once, naming the option, and fills in defaults. */
export function resolveCompareOptions(options: CompareOptions): ResolvedCompareOptions {
  const runs: unknown = options.runs;
  if (!Array.isArray(runs) || runs.length === 0) {
    throw new InvalidOptionError('runs', '{runs} needs at least one result file or folder');
  }
  return Object.freeze({
    runs: Object.freeze(runs.map((run) => text('runs', run, { nonEmpty: true }))),
    out: text('out', options.out ?? COMPARE_DEFAULTS.out),
    save: boolean('save', options.save ?? COMPARE_DEFAULTS.save),
    json: boolean('json', options.json ?? COMPARE_DEFAULTS.json),
  });
}

export type Verdict = 'B faster' | 'B slower' | 'within noise' | 'no noise estimate';

export interface ComparisonRow {
  sizeBytes: number;
  /** What was compared: the payload size, and in a chat run the connections too. */
  point: string;
  variantA: string;
  variantB: string;
  a: number;
  b: number;
  ratio: number;
  /** Relative half-width of the noise band around ratio 1; null when a side had no estimate. */
  noise: number | null;
  verdict: Verdict;
  /** 'rounds' when judged on repeated measurements, 'per-second' when only one round existed. */
  basis: 'paired rounds' | 'rounds' | 'per-second';
  p99A: number;
  p99B: number;
  /** Server CPU-s per million messages (ack, echo) or deliveries (chat): µs each. */
  cpuA: number | null;
  cpuB: number | null;
}

export interface Comparison {
  nameA: string;
  nameB: string;
  /** What a and b count: 'msgs/s' (ack, echo) or 'deliveries/s' (chat, to receivers). */
  unit: string;
  rows: ComparisonRow[];
  notes: string[];
}

interface Side {
  name: string;
  result: AnyResult;
  variant: string | null;
}

/** A summary row of either kind of run, as compare sees it. */
interface Point {
  /** Equal on both sides for the rows that are compared. */
  match: string;
  label: string;
  sizeBytes: number;
  variant: string;
  rate: number;
  noise: number | null;
  rounds: number;
  p99Us: number;
  cpu: number | null;
  saturated: boolean;
  /** Each round's figure. */
  byRound(): Map<number, number>;
}

function pointsOf(result: AnyResult): Point[] {
  if (isChatResult(result)) {
    return result.summary.map((r) => ({
      match: `${r.clients}/${r.sizeBytes}`,
      label: `${r.receivers} receivers, ${formatSize(r.sizeBytes)}`,
      sizeBytes: r.sizeBytes,
      variant: r.variant,
      rate: r.deliveriesPerSec,
      noise: r.noise,
      rounds: r.rounds,
      p99Us: r.p99Us,
      cpu: r.serverCpuUsPerDelivery,
      saturated: r.testerSaturated,
      byRound: () =>
        new Map(
          result.measurements
            .filter((m) => m.variant === r.variant && m.sizeBytes === r.sizeBytes && m.clients === r.clients)
            .map((m) => [m.round, m.deliveriesPerSec.receivers] as const),
        ),
    }));
  }
  // Churn runs: each K is a point of its own (K messages per connection).
  const churnOf = (churn: { messagesPerConnection: number } | undefined) => (churn ? churn.messagesPerConnection : 0);
  return result.summary.map((r) => ({
    match: `${r.sizeBytes}/${churnOf(r.churn)}`,
    label: formatSize(r.sizeBytes) + (r.churn ? ` churn ${r.churn.messagesPerConnection}` : ''),
    sizeBytes: r.sizeBytes,
    variant: r.variant,
    rate: r.msgsPerSec,
    noise: r.noise,
    rounds: r.rounds,
    p99Us: r.p99Us,
    cpu: r.serverCpuSecondsPerMillionMsgs,
    saturated: r.testerSaturated,
    byRound: () =>
      new Map(
        result.measurements
          .filter(
            (m: Measurement) =>
              m.variant === r.variant && m.sizeBytes === r.sizeBytes && churnOf(m.churn) === churnOf(r.churn),
          )
          .map((m) => [m.round, m.msgsPerSec.overall] as const),
      ),
  }));
}

function verdictOf(ratio: number, noise: number | null): Verdict {
  if (ratio === 1) return 'within noise'; // no difference is within any noise
  if (noise === null) return 'no noise estimate';
  if (Math.abs(ratio - 1) <= noise) return 'within noise';
  return ratio > 1 ? 'B faster' : 'B slower';
}

/** Matching rows of A and B by payload size (and connections, for chat); by variant too when both sides have it. */
export function compareRuns(A: Side, B: Side): Comparison {
  if (isChatResult(A.result) !== isChatResult(B.result)) {
    throw new ResultsFileError(
      `${A.name} and ${B.name} measure different things (one is a chat run, the other an ${isChatResult(A.result) ? B.result.options.mode : A.result.options.mode} run)`,
    );
  }
  const notes: string[] = [];
  const rowsOf = (s: Side) => pointsOf(s.result).filter((r) => s.variant === null || r.variant === s.variant);
  const rowsA = rowsOf(A);
  const rowsB = rowsOf(B);
  const variantsA = new Set(rowsA.map((r) => r.variant));
  const variantsB = new Set(rowsB.map((r) => r.variant));
  const byVariant = !(variantsA.size === 1 && variantsB.size === 1);
  const sameRun = A.result === B.result;
  const rows: ComparisonRow[] = [];
  for (const ra of rowsA) {
    const rb = rowsB.find((r) => r.match === ra.match && (!byVariant || r.variant === ra.variant));
    if (!rb) continue;
    rows.push(sameRun ? pairedRow(ra, rb) : independentRow(ra, rb));
  }
  if (rows.length === 0) throw new ResultsFileError(`${A.name} and ${B.name} have no payload size in common`);
  if (rows.some((r) => r.basis === 'per-second')) {
    notes.push(
      'Some sizes had one round only: their noise is the per-second spread, which understates run-to-run noise. Use --repeat 3 or more.',
    );
  }
  if (
    A.result.environment.cpuModel !== B.result.environment.cpuModel ||
    A.result.environment.cores !== B.result.environment.cores
  ) {
    notes.push(
      `The runs come from different machines (${A.result.environment.cpuModel} vs ${B.result.environment.cpuModel}).`,
    );
  }
  for (const [s, points] of [
    [A, rowsA],
    [B, rowsB],
  ] as const) {
    if (points.some((r) => r.saturated)) notes.push(`${s.name}: the tester was saturated in some measurements.`);
  }
  const unit = isChatResult(A.result) ? 'deliveries/s' : 'msgs/s';
  return { nameA: A.name, nameB: B.name, unit, rows, notes };
}

function baseRow(ra: Point, rb: Point) {
  return {
    sizeBytes: ra.sizeBytes,
    point: ra.label,
    variantA: ra.variant,
    variantB: rb.variant,
    a: ra.rate,
    b: rb.rate,
    p99A: ra.p99Us,
    p99B: rb.p99Us,
    cpuA: ra.cpu,
    cpuB: rb.cpu,
  };
}

/** Two separate runs: the noise bands of both sides added (ranges that do not overlap differ). */
function independentRow(ra: Point, rb: Point): ComparisonRow {
  const ratio = ra.rate > 0 ? rb.rate / ra.rate : Number.POSITIVE_INFINITY;
  const noise = ra.noise === null || rb.noise === null ? null : ra.noise + rb.noise;
  const basis = ra.rounds > 1 && rb.rounds > 1 ? 'rounds' : 'per-second';
  return { ...baseRow(ra, rb), ratio, noise, verdict: verdictOf(ratio, noise), basis };
}

/** Two variants of one interleaved run: ratio per round, judged against the spread of those ratios. */
function pairedRow(ra: Point, rb: Point): ComparisonRow {
  const a = ra.byRound();
  const b = rb.byRound();
  const ratios: number[] = [];
  for (const [round, va] of a) {
    const vb = b.get(round);
    if (vb !== undefined && va > 0) ratios.push(vb / va);
  }
  if (ratios.length < 2) return independentRow(ra, rb);
  const ratio = median(ratios);
  const noise = (Math.max(...ratios) - Math.min(...ratios)) / 2 / ratio;
  return { ...baseRow(ra, rb), ratio, noise, verdict: verdictOf(ratio, noise), basis: 'paired rounds' };
}

/**
 * What to compare, from the command line: two result files; a folder (its two
 * newest runs); or one file whose run has two variants (strategies or header sizes).
 */
export async function resolveSides(paths: readonly string[]): Promise<[Side, Side]> {
  const expanded: Side[] = [];
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = (await stat(p)).isDirectory();
    } catch (err) {
      throw new ResultsFileError(`cannot read ${p}: ${(err as Error).message}`, { cause: err });
    }
    if (isDir) {
      const runs = await listRuns(p);
      for (const run of runs.slice(-2))
        expanded.push({ name: path.basename(run.file, '.json'), result: run.result, variant: null });
      if (runs.length === 0) throw new ResultsFileError(`${p} holds no saved runs`);
    } else {
      expanded.push({ name: path.basename(p, '.json'), result: await readResult(p), variant: null });
    }
  }
  if (expanded.length === 1) {
    const only = expanded[0]!;
    const variants = [...new Set(only.result.summary.map((r) => r.variant))];
    if (variants.length < 2) {
      throw new ResultsFileError(`${only.name} holds one run of one variant: give two results to compare`);
    }
    return [
      { name: `${only.name} ${variants[0]}`, result: only.result, variant: variants[0]! },
      { name: `${only.name} ${variants[1]}`, result: only.result, variant: variants[1]! },
    ];
  }
  if (expanded.length !== 2) throw new ResultsFileError(`compare takes two runs, got ${expanded.length}`);
  return [expanded[0]!, expanded[1]!];
}

const head = (unit: string) => [
  'size',
  'A',
  'B',
  `A ${unit}`,
  `B ${unit}`,
  'B/A',
  'noise ±',
  'verdict',
  'basis',
  'A p99',
  'B p99',
  'A srv CPU-s/M',
  'B srv CPU-s/M',
];
const RIGHT = new Set([3, 4, 5, 6, 9, 10, 11, 12]);

function cells(r: ComparisonRow): string[] {
  const cpu = (v: number | null) => (v === null ? 'n/a' : v.toFixed(2));
  return [
    r.point,
    r.variantA,
    r.variantB,
    fmtInt(r.a),
    fmtInt(r.b),
    r.ratio.toFixed(3),
    r.noise === null ? 'n/a' : `${(r.noise * 100).toFixed(1)}%`,
    r.verdict,
    r.basis,
    fmtUs(r.p99A),
    fmtUs(r.p99B),
    cpu(r.cpuA),
    cpu(r.cpuB),
  ];
}

export function comparisonText(c: Comparison): string {
  return [
    `A: ${c.nameA}`,
    `B: ${c.nameB}`,
    '',
    textTable(head(c.unit), c.rows.map(cells), RIGHT),
    ...c.notes.map((n) => `note: ${n}`),
  ].join('\n');
}

export function comparisonMarkdown(c: Comparison, chartFile?: string): string {
  return [
    `# ${c.nameA} vs ${c.nameB}`,
    '',
    `A: \`${c.nameA}\`, B: \`${c.nameB}\`. Verdict: the difference counts only when the ratio lies outside the run-to-run noise band.`,
    '',
    ...(chartFile ? [`![${c.unit} ratio B/A per point](${chartFile})`, ''] : []),
    markdownTable(head(c.unit), c.rows.map(cells), RIGHT),
    '',
    ...c.notes.map((n) => `- ${n}`),
    '',
  ].join('\n');
}

/** Writes compare-<A>-vs-<B>.md and .svg into `dir`; returns their paths. */
export async function saveComparison(c: Comparison, dir: string): Promise<{ markdown: string; svg: string }> {
  await mkdir(dir, { recursive: true });
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 60);
  const stem = `compare-${clean(c.nameA)}-vs-${clean(c.nameB)}`;
  const svg = path.join(dir, `${stem}.svg`);
  const markdown = path.join(dir, `${stem}.md`);
  const points = c.rows.map((r) => ({
    sizeBytes: r.sizeBytes,
    point: r.point,
    ratio: r.ratio,
    noise: r.noise,
    verdict: r.verdict,
  }));
  await writeFile(svg, await renderSvg(compareChartSpec(points, `${c.nameA} vs ${c.nameB}`, c.unit)));
  await writeFile(markdown, comparisonMarkdown(c, path.basename(svg)));
  return { markdown, svg };
}

export { runFileStem };
