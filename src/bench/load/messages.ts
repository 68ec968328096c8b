import type { Mode } from '../../server/options.ts';
import type { SettledCounts } from './thread-kit.ts';

/** What one load thread is told to do for one measurement. */
export interface LoadSetup {
  host: string;
  port: number;
  connections: number;
  headerBytes: number;
  sizeBytes: number;
  mode: Mode;
  pipelining: number;
  /** Your own payloads, sent round-robin by each connection; null: `sizeBytes` of 'a'. */
  payloads: readonly string[] | null;
  /** Messages this thread sends in all, exactly (its share of --amount); -1 = no limit. */
  budget: number;
  /** Rate mode: ms between messages of one connection; 0 = closed loop. */
  intervalMs: number;
  /** In [0, 1): where this thread's schedules sit inside one interval, so threads interleave. */
  phaseOffset: number;
  timeoutMs: number;
  connectTimeoutMs: number;
  rampTimeoutMs: number;
  /** TLS: trust these CAs (PEM; undefined = the system's). Null: plain TCP. */
  tls: { ca: string | undefined } | null;
  /** Churn: messages per connection, after which it closes and is made again at once; 0 = keep it open. */
  churn: number;
}

/** What a churn thread adds to its drained report: the connections it made and how long they took. */
export interface ChurnDrained {
  /** Connections made (TCP connected) over the whole measurement, and those that sent all their messages and closed. */
  connections: number;
  completed: number;
  /** Encoded histograms (ns): connect() to TCP connected, and connect() to the first reply. */
  connectHistogram: string;
  firstReplyHistogram: string;
}

/** Orders from run.ts to a load thread, answered in turn by FromWorker. */
export type ToWorker =
  | { type: 'setup'; setup: LoadSetup }
  | { type: 'start' }
  | { type: 'drain'; timeoutMs: number }
  | { type: 'close' }
  | { type: 'exit' };

export type FromWorker =
  | ({ type: 'connected'; connectMs: number } & SettledCounts)
  | { type: 'ramped'; rampMs: number; unramped: number }
  | {
      type: 'drained';
      histogram: string;
      unanswered: number;
      openConnections: number;
      connAckedMin: number;
      connAckedMax: number;
      errorKinds: Record<string, number>;
      firstError: string;
      /** This thread's own CPU over the measured window (WindowCpu). */
      cpuSeconds: number;
      churn?: ChurnDrained;
    }
  | { type: 'closed' };
