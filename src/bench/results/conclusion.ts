/**
 * The last word of a run with several variants (`--header-bytes 64,8`, several
 * strategies, chat targets or server workers): each variant against the first,
 * per point, paired round by round (compare.ts), on the rate, p99, wire MB/s
 * and header share; then the verdict in words. No second command needed.
 */
import { type Column } from '../shared/table.ts';
import {
  type Comparison,
  type ComparisonRow,
  compareRuns,
  MARK_LEGEND,
  markedRatio,
  metricCell,
  variantSides,
} from './compare.ts';
import { fittedTable, terminalWidth, wrapText } from '../shared/fit.ts';
import type { AnyResult } from './saved-runs.ts';

function columns(c: Comparison): Array<Column<ComparisonRow>> {
  const hasShare = c.rows.some((r) => r.metrics.some((m) => m.name === 'header share'));
  return [
    [c.unit === 'msgs/s' ? 'size' : 'receivers, size', (r) => r.point],
    [c.unit, (r) => markedRatio(r), true],
    ['noise', (r) => (r.noise === null ? 'n/a' : `±${(r.noise * 100).toFixed(1)}%`), true, 3],
    ['p99', metricCell('p99'), true],
    ['wire MB/s', metricCell('wire MB/s'), true, 2],
    ...(hasShare ? ([['header share', metricCell('header share'), true, 1]] as Array<Column<ComparisonRow>>) : []),
  ];
}

/** `handoff h8 is faster at 1 KiB, 4 KiB; slower at 64 B; within the noise at 16 B.` */
function inWords(c: Comparison, b: string): string {
  const at = (verdict: string) =>
    c.rows
      .filter((r) => r.verdict === verdict)
      .map((r) => r.point)
      .join(', ');
  const parts = [
    ['faster', at('B faster')],
    ['slower', at('B slower')],
    ['within the noise', at('within noise')],
    ['without a noise estimate', at('no noise estimate')],
  ].flatMap(([what, where]) => (where ? [`${what} at ${where}`] : []));
  return `${b} is ${parts.join('; ')} (${c.unit}).`;
}

/** The conclusion text, or '' for a run of one variant. */
export function conclusionText(result: AnyResult, width = terminalWidth()): string {
  const variants = [...new Set(result.summary.map((r) => r.variant))];
  if (variants.length < 2) return '';
  const out: string[] = [];
  for (const b of variants.slice(1)) {
    const c = compareRuns(...variantSides('', result, variants[0]!, b));
    const basis = c.rows.every((r) => r.basis === 'paired rounds')
      ? `paired over ${result.options.repeat} rounds`
      : 'one round: noise from the per-second spread, use --repeat 3 for a verdict that holds';
    out.push(
      wrapText(`Conclusion: ${b} against ${variants[0]} (B/A, ${basis}):`, width),
      fittedTable(c.rows, columns(c), width),
      wrapText(inWords(c, b), width),
      '',
    );
  }
  out.push(wrapText(MARK_LEGEND, width));
  return out.join('\n');
}
