// A thread idle for a while gives back its echo buffer pool and its garbage (results/memory-after-load.md).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IdleRelease } from '../../../src/server/session/idle-memory.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('idle for the delay: release runs once, with a full collection that frees garbage', async () => {
  let released = 0;
  const idle = new IdleRelease(() => released++, 50);
  let garbage: number[][] | null = Array.from({ length: 200 }, () => new Array(10_000).fill(1));
  const before = process.memoryUsage().heapUsed;
  garbage = null;
  idle.idle();
  await sleep(150);
  assert.equal(released, 1);
  assert.equal(garbage, null);
  assert.ok(process.memoryUsage().heapUsed < before, 'the heap shrank');
});

test('a connection that opens before the delay cancels the release', async () => {
  let released = 0;
  const idle = new IdleRelease(() => released++, 50);
  idle.idle();
  await sleep(10);
  idle.busy();
  await sleep(100);
  assert.equal(released, 0);
});
