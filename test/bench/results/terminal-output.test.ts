import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { fmtMB } from '../../../src/bench/shared/format.ts';
import { chatSummaryText, describeChatMeasurement } from '../../../src/bench/results/chat-report.ts';
import type { ChatResult } from '../../../src/bench/results/chat-result.ts';
import { conclusionText } from '../../../src/bench/results/conclusion.ts';
import { comparisonText, compareRuns, MARK_LEGEND, variantSides } from '../../../src/bench/results/compare.ts';
import { replay } from '../../helpers/screen.ts';
import { terminalWidth, wrapText } from '../../../src/bench/shared/fit.ts';
import { describeMeasurement, headerDominance, markdownReport, summaryText } from '../../../src/bench/results/report.ts';
import type { BenchResult, SummaryRow } from '../../../src/bench/results/result.ts';

const PUBLISHED = path.join(import.meta.dirname, '..', '..', '..', 'results', 'published');
const load = async <T>(stem: string) => JSON.parse(await readFile(path.join(PUBLISHED, `${stem}.json`), 'utf8')) as T;
const HEADER_RUN = '2026-11-24T09-26-31Z-header-64-vs-8';
const STRATEGIES_RUN = '2026-11-24T09-17-35Z-strategies-1k';
const CHAT_RUN = '2026-12-02T00-29-31Z-chat-500-receivers-closed-loop';
const CHAT_SWEEP = '2026-12-02T00-31-31Z-chat-receivers-sweep';

const widest = (text: string) => Math.max(...text.split('\n').map((l) => l.length));

test('the summary fits 80 and 60 columns: msgs/s, p99, header share and errors stay, the rest is named as left out', async () => {
  const run = await load<BenchResult>(HEADER_RUN);
  for (const width of [80, 60]) {
    const text = summaryText(run, width);
    assert.ok(widest(text) <= width, `${width}: widest line ${widest(text)}\n${text}`);
    assert.match(text, /^handoff h64:\n\s+size\s+msgs\/s/m);
    assert.match(text, /^handoff h8:$/m);
    assert.match(text, /not shown at this width: timeouts, p99\.9/);
  }
  const at80 = summaryText(run, 80);
  assert.match(at80, /p99 .* header share +errors/);
  // Wide enough, every column is there and nothing is said to be missing.
  const wide = summaryText(run, 300);
  assert.match(wide, /p99\.9 .* payload MB\/s .* server CPU-s\/M msgs/);
  assert.doesNotMatch(wide, /not shown/);
  // The markdown report keeps the full table.
  assert.match(markdownReport(run), /\| server, header \| size \| msgs\/s \| noise \| p50 \| p99 \| p99\.9 \| payload MB\/s/);
});

test('a one-size run with several strategies is one table with the variant column, not a table per row', async () => {
  const text = summaryText(await load<BenchResult>(STRATEGIES_RUN), 80);
  assert.ok(widest(text) <= 80, text);
  assert.match(text, /^server, header +size +msgs\/s/m);
  assert.match(text, /^reuseport h64 +1 KiB/m);
});

test('the chat summary fits 80 columns too (one table, or one per target in a sweep)', async () => {
  for (const stem of [CHAT_RUN, CHAT_SWEEP]) {
    const text = chatSummaryText(await load<ChatResult>(stem), 80);
    assert.ok(widest(text) <= 80, `${stem}\n${text}`);
    assert.match(text, /deliveries\/s to receivers/);
    assert.match(text, /p99 +lost +errors/);
  }
});

test('where the header dominates is said in words, per header size', () => {
  const row = (variant: string, headerBytes: number, sizeBytes: number, headerShare: number) =>
    ({ variant, headerBytes, sizeBytes, headerShare }) as SummaryRow;
  assert.deepEqual(
    headerDominance([
      row('handoff h64', 64, 16, 0.82),
      row('handoff h64', 64, 64, 0.63),
      row('handoff h64', 64, 256, 0.32),
      row('handoff h8', 8, 16, 0.36),
      row('handoff h8', 8, 64, 0.17),
    ]),
    [
      'The 64-byte header is more than half of the wire bytes up to 64 B payloads.',
      'The 8-byte header is less than half of the wire bytes at every size measured (at most 36.0%, at 16 B).',
    ],
  );
  assert.deepEqual(headerDominance([row('x h64', 64, 16, 0.8), row('x h64', 64, 32, 0.66)]), [
    'The 64-byte header is more than half of the wire bytes at every size measured (up to 32 B).',
  ]);
});

test('one size is not a sweep: its share in words; --sizes 0 says the payloads are empty', () => {
  const row = (sizeBytes: number, headerShare: number) =>
    ({ variant: 'handoff h64', headerBytes: 64, sizeBytes, headerShare }) as SummaryRow;
  assert.deepEqual(headerDominance([row(16, 0.821)]), ['The 64-byte header is 82.1% of the wire bytes at 16 B payloads.']);
  assert.deepEqual(headerDominance([row(0, 1)]), ['The 64-byte header is all of the wire bytes: the payloads are empty (0 B).']);
});

