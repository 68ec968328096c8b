// bench:merge: two load machines' runs of one scenario, at the same time, made into one run.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import { decodeHistogram, mergeHistograms, summarize } from '../../../src/bench/shared/latency.ts';
import { mergeRuns, type MergedResult, type NamedRun } from '../../../src/bench/results/merge.ts';
import type { BenchResult } from '../../../src/bench/results/result.ts';
import { HandoffError } from '../../../src/protocol/index.ts';
import { BIN, listening, run as spawnServer } from '../../helpers/process.ts';

const exec = promisify(execFile);

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'handoff-merge-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Two testers against one server at the same time, as two load machines would be. */
async function twoConcurrentRuns(t: TestContext, dir: string, extra: string[] = []): Promise<string[]> {
  const server = spawnServer(t, ['serve', '--port', '0', '--host', '127.0.0.1', '--json', '--workers', '2']);
  const { port } = await listening(server);
  const args = (label: string) => [
    'bench',
    ...`--target 127.0.0.1:${port} -c 3 -w 1 -s 16,1k -d 2 --warmup 0 --no-progress --out ${dir} --label ${label}`.split(
      ' ',
    ),
    ...extra,
  ];
  await Promise.all(['a', 'b'].map((label) => exec(BIN, args(label), { timeout: 60_000 })));
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  return ['-a.json', '-b.json'].map((end) => path.join(dir, files.find((f) => f.endsWith(end))!));
}

const read = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as BenchResult;

function expectRefusal(runs: NamedRun[], code: string, pattern: RegExp): void {
  assert.throws(
    () => mergeRuns(runs),
    (err: unknown) => err instanceof HandoffError && err.code === code && pattern.test(err.message),
  );
}

test('bench:merge of two real concurrent runs: msgs/s summed, percentiles those of the concatenated histograms, saved like a run', async (t) => {
  const dir = await tempDir(t);
  const [fileA, fileB] = await twoConcurrentRuns(t, dir);
  const out = path.join(dir, 'merged');
  const { stdout } = await exec(BIN, ['merge', fileA!, fileB!, '--out', out, '--label', 'two machines', '--json'], {
    timeout: 30_000,
  });
  const merged = JSON.parse(stdout) as MergedResult;
  const [a, b] = [await read(fileA!), await read(fileB!)];
  assert.equal(merged.schema, 'handoff-bench/1');
  assert.equal(merged.label, 'two machines');
  assert.equal(merged.options.clients, 6);
  assert.deepEqual(
    merged.mergedFrom.map((r) => r.label),
    ['a', 'b'],
  );
  assert.equal(merged.measurements.length, 2);
  for (const m of merged.measurements) {
    const ma = a.measurements.find((x) => x.key === m.key)!;
    const mb = b.measurements.find((x) => x.key === m.key)!;
    assert.ok(ma.window.messages > 0 && mb.window.messages > 0);
    assert.equal(m.msgsPerSec.overall, ma.msgsPerSec.overall + mb.msgsPerSec.overall);
    assert.equal(m.window.messages, ma.window.messages + mb.window.messages);
    assert.equal(m.errors.total, 0);
    // Exactly the percentiles of all the messages: the two histograms' buckets added up.
    const all = decodeHistogram(ma.histogram);
    all.add(decodeHistogram(mb.histogram));
    assert.deepEqual(m.latencyUs, summarize(all));
    assert.deepEqual(summarize(mergeHistograms([m.histogram])), summarize(all));
    assert.equal(m.latencyUs.count, ma.latencyUs.count + mb.latencyUs.count);
  }
  const saved = await readdir(out);
  for (const ext of ['.json', '.md', '.svg']) assert.ok(saved.some((f) => f.endsWith(`two-machines${ext}`)), ext);
  assert.match(await readFile(path.join(out, saved.find((f) => f.endsWith('.md'))!), 'utf8'), /Merged \(bench:merge\)/);

  // Refused: another scenario, and runs that were not taken at the same time.
  const named = (name: string, result: BenchResult): NamedRun => ({ name, result });
  const other = structuredClone(b);
  other.options = { ...other.options, pipelining: 4 };
  expectRefusal([named('a', a), named('b', other)], 'ERR_INCOMPATIBLE_RUNS', /--pipelining 1 vs 4/);
  const sizes = structuredClone(b);
  sizes.options = { ...sizes.options, sizes: [16] };
  expectRefusal([named('a', a), named('b', sizes)], 'ERR_INCOMPATIBLE_RUNS', /--sizes 16,1024 vs 16/);
  const header = structuredClone(b);
  header.options = { ...header.options, headerBytes: [8] };
  expectRefusal([named('a', a), named('b', header)], 'ERR_INCOMPATIBLE_RUNS', /--header-bytes 64 vs 8/);
  const mode = structuredClone(b);
  mode.options = { ...mode.options, mode: 'echo' };
  expectRefusal([named('a', a), named('b', mode)], 'ERR_INCOMPATIBLE_RUNS', /--mode ack vs echo/);
  const later = structuredClone(b);
  const hour = 3_600_000;
  later.startedAt = new Date(Date.parse(later.startedAt) + hour).toISOString();
  later.finishedAt = new Date(Date.parse(later.finishedAt) + hour).toISOString();
  expectRefusal([named('a', a), named('b', later)], 'ERR_RUNS_NOT_CONCURRENT', /same time/);
  // The runs overlap, but one measurement's windows do not.
  const shifted = structuredClone(b);
  shifted.measurements[1]!.window.startEpochMs! += 60_000;
  expectRefusal([named('a', a), named('b', shifted)], 'ERR_RUNS_NOT_CONCURRENT', /1 KiB: b measured from/);
  expectRefusal([named('a', a)], 'ERR_INCOMPATIBLE_RUNS', /two runs or more/);

  // The command line says it in one line, exit status 1.
  const cli = await exec(BIN, ['merge', fileA!, fileA!.replace('-a.json', '-missing.json')]).catch((err) => err);
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /^handoff merge: cannot read .*missing\.json/);
});
