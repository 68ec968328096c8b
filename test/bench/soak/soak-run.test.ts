// A short real soak: clients leave (with !DISCONNECT or abruptly) and come back, and the
// server's count equals the clients' exactly.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSoak, SOAK_DEFAULTS } from '../../../src/bench/soak/run.ts';

test('a short soak with reconnects passes, every message counted once', { timeout: 60_000 }, async () => {
  const report = await runSoak({
    ...SOAK_DEFAULTS,
    minutes: 0.08,
    clients: 30,
    meanLifetimeS: 0.3,
    sampleEveryS: 0.5,
    // The machine is shared: this test is about exactness and the reconnects, not latency.
    p99Factor: 1000,
    rssTolerance: 10,
  });
  assert.ok(report.counts.clientSent > 0);
  assert.equal(report.counts.serverMessages, report.counts.clientSent);
  assert.equal(report.counts.clientAcked, report.counts.clientSent);
  assert.ok(report.disconnects > 0, `some left with !DISCONNECT: ${report.disconnects}`);
  assert.ok(report.aborts > 0, `some closed abruptly: ${report.aborts}`);
  assert.ok(report.samples.length >= 5, `samples: ${report.samples.length}`);
  assert.ok(
    report.samples.every((s) => s.fds !== null && s.rssBytes !== null),
    'the server is measured',
  );
  assert.deepEqual(
    report.checks.filter((c) => !c.ok),
    [],
  );
});
