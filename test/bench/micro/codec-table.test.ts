import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codecMarkdown, codecText, type CodecTableRow } from '../../../src/bench/micro/codec-table.ts';

const rows: CodecTableRow[] = [
  {
    group: 'header parse',
    payloadBytes: 16,
    headerBytes: 64,
    chunking: '-',
    framesPerSecond: 11_270_000,
    gigabytesPerSecond: null,
    rmePercent: 2.4,
  },
  {
    group: 'decode',
    payloadBytes: 65536,
    headerBytes: 8,
    chunking: '1448 B pieces',
    framesPerSecond: 21_500,
    gigabytesPerSecond: 1.409,
    rmePercent: 0.8,
  },
];

test('codec table: no (index) column, no quoted strings, a unit on every figure (calls/s, frames/s, GB/s, B, %)', () => {
  const text = codecText(rows);
  assert.doesNotMatch(text, /\(index\)|'/);
  const [, , parse, decode] = text.split('\n');
  assert.match(parse!, /header parse\s+16 B\s+64 B\s+-\s+11\.27 M calls\/s\s+-\s+±2\.4%$/);
  assert.match(decode!, /decode\s+64 KiB\s+8 B\s+1448 B pieces\s+21\.5 k frames\/s\s+1\.41 GB\/s\s+±0\.8%$/);
  assert.match(
    codecMarkdown(rows),
    /\| decode \| 64 KiB \| 8 B \| 1448 B pieces \| 21\.5 k frames\/s \| 1\.41 GB\/s \| ±0\.8% \|/,
  );
});
