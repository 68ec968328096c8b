/**
 * Checks the tester against the two reference load generators on the same
 * server: the C one (loadgen) and the hand-tuned Node one
 * (../shared/reference/node_fast_client.mjs, the floor for a Node load tester).
 * Each tool is a process of its own and they take turns, round by round (A B C
 * A B C), against one server: the embedded handoff, or with --server ref the
 * C epoll server `ref_epoll -t 1`, so that the server is never the limit. The
 * figures are medians over the rounds, and each tool's CPU is its whole
 * process's over the measured window. Writes results/reference-check.{md,json}
 * (reference-check-on-ref with --server ref).
 *
 *   scripts/reference.sh tester-vs-loadgen [-c 50] [-s 16,4k] [-d 3] [--rounds 2] [-w 1]
 *        [--tools bench,node_fast_client,loadgen] [--before DIR] [--other LABEL=DIR] [--server handoff|ref]
 *        [--server-workers 1] [--strategy handoff] [--quiet-wait 60] [--max-foreign 0.15] [--attempts 3]
 *        [--out results] [--pin]
 *
 * --pin (Linux, taskset) puts every thread of the server on CPU 1 and each tool on CPU 0
 * (loadgen.ts, PINNED_CPUS says why).
 *
 * On a shared machine each measurement first waits for it to be quiet and is made again
 * when other processes took more than --max-foreign cores during it (watched.ts).
 *
 * --before DIR adds the bench of another checkout (`git worktree add DIR <commit>`, npm ci
 * there) as the first tool of every round: before/after in one run. --other LABEL=DIR (as
 * often as wanted) adds more, under their labels: a probe build, say.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseSize, splitList } from '../../options/validators.ts';
import type { Strategy } from '../../server/options.ts';
import { fmtInt, formatSize, pct } from '../shared/format.ts';
import { startEmbeddedServer } from '../load/embedded-server.ts';
import { describeEnvironment, environment, gitCommit, REPO_DIR } from '../shared/system.ts';
import { markdownTable } from '../shared/table.ts';
import { type BenchResult } from '../results/result.ts';
import { median } from '../shared/stats.ts';
import {
  DEFAULT_LOADGEN,
  DEFAULT_REF_SERVER,
  requireInstruments,
  loadgenArgs,
  parseLoadgenReport,
  pinnedCommand,
  PINNED_CPUS,
  pinServer,
  saveReferenceReport,
  startRefServer,
} from './loadgen.ts';
import { runWatched, waitForQuiet } from './watched.ts';

const { values } = parseArgs({
  options: {
    loadgen: { type: 'string', default: DEFAULT_LOADGEN },
    'node-fast-client': {
      type: 'string',
      default: fileURLToPath(new URL('../../../../shared/reference/node_fast_client.mjs', import.meta.url)),
    },
    tools: { type: 'string', default: 'bench,node_fast_client,loadgen' },
    before: { type: 'string', default: '' },
    other: { type: 'string', multiple: true, default: [] },
    clients: { type: 'string', short: 'c', default: '50' },
    sizes: { type: 'string', short: 's', default: '16,4k' },
    duration: { type: 'string', short: 'd', default: '3' },
    rounds: { type: 'string', default: '2' },
    'server-workers': { type: 'string', default: '1' },
    strategy: { type: 'string', default: 'handoff' },
    workers: { type: 'string', short: 'w', default: '1' },
    out: { type: 'string', default: 'results' },
    server: { type: 'string', default: 'handoff' },
    'ref-server': { type: 'string', default: DEFAULT_REF_SERVER },
    'ref-port': { type: 'string', default: '5799' },
    'quiet-wait': { type: 'string', default: '60' },
    'max-foreign': { type: 'string', default: '0.15' },
    attempts: { type: 'string', default: '3' },
    pin: { type: 'boolean', default: false },
  },
});

/** The tools a round runs, in turn: other checkouts' benches (by label), this checkout's, and the two references. */
type Tool = string;
const TOOLS: readonly Tool[] = ['bench', 'node_fast_client', 'loadgen'];
const asked = splitList(values.tools);
for (const t of asked) {
  if (!TOOLS.includes(t)) {
    process.stderr.write(`tester-vs-loadgen: --tools takes ${TOOLS.join(', ')}; not ${t}\n`);
    process.exit(2);
  }
}
const beforeDir = values.before ? path.resolve(values.before) : '';
/** Label -> checkout of every bench besides this one's. */
const checkouts = new Map<string, string>(beforeDir ? [['bench before', beforeDir]] : []);
for (const other of values.other) {
  const at = other.indexOf('=');
  if (at <= 0 || TOOLS.includes(other.slice(0, at))) {
    process.stderr.write(`tester-vs-loadgen: --other takes LABEL=DIR (a label of its own); not ${other}\n`);
    process.exit(2);
  }
  checkouts.set(other.slice(0, at), path.resolve(other.slice(at + 1)));
}
const tools: Tool[] = [...checkouts.keys(), ...asked];

