/** Tables for people: per measurement, and a summary across sizes, as terminal text and as markdown. */
import { type Column, markdownColumns, markdownTable } from '../shared/table.ts';
import { fmtInt, fmtMB, fmtUs, formatSize, pct } from '../shared/format.ts';
import { describeEnvironment } from '../shared/system.ts';
import type { BenchResult, Measurement, SummaryRow } from './result.ts';
import { churnLines, churnMarkdown, churnText } from './churn-report.ts';
import { saturationLines, saturationText, type TesterLoad } from './saturation.ts';
import { fittedTable, stackedTable, terminalWidth, wrapText } from '../shared/fit.ts';

/** A few lines per measurement, printed as soon as it is done. */
export function describeMeasurement(m: Measurement, width = terminalWidth()): string {
  const lines: string[] = [];
  const round = m.round > 1 ? ` (round ${m.round})` : '';
  lines.push(
    `${m.key}${round}: ${m.clients} connections x ${m.pipelining} in flight${m.rate ? `, rate ${fmtInt(m.rate)}/s` : ''}`,
  );
  lines.push(
    `  connect ${m.connect.ms.toFixed(1)} ms, ramp ${m.ramp.ms.toFixed(1)} ms (until every connection had a reply)`,
  );
  lines.push(
    `  ${fmtInt(m.msgsPerSec.overall)} msgs/s over ${m.window.seconds.toFixed(1)} s ` +
      `(per second: mean ${fmtInt(m.msgsPerSec.mean)}, stdev ${fmtInt(m.msgsPerSec.stdev)}, min ${fmtInt(m.msgsPerSec.min)})`,
  );
  const l = m.latencyUs;
  lines.push(
    `  latency: p50 ${fmtUs(l.p50)}  p90 ${fmtUs(l.p90)}  p99 ${fmtUs(l.p99)}  p99.9 ${fmtUs(l.p999)}  max ${fmtUs(l.max)}` +
      (m.rate ? '  (from the scheduled send time)' : ''),
  );
  lines.push(
    `  payload ${fmtMB(m.payloadMBps)} MB/s, wire ${fmtMB(m.wireMBps)} MB/s, header ${pct(m.headerShare)} of wire bytes`,
  );
  const kinds = Object.entries(m.errors.kinds)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  lines.push(
    `  errors ${m.errors.total}${kinds ? ` (${kinds})` : ''}, timeouts ${m.timeouts}, unanswered at the end ${m.unanswered}`,
  );
  if (m.server) {
    const s = m.server;
    const cpu = s.cpuSecondsPerMillionMsgs === null ? 'n/a' : s.cpuSecondsPerMillionMsgs.toFixed(2);
    lines.push(
      `  server: ${cpu} CPU-s per million msgs, connections per worker [${s.connectionsPerWorker.join(', ')}], ` +
        `messages counted ${s.messages === null ? 'n/a' : fmtInt(s.messages)} vs acked ${fmtInt(s.testerAcked)}` +
        (s.countsAgree === false ? '  MISMATCH' : ''),
    );
  }
  if (m.churn) lines.push(...churnLines(m.churn));
  lines.push(testerLine(testerCost(m.tester), m.tester));
  return wrapText(lines.join('\n'), width);
}

/** What the tester's CPU cost per message, in the server line's unit: its load threads', then its whole process's. */
function testerCost(t: Measurement['tester']): string {
  const whole = t.cpuUsPerMsg.toFixed(2);
  return t.loadThreads
    ? `load threads ${t.loadThreads.cpuUsPerMsg.toFixed(2)} CPU-s per million msgs (whole process ${whole})`
    : `${whole} CPU-s per million msgs`;
}

/** The tester's own line of a measurement: its cost (`cost`), its threads, the machine, and whether it was the limit. */
export function testerLine(
  cost: string,
  t: TesterLoad & { saturated: boolean },
): string {
  return (
    `  tester: ${cost}, threads busy [${t.threadUtilization.map(pct).join(', ')}]` +
    (t.machineBusy === null ? '' : `, machine ${pct(t.machineBusy)} busy`) +
    (t.saturated ? `\n${saturationLines(t).join('\n')}` : '')
  );
}

