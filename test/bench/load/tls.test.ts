// --transports tcp,tls: the embedded server is started with TLS for its turn, the load
// threads speak TLS to it, and every message is answered and counted by both sides.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveBenchOptions } from '../../../src/bench/options.ts';
import { runBench } from '../../../src/bench/load/run.ts';

test('a short run over tcp and tls, taking turns: both answered in full, keys say which', async () => {
  const result = await runBench(
    resolveBenchOptions({
      clients: 2,
      workers: 1,
      serverWorkers: 1,
      sizes: [16, 65536],
      mode: 'echo',
      durationS: 0.3,
      warmupS: 0.1,
      out: '',
      progress: false,
      transports: ['tcp', 'tls'],
    }),
  );
  assert.deepEqual(
    result.measurements.map((m) => m.key),
    ['handoff h64 16 B', 'handoff h64 64 KiB', 'handoff+tls h64 16 B', 'handoff+tls h64 64 KiB'],
  );
  for (const m of result.measurements) {
    assert.equal(m.errors.total, 0, `${m.key}: ${m.errors.first}`);
    assert.ok(m.window.messages > 0, m.key);
    assert.equal(m.unanswered, 0, m.key);
    assert.equal(m.server?.countsAgree, true, `${m.key}: the server counted what the tester had answered`);
  }
});
