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
import { IncomparableRunsError, InvalidOptionError, ResultsFileError } from '../../protocol/index.ts';
import { fmtInt, fmtUs, formatSize } from '../shared/format.ts';
import { type Column, markdownColumns } from '../shared/table.ts';
import { fittedTable, terminalWidth, wrapText } from '../shared/fit.ts';
import { type AnyResult, isChatResult, listRuns, readResult } from './saved-runs.ts';
import { type Measurement } from './result.ts';
import { median } from '../shared/stats.ts';
import type { ChatMeasurement } from './chat-result.ts';

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
  /** Compare runs whose load differs (clients, rate, ...) all the same; every line then says what differs. */
  force?: boolean;
}

export type ResolvedCompareOptions = Readonly<Required<CompareOptions>>;

export const COMPARE_DEFAULTS = Object.freeze({ out: 'results', save: true, json: false, force: false });

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
    force: boolean('force', options.force ?? COMPARE_DEFAULTS.force),
  });
}

type Verdict = 'B faster' | 'B slower' | 'within noise' | 'no noise estimate';

/** A figure other than the rate, B against A: higher or lower beyond the noise, or not. */
export interface MetricComparison {
  name: 'p99' | 'wire MB/s' | 'header share';
  a: number;
  b: number;
  ratio: number;
  noise: number | null;
  verdict: 'B higher' | 'B lower' | 'within noise' | 'no noise estimate';
}

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
  /** p99, wire MB/s and (ack, echo) header share: ratio and verdict, paired by round like the rate. */
  metrics: MetricComparison[];
  /** What differs in the load of the two sides (`clients 500 vs 50`): empty unless --force let it through. */
  loadDiffers: string[];
}

export interface Comparison {
  nameA: string;
  nameB: string;
  /** What a and b count: 'msgs/s' (ack, echo) or 'deliveries/s' (chat, to receivers). */
  unit: string;
  rows: ComparisonRow[];
  notes: string[];
  /** What differs in the load of the runs (`clients 500 vs 50`), when --force compared them anyway. */
  loadDiffers: string[];
}

export interface Side {
  name: string;
  result: AnyResult;
  /** The variant of the run to compare (`handoff h64`), or null for all of them. */
  variant: string | null;
}

/** The figures a comparison reads of each round (the rate first: it decides the verdict). */
type Figure = 'rate' | 'p99' | 'wireMBps' | 'headerShare';


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
  /** Strategy (or target) and header size: the header is the variable when only it differs. */
  strategy: string;
  headerBytes: number;
  /** Each round's value of a figure (absent figures: an empty map). */
  byRound(figure: Figure): Map<number, number>;
}

const chatFigure = (m: ChatMeasurement, figure: Figure): number | null =>
  figure === 'rate'
    ? m.deliveriesPerSec.receivers
    : figure === 'p99'
      ? m.latencyUs.p99
      : figure === 'wireMBps'
        ? m.rxMBps + m.txMBps
        : null;

const ackFigure = (m: Measurement, figure: Figure): number =>
  figure === 'rate'
    ? m.msgsPerSec.overall
    : figure === 'p99'
      ? m.latencyUs.p99
      : figure === 'wireMBps'
        ? m.wireMBps
        : m.headerShare;

function roundsOf<M extends { round: number }>(
  items: readonly M[],
  value: (m: M) => number | null,
): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of items) {
    const v = value(m);
    if (v !== null) out.set(m.round, v);
  }
  return out;
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
      strategy: r.variant,
      headerBytes: result.options.headerBytes[0] ?? 64,
      byRound: (figure) =>
        roundsOf(
          result.measurements.filter(
            (m) => m.variant === r.variant && m.sizeBytes === r.sizeBytes && m.clients === r.clients,
          ),
          (m) => chatFigure(m, figure),
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
    strategy: r.strategy ?? 'target',
    headerBytes: r.headerBytes,
    byRound: (figure) =>
      roundsOf(
        result.measurements.filter(
          (m: Measurement) =>
            m.variant === r.variant && m.sizeBytes === r.sizeBytes && churnOf(m.churn) === churnOf(r.churn),
        ),
        (m) => ackFigure(m, figure),
      ),
  }));
}

