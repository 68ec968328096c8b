import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import {
  createLatencyHistogram,
  decodeHistogram,
  encodeHistogram,
  mergeHistograms,
  summarize,
} from '../../../src/bench/load/histogram.ts';

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
        module: new URL('../../../src/bench/load/histogram.ts', import.meta.url).href,
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
