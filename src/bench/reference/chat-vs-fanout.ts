/**
 * The chat tester against the reference fan-out generator (../shared/reference/
 * fanout.c, built outside this repository), on the same server in one run:
 * for each target (handoff's chat, nats-server, redis-server) one server is
 * started and both tools take turns on it, round by round (A B A B), each with
 * one thread. The figure is the ratio of the medians of deliveries/s to
 * receivers, with each tool's CPU per delivery beside it (on a shared 2-core
 * machine the tester's CPU is taken from the server). Writes
 * results/chat-tester-vs-fanout.{md,json}.
 *
 *   gcc -O2 -pthread -o ~/ref/fanout ../shared/reference/fanout.c
 *   scripts/reference.sh chat-vs-fanout [--fanout ~/ref/fanout] [--targets handoff,nats,redis]
 *        [-r 500] [-s 10] [-b 16] [-d 4] [--warmup 1] [--rounds 3] [--server-workers 2] [--rate 0] [--out results]
 */
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseCount, parseSize, splitList } from '../../options/validators.ts';
import { fmtInt, fmtUs, formatSize } from '../shared/format.ts';
import { runChatBench } from '../load/chat/run.ts';
import { startChatTarget, variantName } from '../load/chat/targets.ts';
import type { TargetKind } from '../results/chat-result.ts';
import { describeEnvironment, environment } from '../shared/system.ts';
import { resolveBenchOptions } from '../options.ts';
import { markdownColumns } from '../shared/table.ts';
import { median } from '../shared/stats.ts';
import { requireInstruments, saveReferenceReport } from './loadgen.ts';

const { values } = parseArgs({
  options: {
    fanout: { type: 'string', default: path.join(homedir(), 'ref', 'fanout') },
    targets: { type: 'string', default: 'handoff,nats,redis' },
    receivers: { type: 'string', short: 'r', default: '500' },
    senders: { type: 'string', short: 's', default: '10' },
    size: { type: 'string', short: 'b', default: '16' },
    duration: { type: 'string', short: 'd', default: '4' },
    warmup: { type: 'string', default: '1' },
    rounds: { type: 'string', default: '3' },
    'server-workers': { type: 'string', default: '2' },
    rate: { type: 'string', default: '0' },
    window: { type: 'string', default: '64' },
    out: { type: 'string', default: 'results' },
  },
});
const targets = splitList(values.targets) as TargetKind[];
requireInstruments('chat-vs-fanout', [
  { program: values.fanout, flag: '--fanout', source: 'fanout.c' },
  ...(['nats', 'redis'] as const)
    .filter((kind) => targets.includes(kind))
    .map((kind) => ({ program: `${kind}-server`, install: `apt-get install ${kind}-server` })),
]);
const receivers = Number(values.receivers);
const senders = Number(values.senders);
const sizeBytes = parseSize('size', values.size);
const durationS = Number(values.duration);
const warmupS = Number(values.warmup);
const rounds = Number(values.rounds);
const serverWorkers = Number(values['server-workers']);
const rate = parseCount('rate', values.rate);
const window = Number(values.window);

/** fanout's report: the fields used here (it prints more). */
interface FanoutReport {
  receiver_deliveries_per_s: number;
  deliveries_per_s: number;
  p50_us: number;
  p99_us: number;
  lost: number;
  duplicated: number;
  reordered: number;
  errors: number;
  fanout_cpu_s: number;
  deliveries: number;
  server_cpu_s_per_million_deliveries: number;
}

