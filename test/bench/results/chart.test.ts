// Every chart kind rendered to SVG and read as a reader would: axis titles, legend
// symbols that show, one line per series, bars for a single point, the 50% rule.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import {
  chatChartSpec,
  compareChartSpec,
  renderSvg,
  runChartSpec,
  VERDICT_COLOURS,
} from '../../../src/bench/results/chart.ts';
import type { ChatResult } from '../../../src/bench/results/chat-result.ts';
import { compareRuns, variantSides } from '../../../src/bench/results/compare.ts';
import type { BenchResult } from '../../../src/bench/results/result.ts';

const PUBLISHED = path.join(import.meta.dirname, '..', '..', '..', 'results', 'published');
const load = async <T>(stem: string) => JSON.parse(await readFile(path.join(PUBLISHED, `${stem}.json`), 'utf8')) as T;

const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
const size = (svg: string) => /^<svg[^>]* width="(\d+)" height="(\d+)"/.exec(svg)!.slice(1).map(Number);
/** Line series per panel (vega draws each series as its own line mark group). */
const linesPerPanel = (svg: string) => {
  const counts = new Map<string, number>();
  for (const m of svg.matchAll(/<g class="mark-line role-mark (concat_\d+|layer_\d+)[^"]*"/g)) {
    counts.set(m[1]!, (counts.get(m[1]!) ?? 0) + 1);
  }
  return Object.fromEntries(counts);
};
/** The legend symbols: each must show (a visible stroke, or a fill). */
const legendSymbols = (svg: string) =>
  [...svg.matchAll(/<g class="mark-symbol role-legend-symbol"[^>]*><path ([^>]*)\/>/g)].map((m) => m[1]!);
const visible = (attrs: string) =>
  /stroke="(?!transparent|none)[^"]+"/.test(attrs) || /fill="(?!transparent|none)[^"]+"/.test(attrs);

/** Readable in docs/performance.md on GitHub: at most about 900 px wide, no 1300 x 304 strips. */
function assertReadableSize(svg: string) {
  const [w, h] = size(svg);
  assert.ok(w! <= 900 && w! >= 500, `width ${w}`);
  assert.ok(h! >= 300, `height ${h}`);
}

test('run chart over sizes: titled axes, one line per variant (two per variant for MB/s), legend symbols that show, a 50% rule', async () => {
  const run = await load<BenchResult>('2026-11-24T09-26-31Z-header-64-vs-8');
  const svg = await renderSvg(runChartSpec(run.summary, 'header 64 vs 8'));
  assertReadableSize(svg);
  const t = texts(svg);
  for (const title of ['msgs/s', 'MB/s (1e6 bytes, log scale)', 'header / wire bytes', 'payload size (log scale)']) {
    assert.ok(t.includes(title), `axis title ${title}`);
  }
  assert.deepEqual(linesPerPanel(svg), { concat_0: 2, concat_1: 4, concat_2: 2 });
  const symbols = legendSymbols(svg);
  assert.equal(symbols.length, 4, 'two variants, payload and wire');
  for (const s of symbols) assert.ok(visible(s), `legend symbol shows: ${s}`);
  const dashes = symbols.filter((s) => /stroke-dasharray/.test(s));
  assert.ok(dashes.every((s) => /stroke="#333"/.test(s)) && dashes.length === 2, 'payload and wire symbols are drawn lines');
  assert.ok(t.includes('half of the wire bytes'));
  // Size labels are centred on their ticks: none pushed into its neighbour at the end (`16 KiB64 KiB`).
  const sizeLabels = [...svg.matchAll(/<text text-anchor="(\w+)"[^>]*>(\d+ (?:B|KiB))<\/text>/g)];
  assert.ok(sizeLabels.length >= 7);
  for (const [, anchor, label] of sizeLabels) assert.equal(anchor, 'middle', String(label));
});

test('run chart of one size: bars per variant, no lines, the size named on the axis', async () => {
  const run = await load<BenchResult>('2026-11-24T09-17-35Z-strategies-1k');
  const svg = await renderSvg(runChartSpec(run.summary, 'strategies at 1 KiB'));
  assertReadableSize(svg);
  assert.deepEqual(linesPerPanel(svg), {});
  assert.ok((svg.match(/<g class="mark-rect role-mark/g) ?? []).length >= 3, 'bar panels');
  assert.ok(texts(svg).includes('at 1 KiB'));
  for (const s of legendSymbols(svg)) assert.ok(visible(s), s);
});

test('compare chart: one line over all sizes, each point coloured by its verdict, the same colour per verdict', async () => {
  const run = await load<BenchResult>('2026-11-24T09-26-31Z-header-64-vs-8');
  const c = compareRuns(...variantSides('r', run, 'handoff h64', 'handoff h8'));
  const svg = await renderSvg(compareChartSpec(c.rows, 'h64 vs h8'));
  assertReadableSize(svg);
  assert.deepEqual(linesPerPanel(svg), { layer_2: 1 });
  const points = [...svg.matchAll(/<g class="mark-symbol role-mark[^>]*>(.*?)<\/g>/g)][0]![1]!;
  const fills = [...points.matchAll(/fill="([^"]+)"/g)].map((m) => m[1]!);
  assert.deepEqual(
    fills,
    c.rows.map((r) => VERDICT_COLOURS[r.verdict]),
  );
  assert.ok(texts(svg).includes('msgs/s, B / A (band: noise)'));
  assert.ok(texts(svg).includes('payload size (log scale)'));
  // Every verdict in the legend, in its colour, whether this comparison has it or not.
  assert.deepEqual(
    legendSymbols(svg).map((s) => /fill="([^"]+)"/.exec(s)![1]),
    Object.values(VERDICT_COLOURS),
  );
});

test('chat charts: lines against receivers or sizes, bars for a single point', async () => {
  const sweep = await renderSvg(chatChartSpec((await load<ChatResult>('2026-12-02T00-31-31Z-chat-receivers-sweep')).summary, 's'));
  assert.deepEqual(linesPerPanel(sweep), { concat_0: 1, concat_1: 1 });
  assert.ok(texts(sweep).includes('receivers (log scale)'));
  const sizes = await renderSvg(
    chatChartSpec((await load<ChatResult>('2026-12-02T00-46-18Z-chat-size-sweep-closed-loop')).summary, 's'),
  );
  assert.ok(texts(sizes).includes('payload size (log scale)'));
  const one = await renderSvg(
    chatChartSpec((await load<ChatResult>('2026-12-02T00-29-31Z-chat-500-receivers-closed-loop')).summary, 'o'),
  );
  assert.deepEqual(linesPerPanel(one), {});
  assert.ok(texts(one).includes('500 receivers, 16 B'));
  for (const svg of [sweep, sizes, one]) {
    assertReadableSize(svg);
    assert.ok(texts(svg).includes('deliveries/s'));
    for (const s of legendSymbols(svg)) assert.ok(visible(s), s);
  }
});
