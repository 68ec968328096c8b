/**
 * Tables as text and as markdown, from column definitions: the bench's reports,
 * its comparisons and its scripts' summaries all print them (fit.ts fits them
 * to a terminal's width).
 */
/** Right-aligned by default: every column but the first two (the variant and the size, in most tables). */
const RIGHT = new Set([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);

/** Columns padded to their widest cell, two spaces apart, a dashed line under the heading. */
export function textTable(head: string[], rows: string[][], right: Set<number> = RIGHT): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A GitHub markdown table; `|` in a cell escaped. */
export function markdownTable(head: string[], rows: string[][], right: Set<number> = RIGHT): string {
  const esc = (c: string) => c.replaceAll('|', '\\|');
  return [
    `| ${head.map(esc).join(' | ')} |`,
    `| ${head.map((_, i) => (right.has(i) ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

/**
 * A column of a table: its heading, its cell for a row, whether it is a figure
 * (right-aligned), and its turn to go when a terminal table is too wide (1
 * goes first; none: always shown; see fit.ts). Markdown keeps every column.
 */
export type Column<T> = readonly [head: string, cell: (row: T) => string, figure?: boolean, dropOrder?: number];

/** A markdown table from rows and column definitions (heading and cell side by side, never out of step). */
export function markdownColumns<T>(rows: readonly T[], columns: ReadonlyArray<Column<T>>): string {
  const right = new Set(columns.flatMap(([, , figure], i) => (figure ? [i] : [])));
  return markdownTable(
    columns.map(([head]) => head),
    rows.map((r) => columns.map(([, cell]) => cell(r))),
    right,
  );
}

/** The same as terminal text: heading and cell side by side, figures right-aligned. */
export function textColumns<T>(rows: readonly T[], columns: ReadonlyArray<Column<T>>): string {
  const right = new Set(columns.flatMap(([, , figure], i) => (figure ? [i] : [])));
  return textTable(
    columns.map(([head]) => head),
    rows.map((r) => columns.map(([, cell]) => cell(r))),
    right,
  );
}