function runFanout(kind: TargetKind, port: number, pids: number[]): Promise<FanoutReport> {
  const args = [
    ...['-P', kind, '-p', String(port), '-r', String(receivers), '-s', String(senders), '-b', String(sizeBytes)],
    ...['-R', String(rate), '-w', String(window), '-W', String(warmupS), '-d', String(durationS)],
    ...(pids.length ? ['-S', pids.join(',')] : []),
  ];
  return new Promise((resolve, reject) => {
    execFile(values.fanout, args, { timeout: (durationS + warmupS + 90) * 1000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`fanout ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(JSON.parse(stdout.trim().split('\n').at(-1)!) as FanoutReport);
    });
  });
}

interface Row {
  target: string;
  round: number;
  tool: 'fanout' | 'handoff bench';
  receiverDeliveriesPerSec: number;
  testerCpuUsPerDelivery: number;
  p50Us: number;
  p99Us: number;
  lost: number;
  errors: number;
  saturated: boolean;
}
const rows: Row[] = [];

for (const kind of targets) {
  const variant = {
    name: variantName(kind, kind === 'handoff' ? serverWorkers : null, 1, 'local', false),
    kind,
    serverWorkers: kind === 'handoff' ? serverWorkers : null,
    servers: 1,
    bus: 'local' as const,
    external: null,
  };
  const target = await startChatTarget(variant, {
    strategy: 'handoff',
    headerBytes: 64,
    maxConnections: (receivers + senders) * 2 + 64,
    serverCommand: [],
    natsServer: 'nats-server',
    redisServer: 'redis-server',
    redisCli: 'redis-cli',
  });
  const { port } = target.endpoints[0]!;
  try {
    for (let round = 1; round <= rounds; round++) {
      const f = await runFanout(
        kind,
        port,
        target.processes.map((p) => p.pid),
      );
      rows.push({
        target: variant.name,
        round,
        tool: 'fanout',
        receiverDeliveriesPerSec: f.receiver_deliveries_per_s,
        testerCpuUsPerDelivery: f.deliveries > 0 ? (f.fanout_cpu_s * 1e6) / f.deliveries : 0,
        p50Us: f.p50_us,
        p99Us: f.p99_us,
        lost: f.lost,
        errors: f.errors,
        saturated: false,
      });
      await target.settle();
      const r = await runChatBench(
        resolveBenchOptions({
          mode: 'chat',
          clients: receivers + senders,
          senders,
          window,
          rate,
          sizes: [sizeBytes],
          durationS,
          warmupS,
          workers: 1,
          targetKinds: [kind],
          target: `127.0.0.1:${port}`,
          out: '',
          progress: false,
        }),
      );
      const m = r.measurements[0]!;
      rows.push({
        target: variant.name,
        round,
        tool: 'handoff bench',
        receiverDeliveriesPerSec: m.deliveriesPerSec.receivers,
        testerCpuUsPerDelivery: m.tester.cpuUsPerDelivery,
        p50Us: m.latencyUs.p50,
        p99Us: m.latencyUs.p99,
        lost: m.check.lostTotal,
        errors: m.errors.total,
        saturated: m.tester.saturated,
      });
      process.stderr.write(
        `round ${round} ${variant.name}: fanout ${fmtInt(rows.at(-2)!.receiverDeliveriesPerSec)}, bench ${fmtInt(m.deliveriesPerSec.receivers)} deliveries/s to receivers\n`,
      );
      await target.settle();
    }
  } finally {
    await target.stop();
  }
}

const summary = [...new Set(rows.map((r) => r.target))].map((target) => {
  const pick = (tool: Row['tool']) => rows.filter((r) => r.target === target && r.tool === tool);
  const med = (rs: Row[], f: (r: Row) => number) => median(rs.map(f));
  const [fo, hb] = [pick('fanout'), pick('handoff bench')];
  return {
    target,
    fanoutDeliveriesPerSec: med(fo, (r) => r.receiverDeliveriesPerSec),
    benchDeliveriesPerSec: med(hb, (r) => r.receiverDeliveriesPerSec),
    ratio: med(hb, (r) => r.receiverDeliveriesPerSec) / med(fo, (r) => r.receiverDeliveriesPerSec),
    fanoutCpuUs: med(fo, (r) => r.testerCpuUsPerDelivery),
    benchCpuUs: med(hb, (r) => r.testerCpuUsPerDelivery),
    fanoutP99Us: med(fo, (r) => r.p99Us),
    benchP99Us: med(hb, (r) => r.p99Us),
    lost: [...fo, ...hb].reduce((a, r) => a + r.lost, 0),
    benchSaturated: hb.some((r) => r.saturated),
  };
});

const env = environment();
const load = rate > 0 ? `${fmtInt(rate)} msgs/s in all (open loop)` : `closed loop, window ${window}`;
const md = [
  '# The chat tester against the reference fan-out generator',
  '',
  `Same server for both, started once per target; ${receivers} receivers and ${senders} senders in one room, ` +
    `${formatSize(sizeBytes)}, ${load}, ${durationS} s windows after ${warmupS} s warm-up, one thread each, ` +
    `${rounds} rounds taking turns (fanout, bench, fanout, bench...). Deliveries/s to receivers (handoff's senders ` +
    `receive too, but that figure leaves them out, as it is the one to put beside NATS and Redis). Tester CPU per ` +
    `delivery: all its deliveries, senders' included. ${describeEnvironment(env)}.`,
  '',
  `Command: \`scripts/reference.sh chat-vs-fanout --targets ${values.targets} -r ${receivers} -s ${senders} -b ${values.size} -d ${durationS} --warmup ${warmupS} --rounds ${rounds} --server-workers ${serverWorkers} --rate ${values.rate}\``,
  '',
  markdownColumns(summary, [
    ['target', (s) => s.target],
    ['fanout deliveries/s', (s) => fmtInt(s.fanoutDeliveriesPerSec), true],
    ['bench deliveries/s', (s) => fmtInt(s.benchDeliveriesPerSec), true],
    ['bench / fanout', (s) => s.ratio.toFixed(2), true],
    ['fanout CPU-µs/delivery', (s) => s.fanoutCpuUs.toFixed(3), true],
    ['bench CPU-µs/delivery', (s) => s.benchCpuUs.toFixed(3), true],
    ['fanout p99', (s) => fmtUs(s.fanoutP99Us), true],
    ['bench p99', (s) => fmtUs(s.benchP99Us), true],
    ['lost', (s) => String(s.lost), true],
    ['bench saturated', (s) => (s.benchSaturated ? 'yes' : 'no')],
  ]),
  '',
  '## Every measurement',
  '',
  markdownColumns(rows, [
    ['round', (r) => String(r.round), true],
    ['target', (r) => r.target],
    ['tool', (r) => r.tool],
    ['deliveries/s to receivers', (r) => fmtInt(r.receiverDeliveriesPerSec), true],
    ['tester CPU-µs/delivery', (r) => r.testerCpuUsPerDelivery.toFixed(3), true],
    ['p50', (r) => fmtUs(r.p50Us), true],
    ['p99', (r) => fmtUs(r.p99Us), true],
    ['lost', (r) => String(r.lost), true],
    ['errors', (r) => String(r.errors), true],
  ]),
  '',
].join('\n');
const stem = rate > 0 ? 'chat-tester-vs-fanout-rate' : 'chat-tester-vs-fanout';
await saveReferenceReport(values.out, stem, md, { environment: env, options: values, summary, rows });
