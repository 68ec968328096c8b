/**
 * Tables that fit the terminal: every column knows its heading, its cell and
 * when it goes if the table is too wide (autocannon's compact tables choose
 * their columns the same way); the markdown report keeps every column.
 */
import { type Column, textColumns } from './table.ts';

type FitColumn<T> = Column<T>;

/**
 * The width to fit: the terminal's, else $COLUMNS, else 80 on a terminal;
 * output that goes to a file or a pipe has no width to fit (every column).
 */
export function terminalWidth(stream: { columns?: number; isTTY?: boolean } = process.stdout): number {
  return stream.columns || Number(process.env.COLUMNS) || (stream.isTTY ? 80 : Number.POSITIVE_INFINITY);
}

/** The columns that fit `width`, dropping them in their order; the names of those left out. */
function fitColumns<T>(
  rows: readonly T[],
  columns: ReadonlyArray<FitColumn<T>>,
  width: number,
): { kept: Array<FitColumn<T>>; dropped: string[] } {
  const widthOf = (c: FitColumn<T>) => Math.max(c[0].length, ...rows.map((r) => c[1](r).length));
  const kept = [...columns];
  const tableWidth = () => kept.reduce((sum, c) => sum + widthOf(c), 0) + 2 * (kept.length - 1);
  const dropped: string[] = [];
  while (tableWidth() > width) {
    let next = -1;
    kept.forEach((c, i) => {
      if (c[3] !== undefined && (next < 0 || c[3] < kept[next]![3]!)) next = i;
    });
    if (next < 0) break;
    dropped.push(kept[next]![0]);
    kept.splice(next, 1);
  }
  return { kept, dropped };
}

function droppedLine(dropped: readonly string[], width: number): string {
  return wrapText(`not shown at this width: ${dropped.join(', ')} (the saved report has every column)`, width);
}

/** One table per group (a variant, say: `handoff h64:` above its rows), the same columns in each, fit to `width`. */
export function stackedTable<T>(
  rows: readonly T[],
  groupOf: (row: T) => string,
  columns: ReadonlyArray<FitColumn<T>>,
  width: number,
): string {
  const { kept, dropped } = fitColumns(rows, columns, width);
  const groups = new Map<string, T[]>();
  for (const r of rows) {
    const g = groups.get(groupOf(r));
    if (g) g.push(r);
    else groups.set(groupOf(r), [r]);
  }
  const out: string[] = [];
  for (const [name, members] of groups) out.push(`${name}:`, textColumns(members, kept), '');
  if (dropped.length) out.push(droppedLine(dropped, width));
  return out.join('\n').trimEnd();
}

/** One table fit to `width`, with a line naming the columns left out. */
export function fittedTable<T>(rows: readonly T[], columns: ReadonlyArray<FitColumn<T>>, width: number): string {
  const { kept, dropped } = fitColumns(rows, columns, width);
  const text = textColumns(rows, kept);
  return dropped.length ? `${text}\n${droppedLine(dropped, width)}` : text;
}

/** Words wrapped to `width`, continuation lines indented by `indent`. */
export function wrapText(text: string, width: number, indent = '  '): string {
  return text
    .split('\n')
    .map((line) => {
      const lead = /^\s*/.exec(line)![0];
      const out: string[] = [];
      let current = '';
      for (const word of line.slice(lead.length).split(' ')) {
        const prefix = out.length === 0 ? lead : lead + indent;
        if (current && prefix.length + current.length + 1 + word.length > width) {
          out.push(prefix + current);
          current = word;
        } else current = current ? `${current} ${word}` : word;
      }
      out.push((out.length === 0 ? lead : lead + indent) + current);
      return out.join('\n');
    })
    .join('\n');
}
