import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { BenchResult } from '../../../src/bench/results/result.ts';
import { fakeServerCommand } from '../helpers/fake.ts';

const run = promisify(execFile);
const HANDOFF = path.join(import.meta.dirname, '..', '..', '..', 'bin', 'handoff');

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'handoff-bench-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function bench(args: string[]) {
  return run(HANDOFF, ['bench', ...args], { timeout: 60_000 });
}

async function onlyResult(dir: string): Promise<{ file: string; result: BenchResult }> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json'));
  assert.equal(files.length, 1, `one JSON file in ${files}`);
  const file = path.join(dir, files[0]!);
  return { file, result: JSON.parse(await readFile(file, 'utf8')) as BenchResult };
}

test('a short bench (2 sizes, 1 s) against the embedded server saves a JSON run that compare reads; acks equal the server count', async (t) => {
  const dir = await tempDir(t);
  const { stdout } = await bench([
    '-c',
    '4',
    '-w',
    '1',
    '-s',
    '16,1k',
    '-d',
    '1',
    '--warmup',
    '0',
    '--server-workers',
    '2',
    '--out',
    dir,
    '--label',
    'test run',
  ]);
  assert.match(stdout, /msgs\/s/);
  const { file, result } = await onlyResult(dir);
  assert.equal(result.schema, 'handoff-bench/1');
  assert.equal(result.label, 'test run');
  assert.equal(result.target.kind, 'embedded');
  assert.equal(result.environment.node, 'v26.10.0');
  assert.ok(result.environment.cores >= 1);
  assert.deepEqual(result.options.sizes, [16, 1024]);
  assert.equal(result.measurements.length, 2);
  for (const m of result.measurements) {
    assert.ok(m.window.messages > 0, `${m.key}: messages`);
    assert.ok(m.samples.length >= 1);
    assert.ok(m.latencyUs.p50 > 0 && m.latencyUs.p50 <= m.latencyUs.p99);
    assert.equal(typeof m.histogram, 'string');
    assert.equal(m.errors.total, 0, m.errors.first);
    // Measured on the wire: 64-byte headers on both directions.
    assert.ok(m.headerShare > 0 && m.headerShare < 1);
    assert.ok(m.server, 'server figures for an embedded server');
    assert.equal(
      m.server.messages,
      m.server.testerAcked,
      `${m.key}: server counted ${m.server.messages}, tester acked ${m.server.testerAcked}`,
    );
    assert.equal(m.server.countsAgree, true);
    assert.equal(
      m.server.connectionsPerWorker.reduce((a, b) => a + b, 0),
      4,
    );
  }
  const files = await readdir(dir);
  assert.ok(
    files.some((f) => f.endsWith('.svg')),
    'chart saved',
  );
  const svg = await readFile(
    path.join(
      dir,
      files.find((f) => f.endsWith('.svg'))!,
    ),
    'utf8',
  );
  assert.match(svg, /^<svg/);
  assert.match(await readFile(path.join(dir, 'README.md'), 'utf8'), /test-run\.json/);

  const compared = await run(HANDOFF, ['compare', file, file, '--out', dir], { timeout: 30_000 });
  assert.match(compared.stdout, /16 B/);
  assert.match(compared.stdout, /1 KiB/);
  assert.match(compared.stdout, /1\.000/);
  assert.match(compared.stdout, /within noise/);
  assert.ok((await readdir(dir)).some((f) => f.startsWith('compare-') && f.endsWith('.md')));
});

test('two header sizes over two interleaved rounds: compare judges the pair on paired rounds', async (t) => {
  const dir = await tempDir(t);
  await bench([
    ...'-c 2 -w 1 -s 16 -d 0.5 --warmup 0 --header-bytes 64,8 --repeat 2'.split(' '),
    '--out',
    dir,
    '--server-command',
    fakeServerCommand().join(' '),
  ]);
  const { file, result } = await onlyResult(dir);
  assert.deepEqual(
    result.measurements.map((m) => [m.round, m.headerBytes]),
    [
      [1, 64],
      [1, 8],
      [2, 64],
      [2, 8],
    ],
  );
  assert.equal(result.summary.length, 2);
  const h8 = result.measurements.find((m) => m.headerBytes === 8)!;
  const h64 = result.measurements.find((m) => m.headerBytes === 64)!;
  // 16-byte payload, 12-byte ack: (8+8)/(8+16+8+12) with 8-byte headers; (64+64)/(64+16+64+12) with 64
  // (near enough: a window edge can cut between a message and its reply).
  assert.ok(Math.abs(h8.headerShare - 16 / 44) < 1e-3, `h8 share ${h8.headerShare}`);
  assert.ok(Math.abs(h64.headerShare - 128 / 156) < 1e-3, `h64 share ${h64.headerShare}`);
  const { stdout } = await run(HANDOFF, ['compare', file, '--json', '--no-save'], { timeout: 30_000 });
  const comparison = JSON.parse(stdout) as { rows: Array<{ basis: string; variantA: string; variantB: string }> };
  assert.equal(comparison.rows.length, 1);
  assert.equal(comparison.rows[0]!.basis, 'paired rounds');
  assert.deepEqual([comparison.rows[0]!.variantA, comparison.rows[0]!.variantB], ['handoff h64', 'handoff h8']);
});
