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
