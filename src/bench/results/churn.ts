/**
 * Connection churn's figures (--churn K): what a measurement saves beside its
 * msgs/s and message latency (load/churn-figures.ts makes them from the churn
 * threads' reports), and their summary over rounds.
 */
import type { LatencySummaryUs } from '../shared/latency.ts';
import { median } from '../shared/stats.ts';

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