/** The summary's columns: heading and cell together; the terminal drops them in their order (1 first) to fit. */
const SUMMARY: ReadonlyArray<Column<SummaryRow>> = [
  ['server, header', (r) => r.variant],
  ['size', (r) => formatSize(r.sizeBytes), true],
  ['msgs/s', (r) => fmtInt(r.msgsPerSec), true],
  ['noise', (r) => (r.noise === null ? 'n/a' : `±${pct(r.noise)}`), true, 6],
  ['p50', (r) => fmtUs(r.p50Us), true, 5],
  ['p99', (r) => fmtUs(r.p99Us), true],
  ['p99.9', (r) => fmtUs(r.p999Us), true, 2],
  ['payload MB/s', (r) => fmtMB(r.payloadMBps), true, 3],
  ['wire MB/s', (r) => fmtMB(r.wireMBps), true, 7],
  ['header share', (r) => pct(r.headerShare), true],
  ['errors', (r) => String(r.errors), true],
  ['timeouts', (r) => String(r.timeouts), true, 1],
  [
    'server CPU-s/M msgs',
    (r) => (r.serverCpuSecondsPerMillionMsgs === null ? 'n/a' : r.serverCpuSecondsPerMillionMsgs.toFixed(2)),
    true,
    4,
  ],
  [
    'tester CPU-s/M msgs',
    (r) => (r.testerCpuSecondsPerMillionMsgs == null ? 'n/a' : r.testerCpuSecondsPerMillionMsgs.toFixed(2)),
    true,
    4,
  ],
  ['tester', (r) => (r.testerSaturated ? 'SATURATED' : 'ok')],
];

/**
 * The summary for the terminal: one table per variant (its name above it),
 * the columns that fit `width`, saturation said below rather than in a column;
 * then where the header dominates, in words.
 */
export function summaryText(result: BenchResult, width = terminalWidth()): string {
  const rows = result.summary;
  const oneSizeEach = new Set(rows.map((r) => r.variant)).size === rows.length;
  const out = [
    oneSizeEach
      ? fittedTable(rows, SUMMARY.filter(([head]) => head !== 'tester'), width)
      : stackedTable(rows, (r) => r.variant, SUMMARY.filter(([head]) => head !== 'server, header' && head !== 'tester'), width),
  ];
  const saturated = saturationLine(rows);
  if (saturated) out.push(saturated);
  out.push(...headerDominance(rows));
  const churn = churnText(result);
  if (churn) out.push('', churn);
  return out.map((text) => wrapText(text, width)).join('\n');
}

/** Where the tester was the limit, per variant (`handoff h64 at 16 B, 64 B`), or null when it never was. */
export function saturationLine(rows: ReadonlyArray<{ variant: string; sizeBytes: number; testerSaturated: boolean }>): string | null {
  if (!rows.some((r) => r.testerSaturated)) return null;
  if (rows.every((r) => r.testerSaturated)) return "tester SATURATED in every measurement: these figures are the tester's limit";
  const variants = [...new Set(rows.map((r) => r.variant))];
  const where = variants.flatMap((v) => {
    const sizes = rows.filter((r) => r.variant === v && r.testerSaturated).map((r) => formatSize(r.sizeBytes));
    return sizes.length ? [`${v} at ${sizes.join(', ')}`] : [];
  });
  return `tester SATURATED (its limit, not the server's): ${where.join('; ')}`;
}

/**
 * Where the header is more than half of the wire bytes, in words, one sentence
 * per header size: "The 64-byte header is more than half of the wire bytes up
 * to 64 B payloads." The first variant of each header size speaks for it.
 */
export function headerDominance(rows: readonly SummaryRow[]): string[] {
  const speaker = new Map<number, string>();
  for (const r of rows) if (!speaker.has(r.headerBytes)) speaker.set(r.headerBytes, r.variant);
  return [...speaker].map(([header, variant]) => {
    const sorted = rows.filter((r) => r.variant === variant).sort((a, b) => a.sizeBytes - b.sizeBytes);
    const over = sorted.filter((r) => r.headerShare > 0.5);
    const subject = `The ${header}-byte header is`;
    const smallest = sorted[0]!;
    if (sorted.length === 1) {
      // One size: "every size measured (up to ...)" would make a sweep of it.
      return smallest.sizeBytes === 0
        ? `${subject} all of the wire bytes: the payloads are empty (0 B).`
        : `${subject} ${pct(smallest.headerShare)} of the wire bytes at ${formatSize(smallest.sizeBytes)} payloads.`;
    }
    if (over.length === 0) {
      return `${subject} less than half of the wire bytes at every size measured (at most ${pct(smallest.headerShare)}, at ${formatSize(smallest.sizeBytes)}).`;
    }
    if (over.length === sorted.length) {
      return `${subject} more than half of the wire bytes at every size measured (up to ${formatSize(sorted.at(-1)!.sizeBytes)}).`;
    }
    if (over.every((r, i) => r === sorted[i])) {
      return `${subject} more than half of the wire bytes up to ${formatSize(over.at(-1)!.sizeBytes)} payloads.`;
    }
    return `${subject} more than half of the wire bytes at ${over.map((r) => formatSize(r.sizeBytes)).join(', ')}.`;
  });
}