function verdictOf(ratio: number, noise: number | null): Verdict {
  if (ratio === 1) return 'within noise'; // no difference is within any noise
  if (noise === null) return 'no noise estimate';
  if (Math.abs(ratio - 1) <= noise) return 'within noise';
  return ratio > 1 ? 'B faster' : 'B slower';
}

/** Below this a figure's difference is rounding (a window edge moves the header share by a few parts in 10^4). */
const METRIC_NOISE_FLOOR = 0.005;

function metricVerdict(ratio: number, noise: number | null): MetricComparison['verdict'] {
  const v = verdictOf(ratio, noise === null ? null : Math.max(noise, METRIC_NOISE_FLOOR));
  return v === 'B faster' ? 'B higher' : v === 'B slower' ? 'B lower' : v;
}

/** The load a run put on its server, as [what, value] pairs that must agree for a fair comparison. */
function loadOf(result: AnyResult): Array<[string, string]> {
  const o = result.options;
  const load: Array<[string, string]> = [
    ['mode', o.mode],
    ['rate', o.rate > 0 ? `${fmtInt(o.rate)} msgs/s` : 'closed loop'],
    ['length', o.messages > 0 ? `${fmtInt(o.messages)} msgs` : `${o.durationS} s`],
  ];
  if (isChatResult(result)) {
    const chat = result.options.chat!;
    // Connections are matched point by point (a sweep meets a single run at its common points).
    load.push(['senders', String(chat.senders)], ['rooms', String(chat.rooms)]);
    if (o.rate === 0) load.push(['window', String(chat.window)]);
  } else {
    load.unshift(['clients', String(o.clients)], ['pipelining', String(o.pipelining)]);
  }
  return load;
}

/** `clients 500 vs 50` for each part of the load that differs between the two runs. */
function loadDifferences(a: AnyResult, b: AnyResult): string[] {
  const other = new Map(loadOf(b));
  return loadOf(a).flatMap(([what, value]) => {
    const theirs = other.get(what);
    return theirs !== undefined && theirs !== value ? [`${what} ${value} vs ${theirs}`] : [];
  });
}

/** The header size differs and is not the variable (the strategy or target differs too). */
function headerDifference(ra: Point, rb: Point): string[] {
  return ra.headerBytes !== rb.headerBytes && ra.strategy !== rb.strategy
    ? [`header ${ra.headerBytes} vs ${rb.headerBytes} B`]
    : [];
}

/** Matching rows of A and B by payload size (and connections, for chat); by variant too when both sides have it. */
export function compareRuns(A: Side, B: Side, { force = false }: { force?: boolean } = {}): Comparison {
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
  const runDiffers = sameRun ? [] : loadDifferences(A.result, B.result);
  const rows: ComparisonRow[] = [];
  for (const ra of rowsA) {
    const rb = rowsB.find((r) => r.match === ra.match && (!byVariant || r.variant === ra.variant));
    if (!rb) continue;
    const row = sameRun ? pairedRow(ra, rb) : independentRow(ra, rb);
    rows.push({ ...row, loadDiffers: [...runDiffers, ...headerDifference(ra, rb)] });
  }
  if (rows.length === 0) throw new ResultsFileError(`${A.name} and ${B.name} have no payload size in common`);
  const loadDiffers = [...new Set(rows.flatMap((r) => r.loadDiffers))];
  if (loadDiffers.length > 0 && !force) {
    throw new IncomparableRunsError(
      `${A.name} and ${B.name} ran different loads (${loadDiffers.join(', ')}): compare runs of one load, or add --force`,
    );
  }
  if (loadDiffers.length > 0) notes.push(`Forced: the load differs (${loadDiffers.join(', ')}); ratios mix that in.`);
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
  const nameA = nameWithVariantTaken(A, variantsA, new Set(rows.map((r) => r.variantA)), notes);
  const nameB = nameWithVariantTaken(B, variantsB, new Set(rows.map((r) => r.variantB)), notes);
  return { nameA, nameB, unit, rows, notes, loadDiffers };
}