const onRef = values.server === 'ref';
requireInstruments('tester-vs-loadgen', [
  ...(tools.includes('loadgen') ? [{ program: values.loadgen, flag: '--loadgen', source: 'loadgen.c' }] : []),
  ...(onRef ? [{ program: values['ref-server'], flag: '--ref-server', source: 'ref_epoll.c' }] : []),
]);
const missing = [
  ...(tools.includes('node_fast_client') && !existsSync(values['node-fast-client'])
    ? [`${values['node-fast-client']} is missing (../shared/reference/node_fast_client.mjs; --node-fast-client PATH)`]
    : []),
  ...[...checkouts.values()]
    .filter((dir) => !existsSync(path.join(dir, 'bin', 'handoff')))
    .map(
      (dir) =>
        `${dir}/bin/handoff is missing (--before and --other take a checkout of this project, npm ci done in it)`,
    ),
];
if (missing.length) {
  process.stderr.write(`tester-vs-loadgen: cannot run:\n${missing.map((m) => `  - ${m}\n`).join('')}`);
  process.exit(2);
}

const clients = Number(values.clients);
const durationS = Number(values.duration);
const rounds = Number(values.rounds);
const sizes = splitList(values.sizes).map((s) => parseSize('sizes', s));
const threads = Number(values.workers);
const WARMUP_S = 1;
const quietWaitS = Number(values['quiet-wait']);
const maxForeign = Number(values['max-foreign']);
/** Above this spread of msgs/s between rounds (half the range over the median, both sides), a run was disturbed. */
const DISTURBED_SPREAD = 0.1;

async function startServer(): Promise<{ port: number; pid: number | null; stop: () => Promise<void> }> {
  if (!onRef) {
    return startEmbeddedServer({
      workers: Number(values['server-workers']),
      strategy: values.strategy as Strategy,
      mode: 'ack',
      headerBytes: 64,
      maxConnections: clients * 2 + 16,
    });
  }
  return startRefServer(values['ref-server'], Number(values['ref-port']), 1, false);
}

interface Figures {
  msgsPerSec: number;
  /** The tool's whole process over the measured window. */
  cpuUsPerMsg: number;
  /** The bench's load threads alone (null for the other tools, and for a bench from before it reported them). */
  loadThreadCpuUsPerMsg: number | null;
  p50Us: number | null;
  p99Us: number | null;
  errors: number;
}

interface Row extends Figures {
  size: number;
  tool: Tool;
  round: number;
  /** Other processes' CPU during the measurement, in cores (null off Linux), and the attempts it took. */
  foreignCores: number | null;
  attempts: number;
}

