/** A chat run for people: a few lines per measurement, a summary table, and the markdown report. */
import { fmtInt, fmtMB, fmtRate, fmtUs, formatSize, pct } from '../shared/format.ts';
import { describeEnvironment } from '../shared/system.ts';
import type { ChatMeasurement, ChatResult, ChatSummaryRow } from './chat-result.ts';
import { saturationLine, testerLine } from './report.ts';
import { type Column, markdownColumns, markdownTable } from '../shared/table.ts';
import { fittedTable, stackedTable, terminalWidth, wrapText } from '../shared/fit.ts';

function recipientsNote(m: { targetKind: string; senders: number; receivers: number }): string {
  return m.targetKind === 'handoff'
    ? `recipients per message = ${m.receivers} receivers + ${m.senders} senders - 1 (a handoff sender is a room member)`
    : `recipients per message = ${m.receivers} receivers (senders do not subscribe)`;
}

/** A few lines per measurement, printed as soon as it is done. */
export function describeChatMeasurement(m: ChatMeasurement, width = terminalWidth()): string {
  const c = m.check;
  const lines: string[] = [];
  const round = m.round > 1 ? ` (round ${m.round})` : '';
  const load = m.rate ? `rate ${fmtInt(m.rate)} msgs/s` : `closed loop, window ${m.window}`;
  lines.push(
    `${m.key}${round}: ${m.senders} senders, ${m.receivers} receivers in ${m.rooms} room(s), ${formatSize(m.sizeBytes)}, ${load}`,
  );
  lines.push(`  ${recipientsNote(m)}; setup ${fmtInt(m.setup.ms)} ms (every connection in the room)`);
  lines.push(
    `  ${fmtInt(m.deliveriesPerSec.receivers)} deliveries/s to receivers (all recipients ${fmtInt(m.deliveriesPerSec.all)}), ` +
      `${fmtInt(m.sent.perSec)} msgs/s sent, over ${m.windowSeconds.toFixed(1)} s ` +
      `(per second: mean ${fmtInt(m.deliveriesPerSec.mean)}, stdev ${fmtInt(m.deliveriesPerSec.stdev)}, min ${fmtInt(m.deliveriesPerSec.min)})`,
  );
  const l = m.latencyUs;
  lines.push(
    `  delivery latency (${fmtInt(l.count)} samples): p50 ${fmtUs(l.p50)}  p90 ${fmtUs(l.p90)}  p99 ${fmtUs(l.p99)}  p99.9 ${fmtUs(l.p999)}  max ${fmtUs(l.max)}` +
      (m.rate ? '  (from the scheduled send time)' : '  (from the send time)'),
  );
  lines.push(
    `  checked at every receiver: ${fmtInt(c.delivered)} of ${fmtInt(c.expected)} window deliveries, lost ${c.lost} ` +
      `(all messages: ${c.lostTotal} of ${fmtInt(c.expectedTotal)}), duplicated ${c.duplicates}, out of order ${c.reordered}` +
      `${c.drained ? '' : ', DRAIN INCOMPLETE'}; drain ${fmtInt(c.drainMs)} ms`,
  );
  const kinds = Object.entries(m.errors.kinds)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  lines.push(
    `  errors ${m.errors.total}${kinds ? ` (${kinds})` : ''}; per receiver ${fmtInt(m.perReceiver.min)}..${fmtInt(m.perReceiver.max)} ` +
      `deliveries in the window; wire in ${fmtMB(m.rxMBps)} MB/s, out ${fmtMB(m.txMBps)} MB/s`,
  );
  if (m.server) {
    const s = m.server;
    const cpu = s.cpuUsPerDelivery === null ? 'n/a' : s.cpuUsPerDelivery.toFixed(3);
    const counted =
      s.deliveriesCounted === null
        ? ''
        : `, deliveries counted ${fmtInt(s.deliveriesCounted)} vs read ${fmtInt(s.testerFrames)}${s.countsAgree ? '' : '  MISMATCH'}`;
    lines.push(`  server (${s.processes.map((p) => p.name).join(' + ')}): ${cpu} CPU-µs per delivery${counted}`);
  }
  const t = m.tester;
  const cost = `${t.cpuUsPerDelivery.toFixed(3)} CPU-µs per delivery, ${t.deliveriesPerRead.toFixed(1)} deliveries per read`;
  lines.push(testerLine(cost, t));
  return wrapText(lines.join('\n'), width);
}

/** A latency figure, or n/a when nothing sent inside the windows was delivered. */
const latency = (r: ChatSummaryRow, us: number) => (r.latencySamples > 0 ? fmtUs(us) : 'n/a');