/**
 * A side's name, with the variant compare took when the run has several and
 * only one was matched (as `run.json#h64` would name it); a note says which
 * variants were left out and how to pick one.
 */
function nameWithVariantTaken(side: Side, held: Set<string>, taken: Set<string>, notes: string[]): string {
  if (side.variant !== null || taken.size === held.size) return side.name;
  const left = [...held].filter((v) => !taken.has(v));
  const word = (v: string) => v.split(/\s+/).at(-1);
  notes.push(
    `${side.name} also holds ${left.join(', ')}, not compared: pick a variant with ${side.name}.json#${word(left[0]!)}.`,
  );
  return taken.size === 1 ? `${side.name} ${[...taken][0]}` : side.name;
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
    loadDiffers: [] as string[],
  };
}

/** Half the range over the median of a side's rounds: its run-to-run noise; null with fewer than 2 rounds. */
function halfRange(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const med = median(values);
  return med > 0 ? (Math.max(...values) - Math.min(...values)) / 2 / med : 0;
}

/** Per-round ratios B/A over the rounds both sides have. */
function pairedRatios(a: Map<number, number>, b: Map<number, number>): number[] {
  const ratios: number[] = [];
  for (const [round, va] of a) {
    const vb = b.get(round);
    if (vb !== undefined && va > 0) ratios.push(vb / va);
  }
  return ratios;
}

const METRICS: ReadonlyArray<[MetricComparison['name'], Figure]> = [
  ['p99', 'p99'],
  ['wire MB/s', 'wireMBps'],
  ['header share', 'headerShare'],
];

/** The other figures, judged like the rate: paired per round in one run, else both sides' spreads added. */
function metricsOf(ra: Point, rb: Point, paired: boolean): MetricComparison[] {
  return METRICS.flatMap(([name, figure]) => {
    const a = ra.byRound(figure);
    const b = rb.byRound(figure);
    if (a.size === 0 || b.size === 0) return [];
    const ma = median([...a.values()]);
    const mb = median([...b.values()]);
    const ratios = paired ? pairedRatios(a, b) : [];
    let ratio: number;
    let noise: number | null;
    if (ratios.length >= 2) {
      ratio = median(ratios);
      noise = ratio > 0 ? (Math.max(...ratios) - Math.min(...ratios)) / 2 / ratio : null;
    } else {
      ratio = ma > 0 ? mb / ma : Number.POSITIVE_INFINITY;
      const na = halfRange([...a.values()]);
      const nb = halfRange([...b.values()]);
      noise = na === null || nb === null ? null : na + nb;
    }
    return [{ name, a: ma, b: mb, ratio, noise, verdict: metricVerdict(ratio, noise) }];
  });
}

/** Two separate runs: the noise bands of both sides added (ranges that do not overlap differ). */
function independentRow(ra: Point, rb: Point): ComparisonRow {
  const ratio = ra.rate > 0 ? rb.rate / ra.rate : Number.POSITIVE_INFINITY;
  const noise = ra.noise === null || rb.noise === null ? null : ra.noise + rb.noise;
  const basis = ra.rounds > 1 && rb.rounds > 1 ? 'rounds' : 'per-second';
  return {
    ...baseRow(ra, rb),
    ratio,
    noise,
    verdict: verdictOf(ratio, noise),
    basis,
    metrics: metricsOf(ra, rb, false),
  };
}

