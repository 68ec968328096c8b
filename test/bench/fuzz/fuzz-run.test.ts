// A short fuzz run against a live server: no crash, no wrong outcome, nothing left open.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FUZZ_DEFAULTS, fuzzProblems, runFuzz } from '../../../src/bench/fuzz/run.ts';

test('400 fuzz inputs against handoff serve: every outcome as the oracle says', { timeout: 60_000 }, async () => {
  const report = await runFuzz({ ...FUZZ_DEFAULTS, inputs: 400, concurrency: 100, seed: 42 });
  assert.equal(report.inputs, 400);
  assert.deepEqual(fuzzProblems(report), []);
  for (const outcome of ['fin', 'BAD_HEADER', 'TOO_LARGE', 'TIMEOUT']) {
    assert.ok(
      (report.outcomes[outcome] ?? 0) > 0,
      `some inputs end with ${outcome}: ${JSON.stringify(report.outcomes)}`,
    );
  }
});