/** How each tool is run (every one a process of its own) and its report read. */
function toolCommand(
  tool: Tool,
  port: number,
  size: number,
): { program: string; args: string[]; read: (out: string) => Figures } {
  if (tool === 'bench' || checkouts.has(tool)) {
    const args = [
      ...['bench', '--target', `127.0.0.1:${port}`, '-c', String(clients), '-s', String(size)],
      ...['-d', String(durationS), '--warmup', String(WARMUP_S), '-w', String(threads), '--json', '--no-save'],
    ];
    return {
      program: path.join(tool === 'bench' ? REPO_DIR : checkouts.get(tool)!, 'bin', 'handoff'),
      args,
      read: (out) => {
        const m = (JSON.parse(out) as BenchResult).measurements[0]!;
        return {
          msgsPerSec: m.msgsPerSec.overall,
          cpuUsPerMsg: m.tester.cpuUsPerMsg,
          loadThreadCpuUsPerMsg: m.tester.loadThreads?.cpuUsPerMsg ?? null,
          p50Us: m.latencyUs.p50,
          p99Us: m.latencyUs.p99,
          errors: m.errors.total,
        };
      },
    };
  }
  if (tool === 'node_fast_client') {
    // It prints msgs/s and its CPU-s per million messages over its window.
    const args = [values['node-fast-client'], '--host', '127.0.0.1', '--port', String(port)];
    args.push('-c', String(clients), '-s', String(size), '-d', String(durationS), '-w', String(WARMUP_S));
    return {
      program: process.execPath,
      args,
      read: (out) => {
        const r = JSON.parse(out.trim().split('\n').at(-1)!) as {
          msgs_per_s: number;
          client_cpu_s_per_M: number;
          errors: number;
        };
        const none = { loadThreadCpuUsPerMsg: null, p50Us: null, p99Us: null };
        return { msgsPerSec: r.msgs_per_s, cpuUsPerMsg: r.client_cpu_s_per_M, errors: r.errors, ...none };
      },
    };
  }
  const args = loadgenArgs({
    port,
    clients,
    sizeBytes: size,
    durationS,
    warmupS: WARMUP_S,
    depth: 1,
    threads,
    echo: false,
  });
  return {
    program: values.loadgen,
    args,
    read: (out) => {
      const lg = parseLoadgenReport(out);
      return {
        msgsPerSec: lg.msgs_per_s,
        cpuUsPerMsg: (lg.loadgen_cpu_s * 1e6) / lg.msgs,
        loadThreadCpuUsPerMsg: null,
        p50Us: lg.p50_us,
        p99Us: lg.p99_us,
        errors: lg.errors,
      };
    },
  };
}

/**
 * One measurement on a machine as quiet as it gets: after waiting (up to --quiet-wait s) for it
 * to be under 10% busy, and again (up to --attempts in all) while other processes took more
 * than --max-foreign cores during it.
 */
async function measure(tool: Tool, server: { port: number; pid: number | null }, size: number, round: number) {
  const run = toolCommand(tool, server.port, size);
  const { read } = run;
  const [program, args] = values.pin ? pinnedCommand(run.program, run.args) : [run.program, run.args];
  const attempts = Math.max(1, Number(values.attempts));
  let row: Row | null = null;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (quietWaitS > 0) await waitForQuiet(quietWaitS, 0.1);
    const known = server.pid === null ? [] : [server.pid];
    const { stdout, foreignCores } = await runWatched(program, args, (durationS + WARMUP_S + 60) * 1000, known);
    row = { size, tool, round, ...read(stdout), foreignCores, attempts: attempt };
    if (foreignCores === null || foreignCores <= maxForeign) break;
    process.stderr.write(
      `  ${tool} ${formatSize(size)}: others took ${foreignCores.toFixed(2)} cores, measured again\n`,
    );
  }
  return row!;
}