/** Two variants of one interleaved run: ratio per round, judged against the spread of those ratios. */
function pairedRow(ra: Point, rb: Point): ComparisonRow {
  const ratios = pairedRatios(ra.byRound('rate'), rb.byRound('rate'));
  if (ratios.length < 2) return independentRow(ra, rb);
  const ratio = median(ratios);
  const noise = (Math.max(...ratios) - Math.min(...ratios)) / 2 / ratio;
  return {
    ...baseRow(ra, rb),
    ratio,
    noise,
    verdict: verdictOf(ratio, noise),
    basis: 'paired rounds',
    metrics: metricsOf(ra, rb, true),
  };
}

/** The variant a `#name` picks: the variant called that, or the one whose words include it (`h64`, `reuseport`). */
function pickVariant(file: string, result: AnyResult, wanted: string): string {
  const variants = [...new Set(result.summary.map((r) => r.variant))];
  if (variants.includes(wanted)) return wanted;
  const matching = variants.filter((v) => v.split(/\s+/).includes(wanted));
  if (matching.length === 1) return matching[0]!;
  throw new ResultsFileError(
    `${file}#${wanted}: ${matching.length === 0 ? 'no variant of that name' : `${matching.length} variants match`}; its variants: ${variants.join(', ')}`,
  );
}

/**
 * What to compare, from the command line: two result files (each may pick a
 * variant: `A.json#h64`); a folder (its two newest runs); or one file whose run
 * has two variants (strategies or header sizes). The same file twice is one
 * run: its variants are compared round by round.
 */
export async function resolveSides(paths: readonly string[]): Promise<[Side, Side]> {
  const expanded: Side[] = [];
  const read = new Map<string, AnyResult>();
  const load = async (file: string) => {
    const key = path.resolve(file);
    const cached = read.get(key);
    if (cached) return cached;
    const result = await readResult(file);
    read.set(key, result);
    return result;
  };
  for (const given of paths) {
    const hash = given.lastIndexOf('#');
    const p = hash > 0 ? given.slice(0, hash) : given;
    const wanted = hash > 0 ? given.slice(hash + 1) : null;
    let isDir = false;
    try {
      isDir = (await stat(p)).isDirectory();
    } catch (err) {
      throw new ResultsFileError(`cannot read ${p}: ${(err as Error).message}`, { cause: err });
    }
    if (isDir) {
      if (wanted) throw new ResultsFileError(`${given}: pick a variant of a file, not of a folder`);
      const runs = await listRuns(p);
      for (const run of runs.slice(-2))
        expanded.push({ name: path.basename(run.file, '.json'), result: run.result, variant: null });
      if (runs.length === 0) throw new ResultsFileError(`${p} holds no saved runs`);
    } else {
      const result = await load(p);
      const variant = wanted === null ? null : pickVariant(p, result, wanted);
      const name = path.basename(p, '.json');
      expanded.push({ name: variant === null ? name : `${name} ${variant}`, result, variant });
    }
  }
  if (expanded.length === 1) {
    const only = expanded[0]!;
    if (only.variant !== null) throw new ResultsFileError(`${only.name}: give a second run (or variant) to compare it with`);
    const variants = [...new Set(only.result.summary.map((r) => r.variant))];
    if (variants.length < 2) {
      throw new ResultsFileError(`${only.name} holds one run of one variant: give two results to compare`);
    }
    return variantSides(only.name, only.result, variants[0]!, variants[1]!);
  }
  if (expanded.length !== 2) throw new ResultsFileError(`compare takes two runs, got ${expanded.length}`);
  return [expanded[0]!, expanded[1]!];
}

/** Two variants of one run, as the two sides of a comparison (paired round by round). */
export function variantSides(name: string, result: AnyResult, a: string, b: string): [Side, Side] {
  return [
    { name: `${name} ${a}`, result, variant: a },
    { name: `${name} ${b}`, result, variant: b },
  ];
}

