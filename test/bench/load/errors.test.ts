// A misbehaving server is counted by the catalogue's codes and reported, never a crash.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveBenchOptions } from '../../../src/bench/options.ts';
import { runBench } from '../../../src/bench/load/run.ts';
import { fakeServerCommand } from '../helpers/fake.ts';

function shortRun(flags: string[]) {
  return runBench(
    resolveBenchOptions({
      clients: 4,
      workers: 1,
      sizes: [16],
      durationS: 0.5,
      warmupS: 0.3,
      timeoutS: 1,
      out: '',
      progress: false,
      serverCommand: fakeServerCommand(...flags),
    }),
  );
}

test('a server that answers !ERROR mid-run is counted by its protocol code (TIMEOUT), the close after it not again', async () => {
  const result = await shortRun(['--error-after', '200']);
  const m = result.measurements[0]!;
  assert.deepEqual(m.errors.kinds, { TIMEOUT: 4 }, JSON.stringify(m.errors));
  assert.equal(m.errors.total, 4);
  assert.match(m.errors.first, /^TIMEOUT: /);
  assert.ok(result.warnings.some((w) => /errors/.test(w)));
});

test('a server that closes connections mid-run is counted ERR_CONNECTION_CLOSED, once per connection', async () => {
  const result = await shortRun(['--close-after', '100']);
  const m = result.measurements[0]!;
  assert.deepEqual(m.errors.kinds, { ERR_CONNECTION_CLOSED: 4 }, JSON.stringify(m.errors));
  assert.match(m.errors.first, /^ERR_CONNECTION_CLOSED: /);
  assert.equal(m.unanswered, 0);
});

test('bytes that are no reply frame are counted ERR_BAD_REPLY, and closing that connection is not a second error', async () => {
  const result = await shortRun(['--bad-reply-after', '100']);
  const m = result.measurements[0]!;
  assert.deepEqual(m.errors.kinds, { ERR_BAD_REPLY: 4 }, JSON.stringify(m.errors));
  assert.match(m.errors.first, /^ERR_BAD_REPLY: .*BAD_HEADER/);
});

test('a message unanswered past --timeout is counted ERR_REPLY_TIMEOUT, once, and in the timeouts figure', async () => {
  // Every reply is held for 3 s from 100 ms after the first message: longer than the 1 s timeout.
  const result = await shortRun(['--stall-at-ms', '100', '--stall-ms', '3000']);
  const m = result.measurements[0]!;
  assert.equal(m.timeouts, 4);
  assert.deepEqual(m.errors.kinds, { ERR_REPLY_TIMEOUT: 4 }, JSON.stringify(m.errors));
  assert.match(m.errors.first, /^ERR_REPLY_TIMEOUT: /);
});
