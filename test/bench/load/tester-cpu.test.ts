// The bench says what it cost: each load thread's own CPU over the window, per message beside the server's.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import type { BenchResult } from '../../../src/bench/results/result.ts';
import { describeMeasurement, summaryText } from '../../../src/bench/results/report.ts';

const run = promisify(execFile);
const HANDOFF = path.join(import.meta.dirname, '..', '..', '..', 'bin', 'handoff');

test("two load threads' own CPU: one figure each, above 0 and within the window; per message beside the server's", async () => {
  const args = '-c 8 -w 2 -s 16 -d 1 --warmup 0.3 --server-workers 1 --json --no-save';
  const { stdout } = await run(HANDOFF, ['bench', ...args.split(' ')], { timeout: 60_000 });
  const result = JSON.parse(stdout) as BenchResult;
  const m = result.measurements[0]!;
  assert.equal(m.errors.total, 0, m.errors.first);
  const threads = m.tester.loadThreads!;
  assert.ok(threads, 'the JSON has tester.loadThreads');
  assert.equal(threads.cpuSeconds.length, 2, 'one figure per load thread');
  for (const [i, s] of threads.cpuSeconds.entries()) {
    assert.ok(s > 0, `thread ${i} used some CPU (${s} s)`);
    // One thread cannot use more than the window's wall time (a little slack: it sees the edges a read late).
    assert.ok(s <= m.window.seconds * 1.05, `thread ${i}: ${s} s of CPU in a ${m.window.seconds} s window`);
  }
  const sum = threads.cpuSeconds.reduce((a, b) => a + b, 0);
  assert.ok(
    sum <= m.tester.cpuSeconds * 1.05 + 0.01,
    `load threads ${sum} s within the process's ${m.tester.cpuSeconds} s`,
  );
  assert.ok(Math.abs(threads.cpuUsPerMsg - (sum * 1e6) / m.window.messages) < 1e-6, 'per message of the window');

  // Said beside the server's, in the same unit, per measurement and in the summary.
  const line = describeMeasurement(m, Number.POSITIVE_INFINITY);
  assert.match(line, /server: [\d.]+ CPU-s per million msgs/);
  assert.match(
    line,
    new RegExp(`tester: load threads ${threads.cpuUsPerMsg.toFixed(2)} CPU-s per million msgs \\(whole process`),
  );
  const row = result.summary[0]!;
  assert.equal(row.testerCpuSecondsPerMillionMsgs, threads.cpuUsPerMsg);
  const table = summaryText(result, Number.POSITIVE_INFINITY);
  const [head, , cells] = table.split('\n');
  const at = head!.indexOf('tester CPU-s/M msgs');
  assert.ok(at > head!.indexOf('server CPU-s/M msgs'), 'the tester column comes after the server column');
  assert.ok(cells!.includes(threads.cpuUsPerMsg.toFixed(2)), table);
});
