import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { LatencyRecorder } from '../../../src/bench/load/histogram.ts';
import {
  createLatencyHistogram,
  decodeHistogram,
  encodeHistogram,
  HISTOGRAM_RANGE,
  mergeHistograms,
  summarize,
} from '../../../src/bench/shared/latency.ts';

// Each thread records a deterministic set of values; the merge of their encoded
// histograms must equal, bucket for bucket, one histogram that recorded them all.
const THREAD_SOURCE = `
  import { parentPort, workerData } from 'node:worker_threads';
  const { createLatencyHistogram, encodeHistogram } = await import(workerData.module);
  const h = createLatencyHistogram(32);
  for (const v of workerData.values) h.recordValue(v);
  parentPort.postMessage(encodeHistogram(h));
`;

function valuesFor(thread: number): number[] {
  // Nanoseconds from 20 µs to seconds, different per thread.
  const out: number[] = [];
  for (let i = 0; i < 5000; i++) out.push(20_000 + ((i * 7919 + thread * 104_729) % 200_000));
  out.push(1_000_000_000 * (thread + 1)); // one stall per thread
  return out;
}

function inThread(thread: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const w = new Worker(THREAD_SOURCE, {
      eval: true,
      workerData: {
        module: new URL('../../../src/bench/shared/latency.ts', import.meta.url).href,
        values: valuesFor(thread),
      },
    });
    w.once('message', (m: string) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });
}

test('histograms recorded in separate threads merge exactly into the histogram of all values', async () => {
  const encoded = await Promise.all([0, 1, 2].map(inThread));
  const merged = mergeHistograms(encoded);
  const single = createLatencyHistogram();
  for (const t of [0, 1, 2]) for (const v of valuesFor(t)) single.recordValue(v);
  assert.equal(merged.totalCount, 3 * 5001);
  assert.equal(merged.totalCount, single.totalCount);
  for (const p of [0, 1, 25, 50, 90, 99, 99.9, 99.99, 100]) {
    assert.equal(merged.getValueAtPercentile(p), single.getValueAtPercentile(p), `p${p}`);
  }
  assert.equal(merged.mean, single.mean);
  assert.equal(encodeHistogram(merged), encodeHistogram(single));
});

test('latency keeps sub-microsecond resolution: 20.3 µs and 20.7 µs land apart', () => {
  const h = createLatencyHistogram(32);
  h.recordValue(20_300);
  h.recordValue(20_700);
  const s = summarize(h);
  assert.ok(Math.abs(s.min - 20.3) < 0.05, `min ${s.min}`);
  assert.ok(Math.abs(s.max - 20.7) < 0.05, `max ${s.max}`);
});

test('an encoded histogram decodes to the same counts (the saved form is lossless)', () => {
  const h = createLatencyHistogram(32);
  for (let i = 1; i <= 1000; i++) h.recordValue(i * 1000);
  const back = decodeHistogram(encodeHistogram(h));
  assert.equal(back.totalCount, 1000);
  assert.equal(back.getValueAtPercentile(50), h.getValueAtPercentile(50));
});

test('summary of an empty histogram is all zeros, not NaN', () => {
  const s = summarize(createLatencyHistogram());
  assert.equal(s.count, 0);
  assert.equal(s.p99, 0);
});

test('the fast recorder (clz32 buckets) gives exactly the HdrHistogram of the same values, to the encoded byte', () => {
  const values: number[] = [1, 2, 1023, 1024, 2047, 2048, 2049, 2 ** 31 - 1, 2 ** 31, 2 ** 31 + 1, 2.5e9];
  for (let k = 11; k < 42; k++) values.push(2 ** k - 1, 2 ** k, 2 ** k + 1);
  // Deterministic spread from 1 ns to minutes, log-uniform.
  let x = 12345;
  for (let i = 0; i < 50_000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    values.push(Math.max(1, Math.round(Math.exp((x / 2147483648) * 27))));
  }
  const fast = new LatencyRecorder();
  const reference = createLatencyHistogram(32);
  for (const v of values) {
    fast.record(v);
    reference.recordValue(v);
  }
  const fromFast = fast.toHistogram();
  assert.equal(fromFast.totalCount, values.length);
  assert.equal(encodeHistogram(fromFast), encodeHistogram(reference));
  assert.equal(summarize(decodeHistogram(encodeHistogram(fromFast))).p99, summarize(reference).p99);
});

test('the fast recorder clamps what HdrHistogram would refuse: 0 and negatives to 1, beyond an hour to the top', () => {
  const r = new LatencyRecorder();
  r.record(0);
  r.record(-5);
  r.record(HISTOGRAM_RANGE.highestTrackableValue * 2);
  const h = r.toHistogram();
  assert.equal(h.totalCount, 3);
  assert.equal(h.minNonZeroValue, 1);
  assert.ok(h.maxValue >= HISTOGRAM_RANGE.highestTrackableValue * 0.99);
});