/** A ratio with its mark: + or - beyond the noise (higher, lower), ~ within it, ? no noise estimate. */
export function markedRatio(m: { ratio: number; verdict: string }): string {
  const mark =
    m.verdict === 'B faster' || m.verdict === 'B higher'
      ? '+'
      : m.verdict === 'B slower' || m.verdict === 'B lower'
        ? '-'
        : m.verdict === 'within noise'
          ? '~'
          : '?';
  return `${m.ratio.toFixed(3)} ${mark}`;
}

export const MARK_LEGEND = 'B/A: + higher, - lower, beyond the noise; ~ within it; ? no noise estimate';

export const metricCell = (name: MetricComparison['name']) => (r: ComparisonRow) => {
  const m = r.metrics.find((x) => x.name === name);
  return m ? markedRatio(m) : 'n/a';
};
const cpu = (v: number | null) => (v === null ? 'n/a' : v.toFixed(2));
const pctOrNa = (noise: number | null) => (noise === null ? 'n/a' : `${(noise * 100).toFixed(1)}%`);

/** The comparison's columns (terminal and markdown alike); `variants`: whether the sides hold several. */
function comparisonColumns(c: Comparison): Array<Column<ComparisonRow>> {
  const several = (pick: (r: ComparisonRow) => string) => new Set(c.rows.map(pick)).size > 1;
  const variants = several((r) => r.variantA) || several((r) => r.variantB);
  return [
    ['size', (r) => r.point],
    ...(variants
      ? ([
          ['A', (r) => r.variantA, false, 9],
          ['B', (r) => r.variantB, false, 9],
        ] as Array<Column<ComparisonRow>>)
      : []),
    [`A ${c.unit}`, (r) => fmtInt(r.a), true, 4],
    [`B ${c.unit}`, (r) => fmtInt(r.b), true, 4],
    ['B/A', (r) => r.ratio.toFixed(3), true],
    ['noise ±', (r) => pctOrNa(r.noise), true],
    ['verdict', (r) => r.verdict],
    ['basis', (r) => r.basis, false, 3],
    ['A p99', (r) => fmtUs(r.p99A), true, 2],
    ['B p99', (r) => fmtUs(r.p99B), true, 2],
    ['p99 B/A', metricCell('p99'), true, 6],
    ['wire MB/s B/A', metricCell('wire MB/s'), true, 5],
    ...(c.rows.some((r) => r.metrics.some((m) => m.name === 'header share'))
      ? ([['header B/A', metricCell('header share'), true, 5]] as Array<Column<ComparisonRow>>)
      : []),
    ['A srv CPU-s/M', (r) => cpu(r.cpuA), true, 1],
    ['B srv CPU-s/M', (r) => cpu(r.cpuB), true, 1],
    ...(c.loadDiffers.length
      ? ([['load differs', (r) => r.loadDiffers.join(', ') || '-']] as Array<Column<ComparisonRow>>)
      : []),
  ];
}

export function comparisonText(c: Comparison, width = terminalWidth()): string {
  return [
    `A: ${c.nameA}`,
    `B: ${c.nameB}`,
    '',
    fittedTable(c.rows, comparisonColumns(c), width),
    wrapText(MARK_LEGEND, width),
    ...c.notes.map((n) => wrapText(`note: ${n}`, width)),
  ].join('\n');
}

function comparisonMarkdown(c: Comparison, chartFile?: string): string {
  return [
    `# ${c.nameA} vs ${c.nameB}`,
    '',
    `A: \`${c.nameA}\`, B: \`${c.nameB}\`. Verdict: the difference counts only when the ratio lies outside the run-to-run noise band. ${MARK_LEGEND}.`,
    '',
    ...(chartFile ? [`![${c.unit} ratio B/A per point](${chartFile})`, ''] : []),
    markdownColumns(c.rows, comparisonColumns(c)),
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

