/**
 * Checks the tester against the reference C load generator on the same
 * server: msgs/s at least 0.85x the generator's, and the tester's CPU per
 * message at most 1.25x. Runs them in turn (A B A B) against one server (the
 * embedded handoff, or with --server ref the C epoll server `ref_epoll -t 1`,
 * so that the server is never the limit) and writes results/reference-check.{md,json}.
 *
 *   scripts/reference.sh tester-vs-loadgen [--loadgen ~/ref/loadgen] [-c 50] [-s 16,4k] [-d 3] [--rounds 2]
 *        [--server-workers 1] [--strategy handoff] [--server handoff|ref] [--out results]
 */
import { parseArgs } from 'node:util';
import { parseSize, splitList } from '../../options/validators.ts';
import type { Strategy } from '../../server/options.ts';
import { fmtInt, formatSize } from '../format.ts';
import { startEmbeddedServer } from '../load/embedded-server.ts';
import { runBench } from '../load/run.ts';
import { describeEnvironment, environment } from '../load/system.ts';
import { resolveBenchOptions } from '../options.ts';
import { markdownTable } from '../results/report.ts';
import { median } from '../results/result.ts';
import {
  DEFAULT_LOADGEN,
  DEFAULT_REF_SERVER,
  requireInstruments,
  runLoadgen,
  saveReferenceReport,
  startRefServer,
} from './loadgen.ts';

const { values } = parseArgs({
  options: {
    loadgen: { type: 'string', default: DEFAULT_LOADGEN },
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
  },
});
const onRef = values.server === 'ref';
requireInstruments('tester-vs-loadgen', [
  { program: values.loadgen, flag: '--loadgen', source: 'loadgen.c' },
  ...(onRef ? [{ program: values['ref-server'], flag: '--ref-server', source: 'ref_epoll.c' }] : []),
]);
const clients = Number(values.clients);
const durationS = Number(values.duration);
const rounds = Number(values.rounds);
const sizes = splitList(values.sizes).map((s) => parseSize('sizes', s));
const threads = Number(values.workers);

async function startServer(): Promise<{ port: number; stop: () => Promise<void> }> {
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
const server = await startServer();
const serverText = onRef ? 'ref_epoll -t 1' : `embedded ${values.strategy}, ${values['server-workers']} worker(s)`;
type Row = {
  size: number;
  tool: 'loadgen' | 'handoff bench';
  round: number;
  msgsPerSec: number;
  cpuUsPerMsg: number;
  p50Us: number;
  p99Us: number;
};
const rows: Row[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    for (const size of sizes) {
      const lg = await runLoadgen(values.loadgen, {
        port: server.port,
        clients,
        sizeBytes: size,
        durationS,
        warmupS: 1,
        depth: 1,
        threads,
        echo: false,
      });
      rows.push({
        size,
        tool: 'loadgen',
        round,
        msgsPerSec: lg.msgs_per_s,
        cpuUsPerMsg: (lg.loadgen_cpu_s * 1e6) / lg.msgs,
        p50Us: lg.p50_us,
        p99Us: lg.p99_us,
      });

      const r = await runBench(
        resolveBenchOptions({
          clients,
          workers: threads,
          sizes: [size],
          durationS,
          warmupS: 1,
          target: `127.0.0.1:${server.port}`,
          out: '',
          progress: false,
        }),
      );
      const m = r.measurements[0]!;
      rows.push({
        size,
        tool: 'handoff bench',
        round,
        msgsPerSec: m.msgsPerSec.overall,
        cpuUsPerMsg: m.tester.cpuUsPerMsg,
        p50Us: m.latencyUs.p50,
        p99Us: m.latencyUs.p99,
      });
    }
  }
} finally {
  await server.stop();
}

const verdicts = sizes.map((size) => {
  const pick = (tool: Row['tool']) => rows.filter((r) => r.size === size && r.tool === tool);
  const lg = pick('loadgen');
  const hb = pick('handoff bench');
  const rateRatio = median(hb.map((r) => r.msgsPerSec)) / median(lg.map((r) => r.msgsPerSec));
  const cpuRatio = median(hb.map((r) => r.cpuUsPerMsg)) / median(lg.map((r) => r.cpuUsPerMsg));
  return {
    size,
    loadgenMsgsPerSec: median(lg.map((r) => r.msgsPerSec)),
    benchMsgsPerSec: median(hb.map((r) => r.msgsPerSec)),
    rateRatio,
    rateOk: rateRatio >= 0.85,
    loadgenCpuUsPerMsg: median(lg.map((r) => r.cpuUsPerMsg)),
    benchCpuUsPerMsg: median(hb.map((r) => r.cpuUsPerMsg)),
    cpuRatio,
    cpuOk: cpuRatio <= 1.25,
  };
});

const env = environment();
const md = [
  '# Reference check: handoff bench vs the C load generator',
  '',
  `Same server (${serverText}, ack, 64-byte header), ${clients} connections x 1, ` +
    `${durationS} s per measurement, ${threads} load thread(s) each, ${rounds} interleaved round(s). ` +
    `${describeEnvironment(env)}.`,
  '',
  `Command: \`scripts/reference.sh tester-vs-loadgen -c ${clients} -s ${values.sizes} -d ${durationS} --rounds ${rounds} -w ${threads}${onRef ? ' --server ref' : ` --server-workers ${values['server-workers']}`}\``,
  '',
  "Criteria: msgs/s at least 0.85x loadgen's; tester CPU per message at most 1.25x loadgen's.",
  '',
  markdownTable(
    [
      'size',
      'loadgen msgs/s',
      'bench msgs/s',
      'ratio',
      'at least 0.85x',
      'loadgen µs CPU/msg',
      'bench µs CPU/msg',
      'CPU ratio',
      'at most 1.25x',
    ],
    verdicts.map((v) => [
      formatSize(v.size),
      fmtInt(v.loadgenMsgsPerSec),
      fmtInt(v.benchMsgsPerSec),
      v.rateRatio.toFixed(3),
      v.rateOk ? 'yes' : 'NO',
      v.loadgenCpuUsPerMsg.toFixed(2),
      v.benchCpuUsPerMsg.toFixed(2),
      v.cpuRatio.toFixed(2),
      v.cpuOk ? 'yes' : 'NO',
    ]),
    new Set([1, 2, 3, 5, 6, 7]),
  ),
  '',
  '## Every measurement',
  '',
  markdownTable(
    ['round', 'size', 'tool', 'msgs/s', 'µs CPU/msg', 'p50 µs', 'p99 µs'],
    rows.map((r) => [
      String(r.round),
      formatSize(r.size),
      r.tool,
      fmtInt(r.msgsPerSec),
      r.cpuUsPerMsg.toFixed(2),
      r.p50Us.toFixed(1),
      r.p99Us.toFixed(1),
    ]),
    new Set([0, 3, 4, 5, 6]),
  ),
  '',
].join('\n');
await saveReferenceReport(values.out, onRef ? 'reference-check-on-ref' : 'reference-check', md, {
  environment: env,
  options: values,
  verdicts,
  rows,
});
