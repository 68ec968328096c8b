import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import {
  compareRuns,
  comparisonText,
  resolveSides,
  variantSides,
} from '../../../src/bench/results/compare.ts';
import type { BenchResult } from '../../../src/bench/results/result.ts';
import { IncomparableRunsError } from '../../../src/protocol/index.ts';

const run = promisify(execFile);
const ROOT = path.join(import.meta.dirname, '..', '..', '..');
const HANDOFF = path.join(ROOT, 'bin', 'handoff');
const PUBLISHED = path.join(ROOT, 'results', 'published');
const HEADER_RUN = path.join(PUBLISHED, '2026-11-24T09-26-31Z-header-64-vs-8.json');
const DEFAULT_RUN = path.join(PUBLISHED, '2026-11-24T09-12-24Z-default.json');

const load = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as BenchResult;

/** A copy of a published run with other options (the load), saved in a temporary folder. */
async function variantOf(t: { after(fn: () => Promise<void>): void }, file: string, options: object) {
  const dir = await mkdtemp(path.join(tmpdir(), 'handoff-compare-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const result = await load(file);
  const copy = { ...result, options: { ...result.options, ...options } };
  const out = path.join(dir, `${path.basename(file, '.json')}-changed.json`);
  await writeFile(out, JSON.stringify(copy));
  return { file: out, result: copy as BenchResult };
}

test('compare refuses runs whose load differs (500 vs 50 clients), naming what differs, with IncomparableRunsError', async () => {
  const a = await load(DEFAULT_RUN);
  const b = { ...a, options: { ...a.options, clients: 50, rate: 20_000 } };
  assert.throws(
    () => compareRuns({ name: 'A', result: a, variant: null }, { name: 'B', result: b, variant: null }),
    (err: unknown) =>
      err instanceof IncomparableRunsError &&
      err.code === 'ERR_INCOMPARABLE_RUNS' &&
      /clients 500 vs 50/.test(err.message) &&
      /rate closed loop vs 20,000 msgs\/s/.test(err.message) &&
      /--force/.test(err.message),
  );
});

test('compare --force compares them and every row says what differs', async () => {
  const a = await load(DEFAULT_RUN);
  const b = { ...a, options: { ...a.options, clients: 50 } };
  const c = compareRuns({ name: 'A', result: a, variant: null }, { name: 'B', result: b, variant: null }, { force: true });
  assert.equal(c.rows.length, 7);
  for (const r of c.rows) assert.deepEqual(r.loadDiffers, ['clients 500 vs 50']);
  const rows = comparisonText(c, 200)
    .split('\n')
    .filter((l) => /^\d+ (B|KiB) /.test(l));
  assert.equal(rows.length, 7);
  for (const line of rows) assert.match(line, /clients 500 vs 50/);
  // At 80 columns too: the difference is never a column that goes.
  for (const line of comparisonText(c, 80).split('\n').filter((l) => /^\d+ (B|KiB) /.test(l))) {
    assert.match(line, /clients 500 vs 50/);
  }
});

test('a header size that differs is the variable when only it differs, and a load difference when the strategy differs too', async () => {
  const run = await load(HEADER_RUN);
  const [h64, h8] = variantSides('r', run, 'handoff h64', 'handoff h8');
  assert.deepEqual(compareRuns(h64, h8).loadDiffers, []);
  // The same run seen as two runs (another file): still the header is the variable.
  const copy = structuredClone(run);
  assert.deepEqual(compareRuns(h64, { ...h8, result: copy }).loadDiffers, []);
  const other = structuredClone(run);
  for (const r of other.summary) if (r.variant === 'handoff h8') r.strategy = 'reuseport';
  assert.throws(() => compareRuns(h64, { ...h8, result: other }), /header 64 vs 8 B/);
});

test('two variants of one run: p99, wire MB/s and header share are judged too, paired by round', async () => {
  const run = await load(HEADER_RUN);
  const c = compareRuns(...variantSides('r', run, 'handoff h64', 'handoff h8'));
  const at16 = c.rows.find((r) => r.sizeBytes === 16)!;
  assert.deepEqual(
    at16.metrics.map((m) => m.name),
    ['p99', 'wire MB/s', 'header share'],
  );
  const share = at16.metrics.find((m) => m.name === 'header share')!;
  // (8+8)/(8+16+8+12) over (64+64)/(64+16+64+12): the header's share falls to less than half.
  assert.ok(share.ratio < 0.5, `header share ratio ${share.ratio}`);
  assert.equal(share.verdict, 'B lower');
});

test('compare A.json#h64 B.json#h8 picks a variant of each file; the same file twice is paired by round', async () => {
  const [a, b] = await resolveSides([`${HEADER_RUN}#h64`, `${HEADER_RUN}#h8`]);
  assert.equal(a.variant, 'handoff h64');
  assert.equal(b.variant, 'handoff h8');
  assert.equal(a.result, b.result, 'one run, read once');
  assert.equal(compareRuns(a, b).rows[0]!.basis, 'paired rounds');
  await assert.rejects(resolveSides([`${HEADER_RUN}#h16`, DEFAULT_RUN]), /no variant of that name; its variants: handoff h64, handoff h8/);
  await assert.rejects(resolveSides([`${HEADER_RUN}#handoff`, DEFAULT_RUN]), /2 variants match/);
});

test('handoff compare: runs of different loads are one line and exit status 2; --force compares them', async (t) => {
  const other = await variantOf(t, DEFAULT_RUN, { clients: 50 });
  const refused = await run(HANDOFF, ['compare', '--no-save', DEFAULT_RUN, other.file]).then(
    () => assert.fail('compare accepted runs of different loads'),
    (err: { code: number; stdout: string; stderr: string }) => err,
  );
  assert.equal(refused.code, 2);
  assert.equal(refused.stdout, '');
  assert.match(refused.stderr, /^handoff compare: .* ran different loads \(clients 500 vs 50\): .*--force\n$/);
  const forced = await run(HANDOFF, ['compare', '--no-save', '--force', DEFAULT_RUN, other.file]);
  assert.match(forced.stdout, /16 B .*clients 500 vs 50/);
});
