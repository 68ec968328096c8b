import hdr from 'hdr-histogram-js';
import type { Histogram } from 'hdr-histogram-js';

/**
 * Latency histograms in NANOSECONDS: loopback latencies are tens of
 * microseconds, so whole milliseconds (autocannon's unit) would put every
 * message in one bucket. 3 significant digits = 0.1% resolution; up to an hour.
 * Each load thread keeps its own; they travel as the standard compressed
 * HdrHistogram encoding and merge exactly (bucket counts add).
 */
export const HISTOGRAM_RANGE = Object.freeze({
  lowestDiscernibleValue: 1,
  highestTrackableValue: 3_600_000_000_000,
  numberOfSignificantValueDigits: 3 as const,
});

export type LatencyHistogram = Histogram;

/** Int32 counts for the hot threads (fast record); 64-bit float counts for merged totals. */
export function createLatencyHistogram(bitBucketSize: 32 | 64 = 64): LatencyHistogram {
  return hdr.build({ ...HISTOGRAM_RANGE, bitBucketSize, useWebAssembly: false });
}

/** Standard HdrHistogram V2 compressed base64 (readable by HdrHistogram tools in any language). */
export function encodeHistogram(h: LatencyHistogram): string {
  return hdr.encodeIntoCompressedBase64(h);
}

export function decodeHistogram(encoded: string): LatencyHistogram {
  return hdr.decodeFromCompressedBase64(encoded, 64, false);
}

/** Sum of the given histograms (encoded or live) into a new one: exact, bucket by bucket. */
export function mergeHistograms(parts: ReadonlyArray<LatencyHistogram | string>): LatencyHistogram {
  const total = createLatencyHistogram();
  for (const part of parts) total.add(typeof part === 'string' ? decodeHistogram(part) : part);
  return total;
}

/** Latency summary in microseconds (fractional), as printed and saved. */
export interface LatencySummaryUs {
  count: number;
  mean: number;
  stdev: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function summarize(h: LatencyHistogram): LatencySummaryUs {
  const us = (ns: number) => Math.round(ns) / 1000;
  if (h.totalCount === 0) return { count: 0, mean: 0, stdev: 0, min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  return {
    count: h.totalCount,
    mean: us(h.mean),
    stdev: us(h.stdDeviation),
    min: us(h.minNonZeroValue),
    p50: us(h.getValueAtPercentile(50)),
    p90: us(h.getValueAtPercentile(90)),
    p99: us(h.getValueAtPercentile(99)),
    p999: us(h.getValueAtPercentile(99.9)),
    max: us(h.maxValue),
  };
}

const HIGHEST = HISTOGRAM_RANGE.highestTrackableValue;
const SUB_BUCKET_HALF_MAGNITUDE = 10; // 3 significant digits: 2048 sub-buckets, half of them 1024
const SUB_BUCKET_HALF = 1 << SUB_BUCKET_HALF_MAGNITUDE;
const POW2 = Float64Array.from({ length: 64 }, (_, i) => 2 ** i);

/** floor(log2(v)) for 1 <= v < 2^53, without Math.log2. */
function log2Floor(v: number): number {
  const high = v / 4294967296;
  return high >= 1 ? 63 - Math.clz32(high >>> 0) : 31 - Math.clz32(v >>> 0);
}

/** The counts index HdrHistogram gives `v` in HISTOGRAM_RANGE (unit 1, 3 significant digits). */
function countsIndex(v: number): number {
  const top = log2Floor(v);
  const bucket = top > SUB_BUCKET_HALF_MAGNITUDE ? top - SUB_BUCKET_HALF_MAGNITUDE : 0;
  return bucket * SUB_BUCKET_HALF + Math.floor(v / POW2[bucket]!);
}

/** The lowest value of counts index `i` (HdrHistogram's valueFromIndex). */
function indexValue(i: number): number {
  let bucket = Math.floor(i / SUB_BUCKET_HALF) - 1;
  let sub = (i % SUB_BUCKET_HALF) + SUB_BUCKET_HALF;
  if (bucket < 0) {
    sub -= SUB_BUCKET_HALF;
    bucket = 0;
  }
  return sub * POW2[bucket]!;
}

/**
 * A latency recorder for the hottest paths (one record per reply or chat delivery,
 * up to millions a second): the same buckets as an HdrHistogram of HISTOGRAM_RANGE, indexed with
 * clz32 instead of hdr-histogram-js's log2 and pow per value. toHistogram() hands
 * the counts over bucket by bucket, so the encoded result is the one recording each
 * value into the HdrHistogram would give (tested).
 */
export class LatencyRecorder {
  readonly counts = new Float64Array(countsIndex(HIGHEST) + 1);

  /**
   * Records `ns` (clamped to 1 .. the highest trackable value). Whole values below
   * 2^31 ns (2.1 s), the usual ones, take integer operations only.
   */
  record(ns: number): void {
    if (ns >= 1 && ns < 2147483648 && ns === (ns | 0)) {
      const top = 31 - Math.clz32(ns);
      const bucket = top > SUB_BUCKET_HALF_MAGNITUDE ? top - SUB_BUCKET_HALF_MAGNITUDE : 0;
      this.counts[(bucket << SUB_BUCKET_HALF_MAGNITUDE) + (ns >>> bucket)]! += 1;
      return;
    }
    this.counts[countsIndex(ns < 1 ? 1 : ns > HIGHEST ? HIGHEST : ns)]! += 1;
  }

  toHistogram(): LatencyHistogram {
    const h = createLatencyHistogram();
    const counts = this.counts;
    for (let i = 0; i < counts.length; i++) if (counts[i]! > 0) h.recordValueWithCount(indexValue(i), counts[i]!);
    return h;
  }
}
