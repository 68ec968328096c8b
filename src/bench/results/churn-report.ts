/** Connection churn (--churn) for people: a measurement's lines, the report's table and the run's chart. */
import type { TopLevelSpec } from 'vega-lite';
import { grid } from './chart.ts';
import { fmtInt, fmtUs, formatSize } from '../shared/format.ts';
import type { ChurnFigures } from './churn.ts';
import { type Column, markdownColumns, textTable } from '../shared/table.ts';
import type { BenchResult, SummaryRow } from './result.ts';

const perConnection = (k: number) => `${fmtInt(k)} message${k === 1 ? '' : 's'} per connection`;

/** A measurement's churn, under its msgs/s and latency lines. */
export function churnLines(c: ChurnFigures): string[] {
  const server = c.serverConnections === null ? '' : `, the server counted ${fmtInt(c.serverConnections)}`;
  const mismatch = c.serverConnections !== null && c.serverConnections !== c.connections ? '  MISMATCH' : '';
  const main =
    c.mainThreadCpuUsPerConnection === null
      ? ''
      : `; server main thread ${c.mainThreadCpuUsPerConnection.toFixed(1)} CPU-µs per connection`;
  return [
    `  churn: ${perConnection(c.messagesPerConnection)}: ${fmtInt(c.connectionsPerSec)} new connections/s ` +
      `(${fmtInt(c.windowConnections)} in the window); ${fmtInt(c.connections)} made in all${server}${mismatch}`,
    `  connect: p50 ${fmtUs(c.connectUs.p50)}  p99 ${fmtUs(c.connectUs.p99)};  ` +
      `to the first reply (accept, hand-off, one message): p50 ${fmtUs(c.firstReplyUs.p50)}  p99 ${fmtUs(c.firstReplyUs.p99)}${main}`,
  ];
}

/** Server CPU per connection: its CPU per message times the messages each connection carried. */
function cpuPerConnection(r: ChurnRow): string {
  const perMsg = r.serverCpuSecondsPerMillionMsgs;
  return perMsg === null ? 'n/a' : (perMsg * r.churn.messagesPerConnection).toFixed(1);
}

type ChurnRow = SummaryRow & { churn: NonNullable<SummaryRow['churn']> };

const COLUMNS: ReadonlyArray<Column<ChurnRow>> = [
  ['server, header', (r) => r.variant],
  ['size', (r) => formatSize(r.sizeBytes)],
  ['messages per connection', (r) => fmtInt(r.churn.messagesPerConnection), true],
  ['new connections/s', (r) => fmtInt(r.churn.connectionsPerSec), true],
  ['msgs/s', (r) => fmtInt(r.msgsPerSec), true],
  ['connect p50', (r) => fmtUs(r.churn.connectP50Us), true],
  ['connect p99', (r) => fmtUs(r.churn.connectP99Us), true],
  ['first reply p50', (r) => fmtUs(r.churn.firstReplyP50Us), true],
  ['first reply p99', (r) => fmtUs(r.churn.firstReplyP99Us), true],
  ['server CPU-µs per connection', (r) => cpuPerConnection(r), true],
  ['main thread CPU-µs per connection', (r) => r.churn.mainThreadCpuUsPerConnection?.toFixed(1) ?? 'n/a', true],
  ['connections counted', (r) => (r.churn.countsAgree === null ? 'n/a' : r.churn.countsAgree ? 'equal' : 'MISMATCH')],
];

function churnRows(rows: readonly SummaryRow[]): ChurnRow[] {
  return rows.filter((r): r is ChurnRow => r.churn !== undefined);
}

/** The terminal's churn table under the summary, or '' for a run without churn. */
export function churnText(result: BenchResult): string {
  const rows = churnRows(result.summary);
  if (rows.length === 0) return '';
  const right = new Set(COLUMNS.flatMap(([, , figure], i) => (figure ? [i] : [])));
  return `connection churn:\n${textTable(
    COLUMNS.map(([head]) => head),
    rows.map((r) => COLUMNS.map(([, cell]) => cell(r))),
    right,
  )}`;
}

/** The report's churn section, or '' for a run without churn. */
export function churnMarkdown(result: BenchResult): string {
  const rows = churnRows(result.summary);
  if (rows.length === 0) return '';
  return [
    '## Connection churn',
    '',
    'Each connection sent its messages, closed, and was made again at once. Medians over rounds. ' +
      'Connect: connect() to TCP connected (the kernel completes the handshake before the server accepts); ' +
      'first reply: connect() to the reply to its first message, so the accept and the hand-off to a worker are in it.',
    '',
    markdownColumns(rows, COLUMNS),
  ].join('\n');
}

/** New connections/s, msgs/s and p99 connect and first-reply latency against messages per connection, a line per variant. */
export function churnChartSpec(summary: readonly SummaryRow[], title: string): TopLevelSpec {
  const rows = churnRows(summary);
  const ks = [...new Set(rows.map((r) => r.churn.messagesPerConnection))].sort((a, b) => a - b);
  const sizes = new Set(rows.map((r) => r.sizeBytes));
  const values = rows.map((r) => ({
    variant: sizes.size > 1 ? `${r.variant} ${formatSize(r.sizeBytes)}` : r.variant,
    k: r.churn.messagesPerConnection,
    connectionsPerSec: Math.round(r.churn.connectionsPerSec),
    msgsPerSec: Math.round(r.msgsPerSec),
    connectP99Ms: r.churn.connectP99Us / 1000,
    firstReplyP99Ms: r.churn.firstReplyP99Us / 1000,
  }));
  const x = {
    field: 'k',
    type: 'quantitative' as const,
    title: 'messages per connection (log scale)',
    scale: { type: 'log' as const, ...(ks.length === 1 ? { domain: [ks[0]! / 2, ks[0]! * 2] } : {}) },
    axis: { values: ks, labelOverlap: false },
  };
  const color = { field: 'variant', type: 'nominal' as const, title: 'server, header' };
  const panel = (field: string, heading: string, axisTitle: string) => ({
    width: 240,
    height: 220,
    title: heading,
    mark: { type: 'line' as const, point: true },
    encoding: { x, y: { field, type: 'quantitative' as const, title: axisTitle }, color },
  });
  return grid(title, values, [
      panel('connectionsPerSec', 'new connections per second', 'connections/s'),
      panel('msgsPerSec', 'messages per second', 'msgs/s'),
      {
        width: 240,
        height: 220,
        title: 'p99 (solid: first reply, dashed: connect)',
        transform: [{ fold: ['firstReplyP99Ms', 'connectP99Ms'], as: ['kind', 'ms'] }],
        mark: { type: 'line', point: true },
        encoding: {
          x,
          y: { field: 'ms', type: 'quantitative', title: 'ms (log scale)', scale: { type: 'log' } },
          color,
          strokeDash: {
            field: 'kind',
            type: 'nominal',
            title: 'p99',
            legend: { labelExpr: "datum.label == 'connectP99Ms' ? 'connect' : 'first reply'" },
          },
          detail: { field: 'kind' },
        },
      },
  ]);
}
