/**
 * bench:merge: runs of one scenario taken at the same time from several load
 * machines, made into one run as if one tester had made all the load: msgs/s,
 * connections, bytes, errors and CPU added up, HDR histograms merged exactly
 * (bucket counts add, so the percentiles are those of all the messages), and
 * per-second samples added second by second. The runs must be of one scenario
 * (only the load each machine made may differ: --clients, --workers, --rate)
 * and their measured windows must overlap in time.
 */
import { encodeHistogram, mergeHistograms, summarize } from '../shared/latency.ts';
import type { Environment } from '../shared/system.ts';
import { IncompatibleRunsError, RunsNotConcurrentError } from '../../protocol/index.ts';
import type { ChurnFigures } from './churn.ts';
import { type BenchResult, loadThreadFigures, type Measurement, type Sample, SCHEMA, summarizeMeasurements } from './result.ts';
import { meanStdev } from '../shared/stats.ts';
import type { AnyResult } from './saved-runs.ts';

/** One run to merge and the name it goes by in messages (its file). */
export interface NamedRun {
  name: string;
  result: AnyResult;
}

/** What a merged run says of the runs it was made from. */
interface MergedFrom {
  name: string;
  label: string;
  startedAt: string;
  finishedAt: string;
  clients: number;
  workers: number;
  environment: Environment;
}

export type MergedResult = BenchResult & { mergedFrom: MergedFrom[] };

/** Options that make the scenario: equal in every run merged. */
const SCENARIO: ReadonlyArray<readonly [option: string, flag: string]> = [
  ['mode', '--mode'],
  ['sizes', '--sizes'],
  ['headerBytes', '--header-bytes'],
  ['pipelining', '--pipelining'],
  ['churn', '--churn'],
  ['durationS', '--duration'],
  ['messages', '--messages'],
  ['warmupS', '--warmup'],
  ['repeat', '--repeat'],
  ['strategies', '--strategy'],
];

/** Below this share of the shortest window in common, the merge says so. */
const LOW_OVERLAP = 0.5;

const show = (value: unknown): string =>
  Array.isArray(value)
    ? value.join(',')
    : typeof value === 'string'
      ? value
      : value === undefined
        ? '(none)'
        : JSON.stringify(value);

function checkScenario(runs: readonly NamedRun[]): BenchResult[] {
  const [first] = runs;
  for (const r of runs) {
    if (r.result.schema !== SCHEMA) {
      throw new IncompatibleRunsError(`${r.name} is a ${r.result.schema} run: only ack and echo runs (${SCHEMA}) merge`);
    }
  }
  const results = runs.map((r) => r.result as BenchResult);
  for (const [option, flag] of SCENARIO) {
    const values = results.map((r) => show((r.options as unknown as Record<string, unknown>)[option]));
    const other = values.findIndex((v) => v !== values[0]);
    if (other > 0) {
      throw new IncompatibleRunsError(
        `${first!.name} and ${runs[other]!.name} are not one scenario: ${flag} ${values[0]} vs ${values[other]}`,
      );
    }
  }
  const kinds = results.map((r) => r.target.kind);
  if (new Set(kinds).size > 1) {
    throw new IncompatibleRunsError(`${first!.name} and the others measured different targets (${kinds.join(', ')})`);
  }
  const keys = (r: BenchResult) =>
    r.measurements
      .map((m) => `${m.key} r${m.round}`)
      .sort()
      .join('; ');
  const other = results.findIndex((r) => keys(r) !== keys(results[0]!));
  if (other > 0) {
    throw new IncompatibleRunsError(`${first!.name} and ${runs[other]!.name} hold different measurements`);
  }
  return results;
}

function checkConcurrent(runs: readonly NamedRun[], results: readonly BenchResult[]): void {
  const starts = results.map((r) => Date.parse(r.startedAt));
  const ends = results.map((r) => Date.parse(r.finishedAt));
  if (Math.max(...starts) >= Math.min(...ends)) {
    const late = starts.indexOf(Math.max(...starts));
    const early = ends.indexOf(Math.min(...ends));
    throw new RunsNotConcurrentError(
      `${runs[late]!.name} started (${results[late]!.startedAt}) after ${runs[early]!.name} had finished ` +
        `(${results[early]!.finishedAt}): merge only runs taken at the same time`,
    );
  }
}

