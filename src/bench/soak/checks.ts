/**
 * The soak's verdict, as pure functions of what was counted and sampled, so
 * that each check can be shown to fail on a fabricated series:
 * - exactly once: the server counted as many messages as the clients sent,
 *   and every one was answered (no loss, no duplicate, no !ERROR);
 * - no upward trend of the server's descriptors or RSS: the median of the
 *   last third of the samples against the median of the first third, with a
 *   tolerance (the warm-up, the first tenth of the run, is left out);
 * - p99 latency: the last third's median p99 at most `p99Factor` times the
 *   first third's.
 */
import { median } from '../shared/stats.ts';

export interface SoakCounts {
  clientSent: number;
  clientAcked: number;
  serverMessages: number | null;
  unanswered: number;
  errorKinds: Record<string, number>;
  firstError: string;
}

export interface SoakPoint {
  /** Seconds since the load started. */
  tS: number;
  fds: number | null;
  rssBytes: number | null;
  /** p99 latency over the sampling period, microseconds; null if nothing was answered in it. */
  p99Us: number | null;
}

export interface SoakLimits {
  /** Descriptors: the last third may exceed the first by this share plus `fdSlack`. */
  fdTolerance: number;
  fdSlack: number;
  /** RSS: the last third may exceed the first by this share. */
  rssTolerance: number;
  /** p99: the last third's may be at most this many times the first third's. */
  p99Factor: number;
}

export const SOAK_LIMITS: SoakLimits = { fdTolerance: 0.1, fdSlack: 20, rssTolerance: 0.25, p99Factor: 2 };

export interface SoakCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface Thirds {
  first: number;
  last: number;
  samples: number;
}

/** Medians of the first and last thirds of the series after its warm-up (the first tenth of the run). */
export function thirds(points: readonly SoakPoint[], value: (p: SoakPoint) => number | null): Thirds | null {
  const end = points.at(-1)?.tS ?? 0;
  const kept = points
    .filter((p) => p.tS >= end * 0.1)
    .map(value)
    .filter((v): v is number => v !== null);
  if (kept.length < 3) return null;
  const third = Math.floor(kept.length / 3);
  return { first: median(kept.slice(0, third)), last: median(kept.slice(-third)), samples: kept.length };
}

function trendCheck(
  name: string,
  t: Thirds | null,
  allowed: (first: number) => number,
  show: (v: number) => string,
): SoakCheck {
  if (t === null) return { name, ok: false, detail: 'fewer than 3 samples after the warm-up: no verdict' };
  const limit = allowed(t.first);
  const ok = t.last <= limit;
  return {
    name,
    ok,
    detail: `first third ${show(t.first)}, last third ${show(t.last)} (allowed up to ${show(limit)}; ${t.samples} samples)`,
  };
}

export function checkSoak(
  counts: SoakCounts,
  points: readonly SoakPoint[],
  limits: SoakLimits = SOAK_LIMITS,
): SoakCheck[] {
  const errors = Object.entries(counts.errorKinds);
  const exact =
    counts.serverMessages === counts.clientSent && counts.clientAcked === counts.clientSent && counts.unanswered === 0;
  const mb = (v: number) => `${(v / 1e6).toFixed(1)} MB`;
  const ms = (v: number) => `${(v / 1000).toFixed(2)} ms`;
  return [
    {
      name: 'nothing lost or duplicated',
      ok: exact,
      detail: `clients sent ${counts.clientSent}, got ${counts.clientAcked} replies (${counts.unanswered} unanswered); the server counted ${counts.serverMessages ?? 'n/a'}`,
    },
    {
      name: 'no errors',
      ok: errors.length === 0,
      detail:
        errors.length === 0
          ? 'none'
          : `${errors.map(([k, n]) => `${k} x${n}`).join(', ')}; first: ${counts.firstError}`,
    },
    trendCheck(
      'descriptors do not trend upward',
      thirds(points, (p) => p.fds),
      (first) => first * (1 + limits.fdTolerance) + limits.fdSlack,
      (v) => v.toFixed(0),
    ),
    trendCheck(
      'RSS does not trend upward',
      thirds(points, (p) => p.rssBytes),
      (first) => first * (1 + limits.rssTolerance),
      mb,
    ),
    trendCheck(
      `p99 does not drift by more than ${limits.p99Factor}x`,
      thirds(points, (p) => p.p99Us),
      (first) => first * limits.p99Factor,
      ms,
    ),
  ];
}
