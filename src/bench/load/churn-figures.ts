/** A measurement's churn figures (results/churn.ts) from its load threads' drained churn reports. */
import { encodeHistogram, mergeHistograms, summarize } from '../shared/latency.ts';
import type { ChurnFigures } from '../results/churn.ts';
import type { ChurnDrained } from './messages.ts';

interface ChurnInputs {
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
