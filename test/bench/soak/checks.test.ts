// The soak's checks fail on what they are there to catch (fabricated series), and pass on a flat run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkSoak, SOAK_LIMITS, type SoakCounts, type SoakPoint, thirds } from '../../../src/bench/soak/checks.ts';

const EXACT: SoakCounts = {
  clientSent: 1000,
  clientAcked: 1000,
  serverMessages: 1000,
  unanswered: 0,
  errorKinds: {},
  firstError: '',
};

/** 30 samples one second apart; `f(i)` gives each sample's figures. */
function series(f: (i: number) => Partial<SoakPoint>): SoakPoint[] {
  return Array.from({ length: 30 }, (_, i) => ({ tS: i + 1, fds: 540, rssBytes: 200e6, p99Us: 900, ...f(i) }));
}

function failed(counts: SoakCounts, points: SoakPoint[]): string[] {
  return checkSoak(counts, points, SOAK_LIMITS)
    .filter((c) => !c.ok)
    .map((c) => c.name);
}

test('a flat, exact run passes every check', () => {
  // Noise that does not trend: descriptors come and go with reconnects, p99 wobbles.
  assert.deepEqual(
    failed(
      EXACT,
      series((i) => ({ fds: 530 + (i % 3) * 10, p99Us: 800 + (i % 4) * 100 })),
    ),
    [],
  );
});

test('a lost message, a duplicate, an unanswered one or an error fails', () => {
  const flat = series(() => ({}));
  assert.deepEqual(failed({ ...EXACT, serverMessages: 999 }, flat), ['nothing lost or duplicated']);
  assert.deepEqual(failed({ ...EXACT, serverMessages: 1001, clientAcked: 1001 }, flat), ['nothing lost or duplicated']);
  assert.deepEqual(failed({ ...EXACT, clientAcked: 999, unanswered: 1 }, flat), ['nothing lost or duplicated']);
  assert.deepEqual(failed({ ...EXACT, serverMessages: null }, flat), ['nothing lost or duplicated']);
  assert.deepEqual(failed({ ...EXACT, errorKinds: { TIMEOUT: 1 }, firstError: 'TIMEOUT: x' }, flat), ['no errors']);
});

test('descriptors that leak fail; a bounded wobble does not', () => {
  // Eight leaked descriptors a second: 540 -> 772 over the run, beyond 10% + 20.
  assert.deepEqual(
    failed(
      EXACT,
      series((i) => ({ fds: 540 + i * 8 })),
    ),
    ['descriptors do not trend upward'],
  );
  assert.deepEqual(
    failed(
      EXACT,
      series((i) => ({ fds: 540 + (i % 2) * 15 })),
    ),
    [],
  );
});

test('RSS that keeps growing fails; growth during the warm-up does not', () => {
  assert.deepEqual(
    failed(
      EXACT,
      series((i) => ({ rssBytes: 200e6 + i * 8e6 })),
    ),
    ['RSS does not trend upward'],
  );
  // The first tenth of the run (3 samples here) is warm-up: a jump there is not a trend.
  assert.deepEqual(
    failed(
      EXACT,
      series((i) => ({ rssBytes: i < 3 ? 100e6 : 300e6 })),
    ),
    [],
  );
});

test('p99 that more than doubles fails', () => {
  assert.deepEqual(
    failed(
      EXACT,
      series((i) => ({ p99Us: i < 15 ? 1000 : 2500 })),
    ),
    ['p99 does not drift by more than 2x'],
  );
  assert.deepEqual(
    failed(
      EXACT,
      series((i) => ({ p99Us: i < 15 ? 1000 : 1900 })),
    ),
    [],
  );
});

test('too few samples give no verdict, which fails', () => {
  const two = series(() => ({})).slice(0, 2);
  assert.equal(
    thirds(two, (p) => p.fds),
    null,
  );
  assert.equal(failed(EXACT, two).length, 3);
});
