/** The codec micro-benchmarks as a table for people: a unit on every figure, one definition for the terminal and the markdown. */
import { fmtRate, formatSize } from '../shared/format.ts';
import { type Column, markdownColumns, textColumns } from '../shared/table.ts';

/** What a table row needs of a codec result (codec.ts's CodecRow). */
export interface CodecTableRow {
  group: string;
  payloadBytes: number;
  headerBytes: number;
  chunking: string;
  framesPerSecond: number;
  gigabytesPerSecond: number | null;
  rmePercent: number;
}

/** Header tasks count calls, decode tasks count complete frames. */
const rateUnit = (r: CodecTableRow) => (r.group === 'decode' ? 'frames/s' : 'calls/s');

const COLUMNS: ReadonlyArray<Column<CodecTableRow>> = [
  ['task', (r) => r.group],
  ['payload', (r) => formatSize(r.payloadBytes), true],
  ['header', (r) => `${r.headerBytes} B`, true],
  ['chunks', (r) => r.chunking],
  ['rate', (r) => `${fmtRate(r.framesPerSecond)} ${rateUnit(r)}`, true],
  ['payload', (r) => (r.gigabytesPerSecond === null ? '-' : `${r.gigabytesPerSecond.toFixed(2)} GB/s`), true],
  ['error', (r) => `±${r.rmePercent.toFixed(1)}%`, true],
];

export function codecText(rows: readonly CodecTableRow[]): string {
  return textColumns(rows, COLUMNS);
}

export function codecMarkdown(rows: readonly CodecTableRow[]): string {
  return markdownColumns(rows, COLUMNS);
}
