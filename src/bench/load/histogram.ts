/**
 * The load threads' latency recorder (hot path: one record per reply or delivery). The
 * histograms it hands over, their encoding, merge and summary are in shared/latency.ts.
 */
import { createLatencyHistogram, HISTOGRAM_RANGE, type LatencyHistogram } from '../shared/latency.ts';

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
