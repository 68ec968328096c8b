// WorkerPool's start-up: a stop that comes first settles started() at once, and started()
// leaves nothing behind on the pool.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { allocateCounters, ServerCounters } from '../../../src/server/observe/counters.ts';
import { createServerLog } from '../../../src/server/observe/log.ts';
import { resolveServerOptions } from '../../../src/server/options.ts';
import { WorkerPool } from '../../../src/server/accept/pool.ts';
import { within } from '../../helpers/process.ts';

function pool(workers: number): WorkerPool {
  const options = resolveServerOptions({ workers, silent: true });
  const memory = allocateCounters(workers);
  const boot = {
    options,
    counters: memory,
    channel: `pool-test-${randomUUID()}`,
    reuseport: null,
    chat: null,
    tls: null,
  };
  return new WorkerPool(options, boot, new ServerCounters(memory), createServerLog(options));
}

test('a stop during start-up makes started() reject at once with ERR_WORKER_START (not at its 30 s deadline)', async () => {
  const p = pool(2);
  const started = p.started(2).then(
    () => 'resolved',
    (err: NodeJS.ErrnoException) => err.code,
  );
  await p.stop(Promise.resolve());
  assert.equal(await within(started, 5000), 'ERR_WORKER_START');
});

test('started() can be awaited again and again without leaving a listener behind', async (t) => {
  const p = pool(1);
  t.after(() => p.stop(Promise.resolve()));
  const warnings: string[] = [];
  const onWarning = (w: Error) => warnings.push(w.name);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  // Past EventEmitter's default of 10 listeners: each call used to add a `once('error')` that stayed.
  for (let i = 0; i < 12; i++) await p.started(1);
  await new Promise(setImmediate);
  assert.deepEqual(warnings, []);
});