const server = await startServer();
if (values.pin && server.pid !== null) {
  try {
    pinServer(server.pid);
  } catch (err) {
    await server.stop();
    process.stderr.write(`tester-vs-loadgen: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
const serverText = onRef ? 'ref_epoll -t 1' : `embedded ${values.strategy}, ${values['server-workers']} worker(s)`;
const rows: Row[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    for (const size of sizes) {
      for (const tool of tools) {
        const row = await measure(tool, server, size, round);
        rows.push(row);
        process.stderr.write(
          `round ${round} ${formatSize(size)} ${tool}: ${fmtInt(row.msgsPerSec)} msgs/s, ${row.cpuUsPerMsg.toFixed(2)} µs CPU/msg` +
            (row.loadThreadCpuUsPerMsg === null ? '' : ` (load threads ${row.loadThreadCpuUsPerMsg.toFixed(2)})`) +
            (row.foreignCores === null ? '' : `, others ${row.foreignCores.toFixed(2)} cores`) +
            '\n',
        );
      }
    }
  }
} finally {
  await server.stop();
}

interface ToolSummary {
  msgsPerSec: number;
  cpuUsPerMsg: number;
  loadThreadCpuUsPerMsg: number | null;
  /** Half the range of msgs/s over the median, over the rounds. */
  spread: number;
  errors: number;
}

function summarize(size: number, tool: Tool): ToolSummary | null {
  const mine = rows.filter((r) => r.size === size && r.tool === tool);
  if (mine.length === 0) return null;
  const rates = mine.map((r) => r.msgsPerSec);
  const med = median(rates);
  const threadCpu = mine.map((r) => r.loadThreadCpuUsPerMsg).filter((v): v is number => v !== null);
  return {
    msgsPerSec: med,
    cpuUsPerMsg: median(mine.map((r) => r.cpuUsPerMsg)),
    loadThreadCpuUsPerMsg: threadCpu.length ? median(threadCpu) : null,
    spread: med > 0 ? (Math.max(...rates) - Math.min(...rates)) / 2 / med : 0,
    errors: mine.reduce((a, r) => a + r.errors, 0),
  };
}

const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b ? a / b : null);
const verdicts = sizes.map((size) => {
  const by: Record<Tool, ToolSummary | null> = Object.fromEntries(tools.map((t) => [t, summarize(size, t)]));
  const bench = by.bench;
  const floor = by.node_fast_client;
  const lg = by.loadgen;
  const rateToFloor = ratio(bench?.msgsPerSec, floor?.msgsPerSec);
  const cpuToFloor = ratio(bench?.cpuUsPerMsg, floor?.cpuUsPerMsg);
  const rateToLoadgen = ratio(bench?.msgsPerSec, lg?.msgsPerSec);
  const cpuToLoadgen = ratio(bench?.cpuUsPerMsg, lg?.cpuUsPerMsg);
  return {
    size,
    tools: by,
    rateToFloor,
    rateToFloorOk: rateToFloor === null ? null : rateToFloor >= 0.95,
    cpuToFloor,
    cpuToFloorOk: cpuToFloor === null ? null : cpuToFloor <= 1.1,
    rateToLoadgen,
    rateToLoadgenOk: rateToLoadgen === null ? null : rateToLoadgen >= 0.85,
    cpuToLoadgen,
    cpuToLoadgenOk: cpuToLoadgen === null ? null : cpuToLoadgen <= 1.25,
    beforeRate: ratio(bench?.msgsPerSec, by['bench before']?.msgsPerSec ?? undefined),
    beforeCpu: ratio(bench?.cpuUsPerMsg, by['bench before']?.cpuUsPerMsg ?? undefined),
  };
});
const disturbed = verdicts.flatMap((v) =>
  tools.flatMap((t) => {
    const s = v.tools[t];
    return s && s.spread > DISTURBED_SPREAD ? [`${t} at ${formatSize(v.size)} (±${pct(s.spread)})`] : [];
  }),
);

const num = (x: number | null, digits: number) => (x === null ? '-' : x.toFixed(digits));
const yes = (ok: boolean | null) => (ok === null ? '-' : ok ? 'yes' : 'NO');
const env = environment();
const beforeCommit = beforeDir ? (gitCommit(beforeDir)?.slice(0, 12) ?? 'unknown') : '';
const otherCommits = Object.fromEntries([...checkouts].map(([label, dir]) => [label, gitCommit(dir)]));
const command =
  `scripts/reference.sh tester-vs-loadgen -c ${clients} -s ${values.sizes} -d ${durationS} --rounds ${rounds} -w ${threads}` +
  (values.tools === 'bench,node_fast_client,loadgen' ? '' : ` --tools ${values.tools}`) +
  (beforeDir ? ` --before ${values.before}` : '') +
  values.other.map((o) => ` --other ${o}`).join('') +
  (onRef ? ' --server ref' : ` --server-workers ${values['server-workers']}`) +
  (values['quiet-wait'] === '60' ? '' : ` --quiet-wait ${values['quiet-wait']}`) +
  (values['max-foreign'] === '0.15' ? '' : ` --max-foreign ${values['max-foreign']}`) +
  (values.attempts === '3' ? '' : ` --attempts ${values.attempts}`) +
  (values.pin ? ' --pin' : '');
const remeasured = rows.filter((r) => r.attempts > 1).length;
const stillDisturbed = rows.filter((r) => r.foreignCores !== null && r.foreignCores > maxForeign).length;
const md = [
  '# Reference check: handoff bench vs the Node floor and the C load generator',
  '',
  `Same server (${serverText}, ack, 64-byte header), ${clients} connections x 1, ` +
    `${durationS} s per measurement after ${WARMUP_S} s warm-up, ${threads} load thread(s) each, ${rounds} interleaved round(s): ` +
    `${tools.join(', ')} in turn. ${describeEnvironment(env)}.` +
    (values.pin
      ? ` Pinned (--pin): the server on CPU ${PINNED_CPUS.server}, each tool on CPU ${PINNED_CPUS.tool}.`
      : '') +
    [...checkouts]
      .map(([label, dir]) => ` "${label}" is ${dir} at commit ${gitCommit(dir)?.slice(0, 12) ?? 'unknown'}.`)
      .join(''),
  '',
  `Command: \`${command}\``,
  '',
  'CPU is each tool\'s whole process over its measured window (the bench: every thread; "load threads": its load ' +
    "threads alone). Criteria: the bench's msgs/s at least 0.95x node_fast_client's and its CPU per message at most " +
    '1.1x; against loadgen, at least 0.85x and at most 1.25x. Medians over the rounds; spread is half the range of ' +
    'msgs/s over the median.',
  '',
  `Each measurement waited (up to ${quietWaitS} s) for the machine to be under 10% busy, and was made again (up to ` +
    `${values.attempts} times in all) when other processes took more than ${maxForeign} cores during it ("others": the ` +
    "machine's user and system time less the tool's, the server's and this script's). " +
    `${remeasured} measurement(s) were made again; ${stillDisturbed} still had others above the limit at the last attempt.`,
  '',
  markdownTable(
    ['size', 'tool', 'msgs/s', 'spread', 'µs CPU/msg', 'load threads µs CPU/msg', 'errors'],
    verdicts.flatMap((v) =>
      tools.map((t) => {
        const s = v.tools[t]!;
        return [
          formatSize(v.size),
          t,
          fmtInt(s.msgsPerSec),
          `±${pct(s.spread)}`,
          s.cpuUsPerMsg.toFixed(2),
          num(s.loadThreadCpuUsPerMsg, 2),
          String(s.errors),
        ];
      }),
    ),
    new Set([2, 3, 4, 5, 6]),
  ),
  '',
  markdownTable(
    [
      'size',
      'msgs/s / node_fast_client',
      'at least 0.95x',
      'CPU / node_fast_client',
      'at most 1.1x',
      'msgs/s / loadgen',
      'at least 0.85x',
      'CPU / loadgen',
      'at most 1.25x',
      ...(beforeDir ? ['msgs/s / before', 'CPU / before'] : []),
    ],
    verdicts.map((v) => [
      formatSize(v.size),
      num(v.rateToFloor, 3),
      yes(v.rateToFloorOk),
      num(v.cpuToFloor, 2),
      yes(v.cpuToFloorOk),
      num(v.rateToLoadgen, 3),
      yes(v.rateToLoadgenOk),
      num(v.cpuToLoadgen, 2),
      yes(v.cpuToLoadgenOk),
      ...(beforeDir ? [num(v.beforeRate, 3), num(v.beforeCpu, 2)] : []),
    ]),
    new Set([1, 3, 5, 7, 9, 10]),
  ),
  '',
  rounds < 2
    ? 'One round: no spread between rounds to judge the run by.'
    : disturbed.length
      ? `Disturbed (spread above ±${pct(DISTURBED_SPREAD)}): ${disturbed.join('; ')}. Run it again on a quieter machine.`
      : `Every tool's rounds within ±${pct(DISTURBED_SPREAD)} of its median.`,
  '',
  '## Every measurement',
  '',
  markdownTable(
    [
      'round',
      'size',
      'tool',
      'msgs/s',
      'µs CPU/msg',
      'load threads µs CPU/msg',
      'p50 µs',
      'p99 µs',
      'others (cores)',
      'attempts',
    ],
    rows.map((r) => [
      String(r.round),
      formatSize(r.size),
      r.tool,
      fmtInt(r.msgsPerSec),
      r.cpuUsPerMsg.toFixed(2),
      num(r.loadThreadCpuUsPerMsg, 2),
      num(r.p50Us, 1),
      num(r.p99Us, 1),
      num(r.foreignCores, 2),
      String(r.attempts),
    ]),
    new Set([0, 3, 4, 5, 6, 7, 8, 9]),
  ),
  '',
].join('\n');
await saveReferenceReport(values.out, onRef ? 'reference-check-on-ref' : 'reference-check', md, {
  environment: env,
  options: values,
  command,
  beforeCommit: beforeCommit || null,
  checkouts: Object.fromEntries([...checkouts].map(([label, dir]) => [label, { dir, commit: otherCommits[label] }])),
  verdicts,
  disturbed,
  rows,
});
