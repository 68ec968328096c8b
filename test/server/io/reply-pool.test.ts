import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReplyBufferPool } from '../../../src/server/io/reply-pool.ts';

test('reply pool leaves small replies to ordinary allocation', () => {
  assert.equal(new ReplyBufferPool().take(16 * 1024 - 1), null);
});

test('reply pool rounds sizes up to a power of two and hands a returned buffer out again', () => {
  const pool = new ReplyBufferPool();
  const first = pool.take(64 * 1024 + 64)!;
  assert.equal(first.length, 128 * 1024);
  pool.give(first);
  assert.equal(pool.take(100 * 1024), first, 'the same size class reuses the buffer');
  assert.notEqual(pool.take(100 * 1024), first, 'a buffer is handed out once until given back');
});

test('reply pool does not pool replies above 2 MiB', () => {
  assert.equal(new ReplyBufferPool().take(2 * 1024 * 1024 + 1), null);
});

test('clear() lets every free buffer go (a thread whose last connection closed keeps none)', () => {
  const pool = new ReplyBufferPool();
  pool.give(pool.take(64 * 1024)!);
  pool.give(pool.take(1024 * 1024)!);
  assert.equal(pool.freeBytes, 64 * 1024 + 1024 * 1024);
  pool.clear();
  assert.equal(pool.freeBytes, 0);
});
