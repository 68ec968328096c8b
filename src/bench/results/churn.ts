/**
 * Connection churn's figures (--churn K): what a measurement saves beside its
 * msgs/s and message latency, made from the churn threads' reports, and their
 * summary over rounds.
 */
import type { ChurnDrained } from '../load/messages.ts';
import { encodeHistogram, type LatencySummaryUs, mergeHistograms, summarize } from '../load/histogram.ts';
import { median } from './result.ts';

export interface ChurnFigures {
  /** K: messages each connection sent before it closed. */
  messagesPerConnection: number;
  /** New connections per second over the measured window. */
  connectionsPerSec: number;
  /** Connections made inside the window. */
  windowConnections: number;
  /** Connections made over the whole measurement (ramp to drain), by the tester's count. */
  connections: number;
  /** Of those, the ones that carried all K messages and closed. */
  completed: number;
  /** The server's own count of connections over the measurement (null: not ours to ask). */
  serverConnections: number | null;
  /**
   * CPU of the server's main thread per connection made in the window, µs: strategy handoff's
   * acceptor (1e6 / this = connections one core accepts and hands off per second); single: everything.
   */
  mainThreadCpuUsPerConnection: number | null;
  /** connect() to TCP connected (the kernel's handshake, not the server's accept). */
  connectUs: LatencySummaryUs;
  /** connect() to the first reply: accept, the hand-off to a worker and one message. */
  firstReplyUs: LatencySummaryUs;
  /** The two histograms, HdrHistogram V2 compressed base64, nanoseconds. */
  connectHistogram: string;
  firstReplyHistogram: string;
}

export interface ChurnInputs {
  windowConnects: number;
  seconds: number;
  drained: readonly ChurnDrained[];
  serverConnections: number | null;
  serverMainThreadCpuSeconds: number | null;
}

/** One measurement's churn figures from its threads' drained reports (histograms merged exactly). */
export function churnFigures(messagesPerConnection: number, input: ChurnInputs): ChurnFigures {
  const connect = mergeHistograms(input.drained.map((d) => d.connectHistogram));
  const firstReply = mergeHistograms(input.drained.map((d) => d.firstReplyHistogram));
  return {
    messagesPerConnection,
    connectionsPerSec: input.seconds > 0 ? input.windowConnects / input.seconds : 0,
    windowConnections: input.windowConnects,
    connections: input.drained.reduce((a, d) => a + d.connections, 0),
    completed: input.drained.reduce((a, d) => a + d.completed, 0),
    serverConnections: input.serverConnections,
    mainThreadCpuUsPerConnection:
      input.serverMainThreadCpuSeconds !== null && input.windowConnects > 0
        ? (input.serverMainThreadCpuSeconds * 1e6) / input.windowConnects
        : null,
    connectUs: summarize(connect),
    firstReplyUs: summarize(firstReply),
    connectHistogram: encodeHistogram(connect),
    firstReplyHistogram: encodeHistogram(firstReply),
  };
}

export interface ChurnSummary {
  messagesPerConnection: number;
  /** Medians over rounds. */
  connectionsPerSec: number;
  connectP50Us: number;
  connectP99Us: number;
  firstReplyP50Us: number;
  firstReplyP99Us: number;
  /** Server main-thread CPU-µs per connection (median; null when unknown). */
  mainThreadCpuUsPerConnection: number | null;
  /** Every round's tester and server counts of connections agreed (null: no server count). */
  countsAgree: boolean | null;
}

export function summarizeChurn(rounds: readonly ChurnFigures[]): ChurnSummary {
  const counted = rounds.filter((c) => c.serverConnections !== null);
  const mainThread = rounds.flatMap((c) => (c.mainThreadCpuUsPerConnection === null ? [] : [c.mainThreadCpuUsPerConnection]));
  return {
    messagesPerConnection: rounds[0]!.messagesPerConnection,
    connectionsPerSec: median(rounds.map((c) => c.connectionsPerSec)),
    connectP50Us: median(rounds.map((c) => c.connectUs.p50)),
    connectP99Us: median(rounds.map((c) => c.connectUs.p99)),
    firstReplyP50Us: median(rounds.map((c) => c.firstReplyUs.p50)),
    firstReplyP99Us: median(rounds.map((c) => c.firstReplyUs.p99)),
    mainThreadCpuUsPerConnection: mainThread.length ? median(mainThread) : null,
    countsAgree: counted.length ? counted.every((c) => c.serverConnections === c.connections) : null,
  };
}
