import type { SettledCounts } from '../load/thread-kit.ts';

/** What one soak thread runs: its connections, closed loop, leaving and coming back at random. */
export interface SoakSetup {
  host: string;
  port: number;
  connections: number;
  headerBytes: number;
  sizeBytes: number;
  /** Mean seconds a connection lives before it leaves (exponential), then reconnects at once. */
  meanLifetimeS: number;
  /** This thread's seed (which connections leave when, and how). */
  seed: number;
  connectTimeoutMs: number;
}

/** A thread's totals; `histogram` (encoded, ns) covers the time since the previous sample. */
export interface SoakSample {
  histogram: string;
  /** Frames written, !DISCONNECT included. */
  sent: number;
  /** Replies received (each `Msg received`). */
  acked: number;
  /** Connections that left and came back: with !DISCONNECT, or by closing abruptly. */
  disconnects: number;
  aborts: number;
  /** Problems by code (a reply that is not the ack, an !ERROR, a connection lost or refused). */
  errorKinds: Record<string, number>;
  firstError: string;
  open: number;
}

export type ToSoakThread =
  { type: 'start'; setup: SoakSetup } | { type: 'sample' } | { type: 'stop'; timeoutMs: number } | { type: 'exit' };

export type FromSoakThread =
  | ({ type: 'started' } & SettledCounts)
  | ({ type: 'sample' } & SoakSample)
  | ({ type: 'stopped'; unanswered: number } & SoakSample)
  | { type: 'exited' };