/** The windows of one measurement on every machine: they must overlap; a warning when they barely do. */
function checkWindows(names: readonly string[], group: readonly Measurement[], warn: (text: string) => void): void {
  if (group.some((m) => m.window.startEpochMs === undefined)) return; // saved before windows had a start time
  const starts = group.map((m) => m.window.startEpochMs!);
  const ends = group.map((m, i) => starts[i]! + m.window.seconds * 1000);
  const common = Math.min(...ends) - Math.max(...starts);
  const where = `${group[0]!.key}${group[0]!.round > 1 ? ` round ${group[0]!.round}` : ''}`;
  if (common <= 0) {
    const late = starts.indexOf(Math.max(...starts));
    const early = ends.indexOf(Math.min(...ends));
    throw new RunsNotConcurrentError(
      `${where}: ${names[late]} measured from ${new Date(starts[late]!).toISOString()}, after ${names[early]}'s ` +
        `window had ended (${new Date(ends[early]!).toISOString()}): the machines did not load the server at the same time`,
    );
  }
  const shortest = Math.min(...group.map((m) => m.window.seconds * 1000));
  if (common < LOW_OVERLAP * shortest) {
    warn(`${where}: the machines' windows overlap for ${(common / 1000).toFixed(2)} s only: the summed msgs/s overstates the load at any one time`);
  }
}

const sum = <T>(items: readonly T[], f: (item: T) => number) => items.reduce((a, item) => a + f(item), 0);

/** Second i of every machine's window, added up (windows that overlap well have their seconds side by side). */
function mergeSamples(group: readonly Measurement[]): Sample[] {
  const length = Math.min(...group.map((m) => m.samples.length));
  return Array.from({ length }, (_, i) => {
    const at = group.map((m) => m.samples[i]!);
    const seconds = Math.max(...at.map((s) => s.seconds));
    return {
      t: Math.max(...at.map((s) => s.t)),
      seconds,
      messages: sum(at, (s) => s.messages),
      msgsPerSec: sum(at, (s) => s.msgsPerSec),
      txWireBytes: sum(at, (s) => s.txWireBytes),
      rxWireBytes: sum(at, (s) => s.rxWireBytes),
      errors: sum(at, (s) => s.errors),
    };
  });
}

function mergeKinds(kinds: ReadonlyArray<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of kinds) for (const [code, n] of Object.entries(k)) out[code] = (out[code] ?? 0) + n;
  return out;
}

function mergeChurn(parts: readonly ChurnFigures[]): ChurnFigures {
  const connect = mergeHistograms(parts.map((c) => c.connectHistogram));
  const firstReply = mergeHistograms(parts.map((c) => c.firstReplyHistogram));
  return {
    messagesPerConnection: parts[0]!.messagesPerConnection,
    connectionsPerSec: sum(parts, (c) => c.connectionsPerSec),
    windowConnections: sum(parts, (c) => c.windowConnections),
    connections: sum(parts, (c) => c.connections),
    completed: sum(parts, (c) => c.completed),
    // One server, seen from several machines: its count is of all of them, not to be added up.
    serverConnections: null,
    mainThreadCpuUsPerConnection: null,
    connectUs: summarize(connect),
    firstReplyUs: summarize(firstReply),
    connectHistogram: encodeHistogram(connect),
    firstReplyHistogram: encodeHistogram(firstReply),
  };
}

