/** The soak's markdown report. */
import { fmtInt } from '../shared/format.ts';
import { describeEnvironment, environment } from '../shared/system.ts';
import { markdownTable } from '../shared/table.ts';
import type { SoakReport } from './run.ts';

const ms = (us: number | null) => (us === null ? 'n/a' : (us / 1000).toFixed(2));

export function soakMarkdown(r: SoakReport, command: string): string {
  const o = r.options;
  const failed = r.checks.filter((c) => !c.ok);
  const verdict =
    failed.length === 0
      ? `**Passed**: ${fmtInt(r.counts.clientSent)} messages, each answered once and counted once by the server; no upward trend of descriptors or RSS; p99 within ${o.p99Factor}x.`
      : `**Failed**: ${failed.map((c) => c.name).join('; ')}.`;
  return `# Soak: ${o.clients} clients for ${o.minutes} minutes

${verdict}

Command: \`${command}\`

${describeEnvironment(environment())}

Server: \`handoff serve --strategy ${o.strategy} --workers ${o.workers} --metrics-port 0\` (a child process, ack mode).
${o.clients} connections on ${o.threads} load thread(s), closed loop (one ${o.sizeBytes}-byte message in flight each);
each connection leaves after a random lifetime (exponential, mean ${o.meanLifetimeS} s), half of them with
\`!DISCONNECT\`, half by closing abruptly, and is replaced at once. A connection leaves only with nothing in flight,
so the server's count (\`handoff_messages_total\` from /metrics) must equal the clients' exactly. Trends compare
the median of the last third of the samples with the first third's, after a warm-up (the first tenth of the run).

## Checks

${markdownTable(
  ['check', 'result', 'detail'],
  r.checks.map((c) => [c.name, c.ok ? 'pass' : '**FAIL**', c.detail]),
  new Set(),
)}

## Figures

| figure | value |
| --- | ---: |
| duration | ${r.durationS.toFixed(0)} s |
| messages sent by the clients (!DISCONNECT included) | ${fmtInt(r.counts.clientSent)} |
| replies received | ${fmtInt(r.counts.clientAcked)} |
| messages counted by the server | ${r.counts.serverMessages === null ? 'n/a' : fmtInt(r.counts.serverMessages)} |
| lost or duplicated | ${r.counts.serverMessages === null ? 'n/a' : fmtInt(Math.abs(r.counts.serverMessages - r.counts.clientSent) + Math.abs(r.counts.clientAcked - r.counts.clientSent))} |
| left with !DISCONNECT and came back | ${fmtInt(r.disconnects)} |
| closed abruptly and came back | ${fmtInt(r.aborts)} |
| latency p50 / p99 / max (whole run) | ${ms(r.latency.p50)} / ${ms(r.latency.p99)} / ${ms(r.latency.max)} ms |

## Samples

${markdownTable(
  ['t (s)', 'msgs/s', 'p50 (ms)', 'p99 (ms)', 'open', 'server active', 'fds', 'RSS (MB)'],
  r.samples.map((p) => [
    p.tS.toFixed(0),
    fmtInt(p.messagesPerS),
    ms(p.p50Us),
    ms(p.p99Us),
    String(p.open),
    String(p.serverActive ?? 'n/a'),
    String(p.fds ?? 'n/a'),
    p.rssBytes === null ? 'n/a' : (p.rssBytes / 1e6).toFixed(0),
  ]),
  new Set([0, 1, 2, 3, 4, 5, 6, 7]),
)}
`;
}