/** The summary's columns: heading and cell, one place for both. */
const SUMMARY: ReadonlyArray<Column<ChatSummaryRow>> = [
  ['target', (r) => r.variant],
  ['receivers', (r) => `${r.receivers} (+${r.senders})`, true],
  ['size', (r) => formatSize(r.sizeBytes)],
  ['deliveries/s to receivers', (r) => fmtRate(r.deliveriesPerSec), true],
  ['noise', (r) => (r.noise === null ? 'n/a' : `±${pct(r.noise)}`), true, 8],
  ['all deliveries/s', (r) => fmtRate(r.allDeliveriesPerSec), true, 2],
  ['msgs/s sent', (r) => fmtInt(r.sentPerSec), true, 5],
  ['p50', (r) => latency(r, r.p50Us), true, 6],
  ['p90', (r) => latency(r, r.p90Us), true, 1],
  ['p99', (r) => latency(r, r.p99Us), true],
  ['max', (r) => latency(r, r.maxUs), true, 3],
  ['lost', (r) => String(r.lostTotal), true],
  ['dup', (r) => String(r.duplicates), true, 7],
  ['reordered', (r) => String(r.reordered), true, 7],
  ['errors', (r) => String(r.errors), true],
  ['server CPU-µs/delivery', (r) => r.serverCpuUsPerDelivery?.toFixed(3) ?? 'n/a', true, 4],
  ['tester', (r) => (r.testerSaturated ? 'SATURATED' : 'ok')],
];

/** The summary for the terminal: per target when it has several rows, the columns that fit `width`. */
export function chatSummaryText(result: ChatResult, width = terminalWidth()): string {
  const rows = result.summary;
  const shown = SUMMARY.filter(([head]) => head !== 'tester');
  const table =
    new Set(rows.map((r) => r.variant)).size === rows.length
      ? fittedTable(rows, shown, width)
      : stackedTable(
          rows,
          (r) => r.variant,
          shown.filter(([head]) => head !== 'target'),
          width,
        );
  const saturated = saturationLine(rows);
  return [table, ...(saturated ? [wrapText(saturated, width)] : [])].join('\n');
}

function optionLine(result: ChatResult): string {
  const o = result.options;
  const chat = o.chat!;
  const load = o.rate > 0 ? `open loop at ${fmtInt(o.rate)} msgs/s in all` : `closed loop, window ${chat.window}`;
  const target =
    result.target.kind === 'external' ? `target ${result.target.host}:${result.target.port}` : 'servers started here';
  return (
    `${chat.senders} senders; ${chat.clients.join(', ')} connections in ${chat.rooms} room(s); ${load}` +
    `${chat.targetKinds.includes('nats') ? ` (NATS: a PING every ${chat.natsPingEvery} messages)` : ''}; ` +
    `${o.durationS} s per measurement after ${o.warmupS} s warm-up; ${o.workers} load thread(s); ${o.repeat} round(s); ${target}`
  );
}

/** The whole run as markdown: settings, summary, every measurement, warnings. */
export function chatMarkdownReport(result: ChatResult, chartFile?: string): string {
  const out: string[] = [];
  out.push(`# Chat bench ${result.label || result.startedAt}`, '');
  out.push(`${optionLine(result)}.`, '');
  out.push(`${describeEnvironment(result.environment)}.`, '');
  out.push(
    'Deliveries/s to receivers counts the deliveries read inside the window by the connections that only receive: ' +
      'the figure to compare across servers. A handoff sender is a room member and gets the other senders’ messages too ' +
      '(recipients per message = receivers + senders - 1; "all deliveries/s" counts them); NATS and Redis senders do not ' +
      'subscribe (recipients = receivers). Latency runs from the send time in the payload (with --rate, the scheduled time) ' +
      'to the read that completed the delivery. Lost = deliveries expected from what was sent minus the distinct ones ' +
      'received, at every receiver, after the drain.',
    '',
  );
  if (chartFile) out.push(`![deliveries/s and p99 latency against receivers](${chartFile})`, '');
  out.push('## Summary', '', 'Medians over rounds; noise is half the range over rounds.', '');
  out.push(markdownColumns(result.summary, SUMMARY), '');
  out.push('## Measurements', '');
  out.push(
    markdownTable(
      [
        'measurement',
        'round',
        'setup ms',
        'deliveries/s to receivers',
        'per-s stdev',
        'p99',
        'p99.9',
        'expected',
        'lost',
        'drain ms',
        'server CPU-µs/delivery',
        'tester CPU-µs/delivery',
        'tester busy',
      ],
      result.measurements.map((m) => [
        m.key,
        String(m.round),
        fmtInt(m.setup.ms),
        fmtInt(m.deliveriesPerSec.receivers),
        fmtInt(m.deliveriesPerSec.stdev),
        fmtUs(m.latencyUs.p99),
        fmtUs(m.latencyUs.p999),
        fmtInt(m.check.expectedTotal),
        String(m.check.lostTotal),
        fmtInt(m.check.drainMs),
        m.server?.cpuUsPerDelivery?.toFixed(3) ?? 'n/a',
        m.tester.cpuUsPerDelivery.toFixed(3),
        m.tester.threadUtilization.map(pct).join(' / '),
      ]),
      new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
    ),
  );
  if (result.warnings.length) out.push('', '## Warnings', '', ...result.warnings.map((w) => `- ${w}`));
  out.push('');
  return out.join('\n');
}
