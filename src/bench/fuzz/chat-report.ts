/** The chat fuzz run's markdown report. */
import { describeEnvironment, environment } from '../shared/system.ts';
import { fmtInt } from '../shared/format.ts';
import { markdownTable } from '../shared/table.ts';
import type { ChatFuzzReport } from './chat-run.ts';

const mb = (bytes: number | null) => (bytes === null ? 'n/a' : `${(bytes / 1e6).toFixed(0)} MB`);

export function chatFuzzMarkdown(r: ChatFuzzReport, command: string): string {
  const o = r.options;
  const passed = r.crashes.length === 0 && r.wrong === 0 && r.leftOpen === 0 && r.inputs === o.inputs;
  const verdict = passed
    ? `**Passed**: ${fmtInt(r.inputs)} inputs, 0 crashes, 0 wrong outcomes, 0 sessions left open.`
    : `**Failed**: ${r.crashes.length} crash(es), ${r.wrong} wrong outcome(s), ${r.leftOpen} left open, ${fmtInt(r.inputs)} of ${fmtInt(o.inputs)} inputs run.`;
  const kinds = Object.entries(r.byKind)
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => [k, fmtInt(n), `${((n / Math.max(1, r.inputs)) * 100).toFixed(1)}%`]);
  const reasons = [...new Set([...Object.keys(r.droppedExpected), ...r.droppedCounted.flatMap((c) => Object.keys(c))])]
    .sort()
    .map((reason) => [
      reason,
      fmtInt(r.droppedExpected[reason] ?? 0),
      ...r.droppedCounted.map((c) => fmtInt(c[reason] ?? 0)),
    ]);
  const failures =
    r.failures.length === 0
      ? 'None.'
      : markdownTable(
          ['input', 'kind', 'problem', 'first bytes (hex)'],
          r.failures.map((f) => [f.index < 0 ? '-' : String(f.index), f.kind, f.problem, f.hex.slice(0, 64)]),
          new Set(),
        );
  return `# Chat fuzz: ${fmtInt(r.inputs)} inputs against two \`handoff serve --mode chat\` on one redis-server

${verdict}

Command: \`${command}\`

${describeEnvironment(environment())}

Servers: two \`handoff serve --mode chat --workers ${o.workers} --header-bytes ${o.headerBytes} --max-message-bytes ${o.maxMessageBytes} --idle-timeout 0 --redis <a redis-server started here>\` (child processes).
Each input (seed ${o.seed}; input *i* is reproducible from the seed and *i*) is either a session, one connection to one of the two
servers sending 1 to 8 random chat frames (messages, \`!NICK\`, \`!JOIN\`, \`!WHO\`, well-formed or not, unknown commands,
\`!\`-payloads that are messages), often split into pieces, ending with \`!DISCONNECT\`, a header above the limit, or
nothing; or a batch published straight onto a room's Redis channel (valid, empty, of the longest servable payload,
foreign bytes, plain text, truncated, oversize, of another version or other limits, with a payload that is not a
delivery of that room, with bytes after it, a bad server id, a count beyond its bytes). ${o.concurrency} inputs in flight at once.

The judge (\`src/bench/fuzz/chat-oracle.ts\`, written from docs/PROTOCOL.md and the batch format, no code shared
with \`src/server\` or \`src/protocol\`): each session's replies, in order, deliveries apart (\`!WHO\`: of the right room, the
asker first, within \`--max-message-bytes\` + 100 bytes, \` +N\` last); FIN after \`!DISCONNECT\`, \`!ERROR TOO_LARGE\` after
an oversize header (replies still waiting for a membership change to be confirmed may be overtaken by the error). A
listener in each room on each server must get exactly the payloads of the servable batches of its room, each once,
in the order published, and nothing of the others; each server's \`handoff_bus_dropped_total{reason}\` must equal the
oracle's count of dropped batches by reason; at the end a message and a \`!WHO\` must still cross between the servers.

| figure | value |
| --- | ---: |
| inputs | ${fmtInt(r.inputs)} (${fmtInt(r.sessions)} sessions, ${fmtInt(r.batches)} batches) |
| duration | ${r.durationS.toFixed(0)} s (${fmtInt(r.inputs / Math.max(r.durationS, 0.001))} inputs/s) |
| session frames sent | ${fmtInt(r.framesSent)} |
| servable payloads checked at the listeners | ${fmtInt(r.deliveriesChecked)} |
| crashes (server exit, worker thread died) | ${r.crashes.length} |
| wrong outcomes | ${r.wrong} |
| sessions left open | ${r.leftOpen} |
| sessions ended by a reset, every expected reply received first | ${fmtInt(r.resets)} |
| final probe across the servers | ${r.finalProbe} |
${r.servers.map((s, i) => `| server ${i + 1} RSS start / end; descriptors start / end | ${mb(s.rssStartBytes)} / ${mb(s.rssEndBytes)}; ${s.fdsStart ?? 'n/a'} / ${s.fdsEnd ?? 'n/a'} |`).join('\n')}

## Inputs by kind

${markdownTable(['kind', 'inputs', 'share'], kinds, new Set([1, 2]))}

## Batches dropped, by reason: the oracle, and each server's counter

${markdownTable(['reason', 'oracle', ...r.droppedCounted.map((_, i) => `server ${i + 1}`)], reasons, new Set([1, 2, 3]))}

## What the servers logged about Redis and the bus during the run

${r.serverLines.length === 0 ? 'Nothing.' : r.serverLines.map((l) => `- ${l}`).join('\n')}

## Failures (first ${r.failures.length})

${failures}
${r.crashes.length > 0 ? `\n## Crashes\n\n${r.crashes.map((c) => `- ${c}`).join('\n')}\n` : ''}`;
}
