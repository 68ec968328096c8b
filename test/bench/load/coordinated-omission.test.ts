import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveBenchOptions } from '../../../src/bench/options.ts';
import { runBench } from '../../../src/bench/load/run.ts';
import { fakeServerCommand } from '../helpers/fake.ts';

test('a server that stalls 1 s in a 5 s --rate run shows in the tail: p99 of several hundred ms (latency from the schedule)', async () => {
  const options = resolveBenchOptions({
    clients: 4,
    workers: 1,
    sizes: [16],
    rate: 200,
    durationS: 5,
    warmupS: 0,
    out: '',
    progress: false,
    // The stall starts 1.5 s after the first message: inside the measured window.
    serverCommand: fakeServerCommand('--stall-at-ms', '1500', '--stall-ms', '1000'),
  });
  const result = await runBench(options);
  const m = result.measurements[0]!;
  assert.ok(m.window.messages > 500, `messages ${m.window.messages}`);
  // Messages due during the stall waited up to 1 s: the top 1% waited far longer than any healthy reply.
  assert.ok(m.latencyUs.p99 >= 500_000, `p99 ${m.latencyUs.p99} µs`);
  assert.ok(m.latencyUs.max >= 800_000, `max ${m.latencyUs.max} µs`);
  assert.equal(m.errors.total, 0);
  assert.equal(m.server?.countsAgree, true);
});
