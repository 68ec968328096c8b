/** The fuzz run's markdown report. */
import { describeEnvironment, environment } from '../shared/system.ts';
import { fmtInt } from '../shared/format.ts';
import { markdownTable } from '../shared/table.ts';
import type { FuzzReport } from './run.ts';

const mb = (bytes: number | null) => (bytes === null ? 'n/a' : `${(bytes / 1e6).toFixed(0)} MB`);

export function fuzzMarkdown(r: FuzzReport, command: string): string {
  const o = r.options;
  const rows = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => [k, fmtInt(n), `${((n / Math.max(1, r.inputs)) * 100).toFixed(1)}%`]);
  const figures = new Set([1, 2]);
  const verdict =
    r.crashes.length === 0 && r.wrong === 0 && r.leftOpen === 0 && r.inputs === o.inputs
      ? `**Passed**: ${fmtInt(r.inputs)} inputs, 0 crashes, 0 wrong outcomes, 0 connections left open.`
      : `**Failed**: ${r.crashes.length} crash(es), ${r.wrong} wrong outcome(s), ${r.leftOpen} left open, ${fmtInt(r.inputs)} of ${fmtInt(o.inputs)} inputs run.`;
  const failures =
    r.failures.length === 0
      ? 'None.'
      : markdownTable(
          ['input', 'kind', 'problem', 'first bytes (hex)'],
          r.failures.map((f) => [
            String(f.index),
            f.mutation ? `${f.kind} (${f.mutation})` : f.kind,
            f.problem,
            f.hex.slice(0, 64),
          ]),
          new Set(),
        );
  return `# Fuzz: ${fmtInt(r.inputs)} inputs against \`handoff serve\`

${verdict}

Command: \`${command}\`

${describeEnvironment(environment())}

Server: \`handoff serve --mode echo --strategy ${o.strategy} --workers ${o.workers} --header-bytes ${o.headerBytes} --max-message-bytes ${o.maxMessageBytes} --frame-timeout ${o.timeoutMs / 1000} --idle-timeout ${o.timeoutMs / 1000}\` (a child process).
Each input is one connection's byte stream (seed ${o.seed}; input *i* is reproducible from the seed and *i*),
written at random split points; ${o.concurrency} connections at once. Its outcome (the echo replies, then
\`!ERROR <code>\` and close, or FIN after \`!DISCONNECT\`) is checked against an oracle written from
docs/PROTOCOL.md (src/bench/fuzz/oracle.ts). A connection the server had not closed ${o.closeDeadlineMs / 1000} s
after its input is "left open". The oracle assumes each input reaches the server well within its timeouts:
an input the tester itself finished writing more than half a timeout after it began to connect (the tester's
event loop stalled, on a shared machine) is run again, up to 5 times, and only the last run is judged.

| figure | value |
| --- | ---: |
| inputs | ${fmtInt(r.inputs)} |
| duration | ${r.durationS.toFixed(0)} s (${fmtInt(r.inputs / r.durationS)} inputs/s) |
| bytes sent | ${fmtInt(r.inputBytes)} |
| crashes (server exit, worker thread died) | ${r.crashes.length} |
| wrong outcomes | ${r.wrong} |
| left open without a reply or an error | ${r.leftOpen} |
| ended by a reset, every expected frame received first | ${fmtInt(r.resets)} |
| runs repeated: the tester wrote the input too late (its own stall) | ${fmtInt(r.retriedLate)} |
| server RSS start / end | ${mb(r.server.rssStartBytes)} / ${mb(r.server.rssEndBytes)} |
| server descriptors start / end | ${r.server.fdsStart ?? 'n/a'} / ${r.server.fdsEnd ?? 'n/a'} |

## Inputs by kind

${markdownTable(['kind', 'inputs', 'share'], rows(r.byKind), figures)}

Header mutations among them (each on one frame of the stream; some leave the header valid, such as leading zeros
or a bit flip that turns one digit into another):

${markdownTable(['mutation', 'inputs', 'share'], rows(r.byMutation), figures)}

## Outcomes (as the oracle predicted them)

${markdownTable(['outcome', 'connections', 'share'], rows(r.outcomes), figures)}

## Failures (first ${r.failures.length})

${failures}
${r.crashes.length > 0 ? `\n## Crashes\n\n${r.crashes.map((c) => `- ${c}`).join('\n')}\n` : ''}`;
}