test('MB/s above 100 carry thousands separators, as every other figure', () => {
  assert.equal(fmtMB(2718.3), '2,718');
  assert.equal(fmtMB(12.34), '12.3');
  assert.equal(fmtMB(1.234), '1.23');
});

test('the report says where the header dominates, in the markdown and on the terminal', async () => {
  const run = await load<BenchResult>(HEADER_RUN);
  const sentence = 'The 64-byte header is more than half of the wire bytes up to 64 B payloads.';
  assert.ok(markdownReport(run).includes(sentence));
  assert.ok(summaryText(run, 80).includes(sentence));
});

test('a two-variant run ends with its conclusion: paired ratio per size on msgs/s, p99, wire MB/s and header share, and in words', async () => {
  const text = conclusionText(await load<BenchResult>(HEADER_RUN), 80);
  assert.ok(widest(text) <= 80, text);
  assert.match(text, /^Conclusion: handoff h8 against handoff h64 \(B\/A, paired over 3 rounds\):$/m);
  assert.match(text, /^size +msgs\/s +noise +p99 +wire MB\/s +header share$/m);
  // Header share with 8 of 64 header bytes: far lower, beyond any noise.
  assert.match(text, /^16 B +0\.\d{3} [~+-] +±[\d.]+% +\d\.\d{3} [~+-?] +0\.\d{3} - +0\.443 -$/m);
  assert.match(text, /handoff h8 is faster at 1 KiB, 4 KiB; slower at 64 B; within the noise at/);
  assert.equal(conclusionText(await load<BenchResult>('2026-11-24T09-12-24Z-default'), 80), '', 'one variant: nothing to conclude');
});

test('chat runs with several targets end with a conclusion on deliveries/s against the first target', async () => {
  const text = conclusionText(await load<ChatResult>(CHAT_RUN), 80);
  assert.match(text, /Conclusion: nats-server against handoff w2/);
  assert.match(text, /Conclusion: redis-server against handoff w2/);
  assert.match(text, /receivers, size +deliveries\/s/);
});

test('wrapText keeps words whole and indents what follows', () => {
  assert.equal(wrapText('aaa bbb ccc ddd', 8), 'aaa bbb\n  ccc\n  ddd');
  assert.equal(wrapText('  x: aaa bbb', 9), '  x: aaa\n    bbb');
});

test('the width to fit: the terminal\'s, else $COLUMNS, else 80 on a terminal and no limit in a pipe or file', (t) => {
  const columns = process.env.COLUMNS;
  t.after(() => {
    if (columns === undefined) delete process.env.COLUMNS;
    else process.env.COLUMNS = columns;
  });
  delete process.env.COLUMNS;
  assert.equal(terminalWidth({ isTTY: true, columns: 100 }), 100);
  assert.equal(terminalWidth({ isTTY: true }), 80);
  assert.equal(terminalWidth({ isTTY: false }), Number.POSITIVE_INFINITY);
  process.env.COLUMNS = '72';
  assert.equal(terminalWidth({ isTTY: false }), 72);
});

test('bench:compare in 80 columns: the legend and every note wrap, and a side with two variants names the one taken', async () => {
  const one = { name: 'default', result: await load<BenchResult>('2026-11-24T09-12-24Z-default'), variant: null };
  const two = { name: 'header-64-vs-8', result: await load<BenchResult>(HEADER_RUN), variant: null };
  const comparison = compareRuns(one, two, { force: true });
  assert.equal(comparison.nameB, 'header-64-vs-8 handoff h64', 'B says which of its variants was compared');
  assert.ok(
    comparison.notes.includes('header-64-vs-8 also holds handoff h8, not compared: pick a variant with header-64-vs-8.json#h8.'),
    comparison.notes.join('\n'),
  );
  const { rows, wrapped } = await replay(`${comparisonText(comparison, 80)}\n`);
  assert.deepEqual(wrapped, [], rows.join('\n'));
  assert.ok(rows.includes(MARK_LEGEND), 'the legend is one row');
  assert.ok(rows.some((r) => r.startsWith('note: ')));
  // A run compared with itself holds all its variants: its name needs nothing added.
  const [a, b] = variantSides('header', two.result, 'handoff h64', 'handoff h8');
  assert.equal(compareRuns(a, b).nameB, 'header handoff h8');
});

test('each measurement, as printed when it ends, fits 80 columns in whole words (echo/ack and chat)', async () => {
  const echo = await load<BenchResult>(HEADER_RUN);
  const chat = await load<ChatResult>(CHAT_RUN);
  const texts = [
    ...echo.measurements.slice(0, 4).map((m) => describeMeasurement(m, 80)),
    ...chat.measurements.slice(0, 4).map((m) => describeChatMeasurement(m, 80)),
  ];
  for (const text of texts) {
    const { rows, wrapped } = await replay(`${text}\n`);
    assert.deepEqual(wrapped, [], rows.join('\n'));
    // Nothing is cut: every word of the unwrapped text is on a row.
    assert.equal(rows.join(' ').split(/\s+/).filter(Boolean).join(' '), text.split(/\s+/).filter(Boolean).join(' '));
  }
});