/** One measurement (a key and round) from every machine, as one. */
function mergeMeasurement(group: readonly Measurement[]): Measurement {
  const first = group[0]!;
  const histogram = mergeHistograms(group.map((m) => m.histogram));
  const samples = mergeSamples(group);
  const perSecond = samples.filter((s) => s.seconds >= 0.999).map((s) => s.msgsPerSec);
  const overall = sum(group, (m) => m.msgsPerSec.overall);
  const { mean, stdev } = meanStdev(perSecond.length ? perSecond : [overall]);
  const bytes = {
    txPayload: sum(group, (m) => m.bytes.txPayload),
    rxPayload: sum(group, (m) => m.bytes.rxPayload),
    txWire: sum(group, (m) => m.bytes.txWire),
    rxWire: sum(group, (m) => m.bytes.rxWire),
    txHeader: sum(group, (m) => m.bytes.txHeader),
    rxHeader: sum(group, (m) => m.bytes.rxHeader),
  };
  const wire = bytes.txWire + bytes.rxWire;
  const messages = sum(group, (m) => m.window.messages);
  const testerCpu = sum(group, (m) => m.tester.cpuSeconds);
  const busy = group.flatMap((m) => (m.tester.machineBusy === null ? [] : [m.tester.machineBusy]));
  const starts = group.flatMap((m) => (m.window.startEpochMs === undefined ? [] : [m.window.startEpochMs]));
  const cores = group.flatMap((m) => (m.tester.cores === undefined ? [] : [m.tester.cores]));
  const churn = group.every((m) => m.churn) ? { churn: mergeChurn(group.map((m) => m.churn!)) } : {};
  return {
    ...first,
    clients: sum(group, (m) => m.clients),
    rate: sum(group, (m) => m.rate),
    connect: {
      ms: Math.max(...group.map((m) => m.connect.ms)),
      failed: sum(group, (m) => m.connect.failed),
      firstError: group.find((m) => m.connect.firstError)?.connect.firstError ?? '',
    },
    ramp: { ms: Math.max(...group.map((m) => m.ramp.ms)), unramped: sum(group, (m) => m.ramp.unramped) },
    window: {
      seconds: Math.max(...group.map((m) => m.window.seconds)),
      messages,
      ...(starts.length === group.length ? { startEpochMs: Math.min(...starts) } : {}),
    },
    msgsPerSec: {
      overall,
      mean,
      stdev,
      min: perSecond.length ? Math.min(...perSecond) : overall,
      max: perSecond.length ? Math.max(...perSecond) : overall,
    },
    samples,
    latencyUs: summarize(histogram),
    histogram: encodeHistogram(histogram),
    bytes,
    payloadMBps: sum(group, (m) => m.payloadMBps),
    wireMBps: sum(group, (m) => m.wireMBps),
    headerShare: wire > 0 ? (bytes.txHeader + bytes.rxHeader) / wire : 0,
    errors: {
      total: sum(group, (m) => m.errors.total),
      kinds: mergeKinds(group.map((m) => m.errors.kinds)),
      first: group.find((m) => m.errors.first)?.errors.first ?? '',
    },
    timeouts: sum(group, (m) => m.timeouts),
    unanswered: sum(group, (m) => m.unanswered),
    connAcked: {
      min: Math.min(...group.map((m) => m.connAcked.min)),
      max: Math.max(...group.map((m) => m.connAcked.max)),
    },
    // Each machine saw the server from outside (or started its own): no one server's figures to keep.
    server: null,
    tester: {
      cpuSeconds: testerCpu,
      cpuUsPerMsg: messages > 0 ? (testerCpu * 1e6) / messages : 0,
      ...(group.every((m) => m.tester.loadThreads)
        ? { loadThreads: loadThreadFigures(group.flatMap((m) => m.tester.loadThreads!.cpuSeconds), messages) }
        : {}),
      threadUtilization: group.flatMap((m) => m.tester.threadUtilization),
      machineBusy: busy.length ? Math.max(...busy) : null,
      // The smallest machine's: what --workers could use on each.
      ...(cores.length === group.length ? { cores: Math.min(...cores) } : {}),
      saturated: group.some((m) => m.tester.saturated),
    },
    ...churn,
  };
}

/**
 * Merges `runs` (two or more) into one run; `label` names it (default: the
 * runs' labels joined). Throws IncompatibleRunsError or RunsNotConcurrentError.
 */
export function mergeRuns(runs: readonly NamedRun[], label = ''): MergedResult {
  if (runs.length < 2) throw new IncompatibleRunsError(`merge takes two runs or more, got ${runs.length}`);
  const results = checkScenario(runs);
  checkConcurrent(runs, results);
  const names = runs.map((r) => r.name);
  const warnings: string[] = [];
  const warn = (text: string) => warnings.push(text);
  const measurements = results[0]!.measurements.map((m) => {
    const group = results.map((r) => r.measurements.find((x) => x.key === m.key && x.round === m.round)!);
    checkWindows(names, group, warn);
    return mergeMeasurement(group);
  });
  if (results.some((r) => r.target.kind === 'embedded')) {
    warn('the runs started their own (embedded) servers: their msgs/s add up, but no single server was measured');
  }
  const first = results[0]!;
  const o = first.options;
  return {
    schema: SCHEMA,
    label: label || `merged ${results.map((r, i) => r.label || names[i]).join(' + ')}`,
    environment: first.environment,
    options: {
      ...o,
      clients: sum(results, (r) => r.options.clients),
      workers: sum(results, (r) => r.options.workers),
      rate: sum(results, (r) => r.options.rate),
    },
    target: first.target,
    startedAt: results.map((r) => r.startedAt).sort()[0]!,
    finishedAt: results.map((r) => r.finishedAt).sort().at(-1)!,
    warnings: [...warnings, ...results.flatMap((r, i) => r.warnings.map((w) => `${names[i]}: ${w}`))],
    measurements,
    summary: summarizeMeasurements(measurements),
    mergedFrom: results.map((r, i) => ({
      name: names[i]!,
      label: r.label,
      startedAt: r.startedAt,
      finishedAt: r.finishedAt,
      clients: r.options.clients,
      workers: r.options.workers,
      environment: r.environment,
    })),
  };
}
