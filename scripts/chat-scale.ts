/**
 * The chat scale table (issue 17): handoff chat servers on each bus, 1, 2 and 4 of them,
 * measured with the bench's own chat mode (`npm run bench -- --mode chat --servers N --bus B`,
 * which starts the servers and the bus on free loopback ports and stops them).
 *
 *   flock /tmp/handoff-heavy.lock node_modules/.bin/node scripts/chat-scale.ts [--seconds 3]
 *     [--rooms-rate 1000] [--hot-rate 100] [--max-rate 20000] [--max-rounds 3] [--max-only] [--save]
 *
 * Cells: every bus (local with 1 server only; redis, redis-cluster, nats with 1, 2, 4) x two
 * workloads (100 rooms of 50 members, 1 sender each; one hot room of 500 members, 10 senders)
 * x 16 B and 1 KiB, at a fixed total send rate (--rooms-rate, --hot-rate messages/s). Per cell:
 * deliveries/s, p50/p99 delivery latency, lost, and the CPU per delivery of the handoff servers
 * and of the bus processes apart (utime + stime from /proc over the measured window, divided by
 * the deliveries of the window, sender copies included), and from those the projected
 * deliveries/s one core of handoff or of the bus could carry (1e6 / CPU-µs per delivery).
 * Then the hot-room goal: one hot room of 500, 2 servers, 16 B, at --max-rate (more than this
 * machine carries, so the figure is what it saturates at), on redis, redis-cluster and nats,
 * taking turns for --max-rounds rounds in this run; the median of each (--max-only: these cells alone).
 * --save writes results/published/<time>-chat-scale.{json,md}.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { runChatBench } from '../src/bench/load/chat/run.ts';
import { type BenchOptions, resolveBenchOptions } from '../src/bench/options.ts';
import type { BenchBus, ChatMeasurement } from '../src/bench/results/chat-result.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    'rooms-rate': { type: 'string', default: '1000' },
    'hot-rate': { type: 'string', default: '100' },
    'max-rate': { type: 'string', default: '20000' },
    'max-rounds': { type: 'string', default: '3' },
    only: { type: 'string', default: '' },
    'max-only': { type: 'boolean', default: false },
    save: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(values.seconds);
const ROOMS_RATE = Number(values['rooms-rate']);
const HOT_RATE = Number(values['hot-rate']);
const MAX_RATE = Number(values['max-rate']);
const MAX_ROUNDS = Number(values['max-rounds']);

const WORKLOADS = [
  { name: '100 rooms of 50', clients: 5000, senders: 100, rooms: 100, rate: ROOMS_RATE },
  { name: 'hot room of 500', clients: 500, senders: 10, rooms: 1, rate: HOT_RATE },
] as const;
const CONFIGS: Array<{ bus: BenchBus; servers: number }> = [
  { bus: 'local', servers: 1 },
  ...(['redis', 'redis-cluster', 'nats'] as const).flatMap((bus) => [1, 2, 4].map((servers) => ({ bus, servers }))),
].filter((c) => !values.only || values.only.split(',').includes(c.bus));

const commit = () => {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
};
const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const load = () =>
  os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

interface Cell {
  workload: string;
  bus: BenchBus;
  servers: number;
  sizeBytes: number;
  rate: number;
  round: number;
  sentPerS: number;
  deliveriesPerS: number;
  p50Us: number;
  p99Us: number;
  lost: number;
  errors: number;
  handoffCpuUsPerDelivery: number | null;
  busCpuUsPerDelivery: number | null;
  testerSaturated: boolean;
  machineBusy: number;
  loadBefore: string;
}

function cellOf(m: ChatMeasurement, workload: string, round: number, loadBefore: string): Cell {
  const deliveries = m.deliveriesPerSec.all * m.windowSeconds;
  const cpuOf = (handoff: boolean) => {
    const mine = (m.server?.processes ?? []).filter((p) => p.name.startsWith('handoff') === handoff);
    if (mine.length === 0) return null;
    if (mine.some((p) => typeof p.cpuSeconds !== 'number')) return null;
    return (mine.reduce((a, p) => a + p.cpuSeconds!, 0) * 1e6) / deliveries;
  };
  return {
    workload,
    bus: m.bus!,
    servers: m.servers!,
    sizeBytes: m.sizeBytes,
    rate: m.rate,
    round,
    sentPerS: m.sent.perSec,
    deliveriesPerS: m.deliveriesPerSec.all,
    p50Us: m.latencyUs.p50,
    p99Us: m.latencyUs.p99,
    lost: m.check.lostTotal,
    errors: m.errors.total,
    handoffCpuUsPerDelivery: cpuOf(true),
    busCpuUsPerDelivery: cpuOf(false),
    testerSaturated: m.tester.saturated,
    machineBusy: m.tester.machineBusy,
    loadBefore,
  };
}

async function run(
  workload: (typeof WORKLOADS)[number],
  config: { bus: BenchBus; servers: number },
  sizes: number[],
  rate: number,
): Promise<ChatMeasurement[]> {
  const options: BenchOptions = {
    mode: 'chat',
    clients: workload.clients,
    senders: workload.senders,
    rooms: workload.rooms,
    servers: config.servers,
    bus: config.bus,
    serverWorkers: 1,
    sizes,
    rate,
    durationS: SECONDS,
    warmupS: 1,
    timeoutS: 3,
    connectTimeoutS: 20,
    out: '',
    progress: false,
  };
  const result = await runChatBench(resolveBenchOptions(options), {});
  return result.measurements;
}

const cells: Cell[] = [];
const maxCells: Cell[] = [];
const started = new Date();
const loadAtStart = load();
for (const workload of values['max-only'] ? [] : WORKLOADS) {
  for (const config of CONFIGS) {
    const loadBefore = load();
    for (const m of await run(workload, config, [16, 1024], workload.rate)) {
      const cell = cellOf(m, workload.name, 1, loadBefore);
      cells.push(cell);
      console.log(JSON.stringify(cell));
    }
  }
}
const hot = WORKLOADS[1];
const maxBuses = (['redis', 'redis-cluster', 'nats'] as const).filter((b) => !values.only || values.only.includes(b));
for (let round = 1; round <= MAX_ROUNDS; round++) {
  for (let k = 0; k < maxBuses.length; k++) {
    const bus = maxBuses[(k + round - 1) % maxBuses.length]!; // a different order each round
    const loadBefore = load();
    const [m] = await run(hot, { bus, servers: 2 }, [16], MAX_RATE);
    const cell = cellOf(m!, `${hot.name}, max rate`, round, loadBefore);
    maxCells.push(cell);
    console.log(JSON.stringify(cell));
  }
}

const n = (x: number) => Math.round(x).toLocaleString('en-US');
const us = (x: number | null, digits = 2) => (x === null || Number.isNaN(x) ? '-' : x.toFixed(digits));
const perCore = (x: number | null) => (x === null || x <= 0 ? '-' : `${n(1e6 / x)}`);
const ms = (x: number) => (x / 1000).toFixed(1);
const size = (b: number) => (b === 1024 ? '1 KiB' : `${b} B`);
const lines = [
  '# Chat on several servers: the scale table',
  '',
  `Measured ${started.toISOString()} on ${os.cpus()[0]?.model ?? 'cpu'} (${os.availableParallelism()} cores, shared: load average ${loadAtStart} at the start), Node ${process.version}, commit ${commit()}.`,
  '',
  `Command: \`flock /tmp/handoff-heavy.lock node_modules/.bin/node scripts/chat-scale.ts --seconds ${SECONDS} --rooms-rate ${ROOMS_RATE} --hot-rate ${HOT_RATE} --max-rate ${MAX_RATE} --max-rounds ${MAX_ROUNDS}${values['max-only'] ? ' --max-only' : ''}${values.only ? ` --only ${values.only}` : ''} --save\`;`,
  `each cell is what \`npm run bench -- --mode chat --servers N --bus B --server-workers 1 -c C --senders S --rooms R --rate X -s 16,1k -d ${SECONDS} --warmup 1\` measures.`,
  '',
  `Workloads: 100 rooms of 50 members (1 sender and 49 receivers each, ${n(ROOMS_RATE)} messages/s in all, 49 deliveries each) and one hot room of 500 (10 senders, ${n(HOT_RATE)} messages/s, 499 deliveries each). Each server has 1 worker thread; each room's members are spread over the servers in turn, so with 2 or more servers nearly every message crosses the bus. One ${SECONDS} s window per cell after 1 s at rate, one round: cells are single measurements on a shared 2-core machine that also runs the load tester, so read the CPU figures as a guide (they move between runs: see docs/several-servers.md), the latencies as noisy, and throughput at a fixed rate as just the rate carried.`,
  '',
  'CPU per delivery is utime + stime of the processes from /proc (10 ms ticks) over the window divided by every delivery in it (sender copies included); handoff is all its servers together, the bus all its processes (1 redis-server, 3 masters, 3 nats-servers). Per core: the deliveries/s one core of that side would carry at that cost (1e6 / CPU-µs per delivery), the way docs/performance.md projects the acceptor.',
  '',
];
if (cells.length > 0) {
  lines.push(
    '| workload | bus | servers | size | sent/s | deliveries/s | p50 ms | p99 ms | lost | handoff CPU-µs/delivery | bus CPU-µs/delivery | per core: handoff | per core: bus | load before |',
    '| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  );
}
for (const c of cells) {
  lines.push(
    `| ${c.workload} | ${c.bus} | ${c.servers} | ${size(c.sizeBytes)} | ${n(c.sentPerS)} | ${n(c.deliveriesPerS)} | ${ms(c.p50Us)} | ${ms(c.p99Us)} | ${c.lost}${c.errors ? ` (${c.errors} errors)` : ''} | ${us(c.handoffCpuUsPerDelivery)} | ${us(c.busCpuUsPerDelivery)} | ${perCore(c.handoffCpuUsPerDelivery)} | ${perCore(c.busCpuUsPerDelivery)} | ${c.loadBefore} |`,
  );
}
lines.push(
  '',
  `## The hot-room goal: 2 servers, one room of 500, 16 B, sent at up to ${n(MAX_RATE)} messages/s`,
  '',
  `More than this machine carries: the senders' window caps what is in flight, so deliveries/s is where it saturates (and losses, if any, are receivers cut off for reading too slowly). The buses took turns, ${MAX_ROUNDS} rounds, medians; the ratio is to one redis-server in this run.`,
  '',
  '| bus | deliveries/s (median) | rounds | vs redis | p99 ms | lost | handoff CPU-µs/delivery | bus CPU-µs/delivery | load tester saturated | machine busy |',
  '| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | --- |',
);
const maxOf = (bus: BenchBus) => maxCells.filter((c) => c.bus === bus);
const redisMax = maxOf('redis').length ? median(maxOf('redis').map((c) => c.deliveriesPerS)) : NaN;
for (const bus of maxBuses) {
  const mine = maxOf(bus);
  const med = median(mine.map((c) => c.deliveriesPerS));
  lines.push(
    `| ${bus} | ${n(med)} | ${mine.map((c) => n(c.deliveriesPerS)).join(', ')} | ${(med / redisMax).toFixed(2)}x | ${ms(median(mine.map((c) => c.p99Us)))} | ${mine.reduce((a, c) => a + c.lost, 0)} | ${us(median(mine.map((c) => c.handoffCpuUsPerDelivery ?? NaN)))} | ${us(median(mine.map((c) => c.busCpuUsPerDelivery ?? NaN)), 4)} | ${mine.map((c) => (c.testerSaturated ? 'yes' : 'no')).join(', ')} | ${mine.map((c) => `${Math.round(100 * c.machineBusy)}%`).join(', ')} |`,
  );
}
lines.push('', `Load average at the end: ${load()}.`);
console.log(lines.join('\n'));
if (values.save) {
  const stamp = started
    .toISOString()
    .replace(/:/g, '-')
    .replace(/\.\d+Z$/, 'Z');
  const base = new URL(`../results/published/${stamp}-chat-scale`, import.meta.url);
  const settings = {
    seconds: SECONDS,
    roomsRate: ROOMS_RATE,
    hotRate: HOT_RATE,
    maxRate: MAX_RATE,
    maxRounds: MAX_ROUNDS,
  };
  writeFileSync(`${base.pathname}.json`, `${JSON.stringify({ settings, cells, maxCells }, null, 2)}\n`);
  writeFileSync(`${base.pathname}.md`, `${lines.join('\n')}\n`);
  console.log(`saved ${base.pathname}.md`);
}
