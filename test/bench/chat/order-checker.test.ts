// The per-receiver, per-sender checker: order, gaps, duplicates, told apart exactly
// within its window; losses are what the run subtracts (distinct = the new ones).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ORDER_WINDOW, OrderChecker } from '../../../src/bench/load/chat/order-checker.ts';

/** Records `seqs` on track 0 of a fresh checker: which were new, and the counts. */
function feed(seqs: number[], tracks = 1, track = 0) {
  const c = new OrderChecker(tracks);
  const fresh = seqs.map((s) => c.record(track, s));
  return { fresh, distinct: fresh.filter(Boolean).length, ...c.counts(), next: c.nextOf(track) };
}

test('a sequence in order: every number new, no gap, no reorder, no duplicate', () => {
  const r = feed([0, 1, 2, 3, 4]);
  assert.equal(r.distinct, 5);
  assert.deepEqual([r.gaps, r.gapMessages, r.reordered, r.duplicates], [0, 0, 0, 0]);
  assert.equal(r.next, 5);
});

test('a gap is counted once with the numbers it skips; never filled, they are missing from the distinct count', () => {
  const r = feed([0, 1, 4, 5]);
  assert.equal(r.gaps, 1);
  assert.equal(r.gapMessages, 2);
  assert.equal(r.distinct, 4, '2 and 3 never came: expected 6 - distinct 4 = 2 lost');
  assert.equal(r.reordered, 0);
});

test('a duplicate is not new and is counted, right after the original or later', () => {
  const r = feed([0, 1, 1, 2, 0]);
  assert.deepEqual(r.fresh, [true, true, false, true, false]);
  assert.equal(r.duplicates, 2);
  assert.equal(r.distinct, 3);
  assert.equal(r.reordered, 0);
});

test('a reorder: a late number is new and out of order, and its second copy is a duplicate', () => {
  const r = feed([0, 2, 1, 3, 1]);
  assert.deepEqual(r.fresh, [true, true, true, true, false]);
  assert.equal(r.gaps, 1, '2 skipped ahead of 1');
  assert.equal(r.reordered, 1);
  assert.equal(r.duplicates, 1);
  assert.equal(r.distinct, 4);
});

test('tracks are independent: the same numbers on two tracks are no duplicates', () => {
  const c = new OrderChecker(2);
  assert.ok(c.record(0, 0) && c.record(1, 0) && c.record(0, 1) && c.record(1, 1));
  assert.equal(c.duplicates, 0);
});

test('duplicates are told apart up to ORDER_WINDOW behind, also across the wrap of the bitmap', () => {
  const seqs = Array.from({ length: 3 * ORDER_WINDOW }, (_, i) => i);
  const c = new OrderChecker(1);
  for (const s of seqs) assert.ok(c.record(0, s));
  const top = 3 * ORDER_WINDOW - 1;
  assert.equal(c.record(0, top - (ORDER_WINDOW - 1)), false, 'the oldest remembered number is a duplicate');
  assert.equal(c.duplicates, 1);
  // Further back it cannot be told: taken as new, counted as a far reorder (never silently).
  assert.equal(c.record(0, top - ORDER_WINDOW - 5), true);
  assert.equal(c.reorderedFar, 1);
  assert.equal(c.reordered, 1);
});

test('a gap longer than the window forgets nothing it should remember: numbers in it are new when they come', () => {
  const c = new OrderChecker(1);
  c.record(0, 0);
  c.record(0, 1000);
  assert.equal(c.gaps, 1);
  assert.equal(c.gapMessages, 999);
  assert.equal(c.record(0, 999), true, 'late, inside the window below 1000');
  assert.equal(c.record(0, 999), false, 'and its copy is a duplicate');
  assert.equal(c.record(0, 1000), false);
});

test('sequence numbers past 2^31 (32-bit unsigned) keep working', () => {
  const c = new OrderChecker(1);
  const base = 2 ** 31 + 10;
  c.record(0, base); // a gap from 0, then in order
  assert.ok(c.record(0, base + 1));
  assert.equal(c.record(0, base + 1), false);
  assert.equal(c.nextOf(0), base + 2);
});