function optionLine(result: BenchResult): string {
  const o = result.options;
  const load = o.rate > 0 ? `rate ${fmtInt(o.rate)} msgs/s` : 'closed loop';
  // Runs saved before --amount have no such field.
  const length =
    (o.amount ?? 0) > 0
      ? `exactly ${fmtInt(o.amount)} msgs`
      : o.messages > 0
        ? `${fmtInt(o.messages)} msgs`
        : `${o.durationS} s`;
  const target =
    result.target.kind === 'external'
      ? `target ${result.target.host}:${result.target.port}`
      : `embedded server, ${o.serverWorkers} workers`;
  return `${o.clients} connections x ${o.pipelining} in flight, ${load}, mode ${o.mode}, ${length} per measurement after ${o.warmupS} s warm-up, ${o.workers} load thread(s), ${o.repeat} round(s); ${target}`;
}

/** The whole run as markdown: settings, summary, details, warnings. */
export function markdownReport(result: BenchResult, chartFile?: string): string {
  const out: string[] = [];
  out.push(`# Bench ${result.label || result.startedAt}`);
  out.push('');
  out.push(`${optionLine(result)}.`);
  out.push('');
  out.push(`${describeEnvironment(result.environment)}.`);
  out.push('');
  const from = (result as { mergedFrom?: Array<{ name: string; clients: number; environment: { cpuModel: string } }> })
    .mergedFrom;
  if (from) {
    const parts = from.map((r) => `${r.name} (${r.clients} connections, ${r.environment.cpuModel})`);
    out.push(`Merged (bench:merge) from ${from.length} load machines' runs: ${parts.join('; ')}.`, '');
  }
  if (chartFile) out.push(`![msgs/s, MB/s and header share against payload size](${chartFile})`, '');
  out.push('## Summary');
  out.push('');
  out.push(
    'Medians over rounds; noise is half the range over rounds (or the per-second coefficient of variation with one round).',
  );
  out.push('');
  out.push(markdownColumns(result.summary, SUMMARY));
  out.push('');
  out.push(...headerDominance(result.summary), '');
  out.push('## Measurements');
  out.push('');
  out.push(
    markdownTable(
      [
        'measurement',
        'round',
        'connect ms',
        'ramp ms',
        'msgs/s',
        'per-s stdev',
        'per-s min',
        'p90',
        'max',
        'conns per server worker',
        'tester µs CPU/msg',
        'load threads µs CPU/msg',
        'tester busy',
      ],
      result.measurements.map((m) => [
        m.key,
        String(m.round),
        m.connect.ms.toFixed(1),
        m.ramp.ms.toFixed(1),
        fmtInt(m.msgsPerSec.overall),
        fmtInt(m.msgsPerSec.stdev),
        fmtInt(m.msgsPerSec.min),
        fmtUs(m.latencyUs.p90),
        fmtUs(m.latencyUs.max),
        m.server ? m.server.connectionsPerWorker.join(' / ') : 'n/a',
        m.tester.cpuUsPerMsg.toFixed(1),
        m.tester.loadThreads ? m.tester.loadThreads.cpuUsPerMsg.toFixed(1) : 'n/a',
        m.tester.threadUtilization.map(pct).join(' / '),
      ]),
      new Set([1, 2, 3, 4, 5, 6, 7, 8, 10, 11]),
    ),
  );
  const churn = churnMarkdown(result);
  if (churn) out.push('', churn);
  const saturated = result.measurements.filter((m) => m.tester.saturated);
  if (saturated.length) {
    out.push('', '## Tester saturation', '');
    const cores = result.environment.cores;
    for (const m of saturated) {
      out.push(`- ${m.key}${m.round > 1 ? ` (round ${m.round})` : ''}: ${saturationText({ cores, ...m.tester })}`);
    }
  }
  if (result.warnings.length) {
    out.push('', '## Warnings', '', ...result.warnings.map((w) => `- ${w}`));
  }
  out.push('');
  return out.join('\n');
}
