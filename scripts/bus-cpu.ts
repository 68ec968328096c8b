/**
 * CPU per delivery of each bus service (issue 17, first measurement): one redis-server, a
 * 3-master Redis Cluster (sharded pub/sub), a 3-node NATS cluster, each driven through its
 * ServerBus implementation (src/server/chat/bus-*.ts) by 2 publishing and 2 subscribing bus
 * instances in this process ("servers"), at a fixed rate. The CPU of the service processes
 * (utime + stime from /proc, summed over a cluster's processes) is divided by the deliveries
 * the subscribers received in the window. Rounds interleave the buses (A B C, B C A, ...);
 * the table shows medians and the ratio to one redis-server taken in the same run.
 *
 *   flock /tmp/handoff-heavy.lock node scripts/bus-cpu.ts [--rate 4000] [--seconds 4] [--rounds 3] [--bytes 100] [--save]
 *
 * --rate is publishes per second per publisher; each publish reaches both subscribers.
 * Each round also measures each bus idle (heartbeats, cluster gossip, slot-map refreshes):
 * "net" is the CPU per delivery with that idle CPU taken out.
 * Two shapes: 100 rooms (the publishes spread over them) and one hot room. --save writes
 * results/published/<time>-bus-cpu-per-delivery.{json,md}.
 *
 * The services are started with the test helpers (test/helpers/), on free loopback ports.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import type { TestContext } from 'node:test';
import { parseArgs } from 'node:util';
import { createNatsBus } from '../src/server/chat/bus-nats.ts';
import { createRedisClusterBus } from '../src/server/chat/bus-redis-cluster.ts';
import { createRedisBus } from '../src/server/chat/bus-redis.ts';
import type { BusKind, ServerBus, ServerBusHandlers } from '../src/server/chat/server-bus.ts';
import { startNatsCluster } from '../test/helpers/nats-cluster.ts';
import { startRedisCluster } from '../test/helpers/redis-cluster.ts';
import { startRedis } from '../test/helpers/redis.ts';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '4000' },
    seconds: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    bytes: { type: 'string', default: '100' },
    save: { type: 'boolean', default: false },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const BYTES = Number(values.bytes);
const WARMUP_MS = 1_000;
const TICK_MS = 10;
const SHAPES = [
  { name: '100 rooms', rooms: Array.from({ length: 100 }, (_, i) => `room${i}`) },
  { name: 'one hot room', rooms: ['hot'] },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TICK_US = 1e6 / 100; // /proc/<pid>/stat counts in clock ticks of 1/100 s (getconf CLK_TCK)
function cpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_US; // utime, stime
}
const commit = () => {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const cleanups: Array<() => unknown> = [];
const context = { after: (fn: () => unknown) => cleanups.push(fn) } as unknown as TestContext;

interface Side {
  kind: BusKind;
  pids: number[];
  publishers: ServerBus[];
  subscribers: ServerBus[];
  received: number;
}

async function side(kind: BusKind, pids: number[], make: (handlers: ServerBusHandlers, i: number) => ServerBus) {
  const s: Side = { kind, pids, publishers: [], subscribers: [], received: 0 };
  const counting: ServerBusHandlers = { onBatch: () => void s.received++, onMembersGone() {}, onState() {} };
  const quiet: ServerBusHandlers = { onBatch() {}, onMembersGone() {}, onState() {} };
  for (let i = 0; i < 2; i++) s.publishers.push(make(quiet, i));
  for (let i = 0; i < 2; i++) s.subscribers.push(make(counting, i + 2));
  for (const bus of [...s.publishers, ...s.subscribers]) {
    cleanups.unshift(() => bus.stop());
    await bus.start();
    if (bus.state !== 'up') throw new Error(`${kind} bus did not come up`);
  }
  return s;
}

const redis = await startRedis(context);
const cluster = await startRedisCluster(context);
const nats = await startNatsCluster(context);
const sides = [
  await side('redis', [redis.child.pid!], (h) => createRedisBus({ url: redis.url }, h)),
  await side(
    'redis-cluster',
    cluster.nodes.map((n) => n.child.pid!),
    (h) => createRedisClusterBus({ nodes: cluster.seeds }, h),
  ),
  // Publishers on node 0, subscribers on nodes 1 and 2: deliveries cross the routes.
  await side(
    'nats',
    nats.nodes.map((n) => n.child.pid!),
    (h, i) => createNatsBus({ servers: [nats.url(i < 2 ? 0 : i - 1)] }, h),
  ),
];

interface Row {
  kind: BusKind;
  shape: string;
  round: number;
  deliveriesPerS: number;
  busCpuUsPerDelivery: number;
  netCpuUsPerDelivery: number;
  idleCpuMsPerS: number;
  busiestShare: number;
  clientCpuUsPerDelivery: number;
  lost: number;
}

/** The bus processes' CPU per second with no traffic, over one measurement's length. */
async function idleMsPerS(s: Side): Promise<number> {
  const cpu0 = s.pids.map(cpuUs);
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const used = s.pids.map(cpuUs).reduce((a, c, i) => a + c - cpu0[i]!, 0);
  return used / 1000 / ((performance.now() - t0) / 1000);
}

async function measure(s: Side, shape: (typeof SHAPES)[number], round: number, idle: number): Promise<Row> {
  for (const bus of s.subscribers) await Promise.all(shape.rooms.map((room) => bus.subscribe(room)));
  const batch = Buffer.alloc(BYTES, 0x61);
  let published = 0;
  let room = 0;
  const perTick = Math.max(1, Math.round((RATE * TICK_MS) / 1000));
  const timer = setInterval(() => {
    for (let i = 0; i < perTick; i++) {
      for (const bus of s.publishers) bus.publish(shape.rooms[room++ % shape.rooms.length]!, batch);
      published += s.publishers.length;
    }
  }, TICK_MS);
  const receivedBefore = s.received;
  await sleep(WARMUP_MS);
  const cpu0 = s.pids.map(cpuUs);
  const client0 = process.cpuUsage();
  const got0 = s.received;
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const cpu1 = s.pids.map(cpuUs);
  const client = process.cpuUsage(client0);
  const deliveries = s.received - got0;
  const elapsedS = (performance.now() - t0) / 1000;
  clearInterval(timer);
  await sleep(300); // the drain
  const lost = published * s.subscribers.length - (s.received - receivedBefore);
  for (const bus of s.subscribers) await Promise.all(shape.rooms.map((r) => bus.unsubscribe(r)));
  const used = cpu1.map((c, i) => c - cpu0[i]!);
  const total = used.reduce((a, b) => a + b, 0);
  return {
    kind: s.kind,
    shape: shape.name,
    round,
    deliveriesPerS: Math.round(deliveries / elapsedS),
    busCpuUsPerDelivery: total / deliveries,
    netCpuUsPerDelivery: (total - idle * 1000 * elapsedS) / deliveries,
    idleCpuMsPerS: idle,
    busiestShare: total > 0 ? Math.max(...used) / total : 0,
    clientCpuUsPerDelivery: (client.user + client.system) / deliveries,
    lost,
  };
}

const rows: Row[] = [];
try {
  for (let round = 1; round <= ROUNDS; round++) {
    const idle = new Map<BusKind, number>();
    for (const s of sides) idle.set(s.kind, await idleMsPerS(s));
    for (const shape of SHAPES) {
      for (let k = 0; k < sides.length; k++) {
        const s = sides[(k + round - 1) % sides.length]!; // a different order each round
        const row = await measure(s, shape, round, idle.get(s.kind)!);
        rows.push(row);
        console.log(JSON.stringify(row));
      }
    }
  }
} finally {
  for (const fn of cleanups) await fn();
}

const fmt = (x: number, digits = 2) => x.toFixed(digits);
const lines = [
  `# CPU per delivery of each bus service`,
  '',
  `2 publishing and 2 subscribing bus instances per bus, ${RATE} publishes/s per publisher of ${BYTES} B, each reaching both subscribers; ${SECONDS} s per measurement after ${WARMUP_MS / 1000} s at rate; ${ROUNDS} rounds, the buses interleaved. Medians over rounds.`,
  '',
  `Node ${process.version}, ${os.cpus()[0]?.model ?? 'cpu'} (${os.availableParallelism()} cores), ${new Date().toISOString()}, commit ${commit()}. Command: \`node scripts/bus-cpu.ts --rate ${RATE} --seconds ${SECONDS} --rounds ${ROUNDS} --bytes ${BYTES}\`.`,
  '',
  'Bus CPU is the service processes (redis-server; the 3 masters; the 3 nats-servers), summed; "busiest" is the share of the busiest of them. Client CPU is this whole process (the 4 bus instances). /proc counts in 10 ms ticks.',
  '',
  '| bus | shape | deliveries/s | bus CPU-µs/delivery | net of idle | net vs one redis-server | idle bus CPU ms/s | busiest process | client CPU-µs/delivery | lost |',
  '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];
for (const shape of SHAPES) {
  const of = (kind: BusKind) => rows.filter((r) => r.kind === kind && r.shape === shape.name);
  const base = median(of('redis').map((r) => r.netCpuUsPerDelivery));
  for (const s of sides) {
    const mine = of(s.kind);
    const med = (pick: (r: Row) => number) => median(mine.map(pick));
    const net = med((r) => r.netCpuUsPerDelivery);
    lines.push(
      `| ${s.kind} | ${shape.name} | ${Math.round(med((r) => r.deliveriesPerS)).toLocaleString('en-US')} | ${fmt(med((r) => r.busCpuUsPerDelivery))} | ${fmt(net)} | ${fmt(net / base)}x | ${fmt(
        med((r) => r.idleCpuMsPerS),
        1,
      )} | ${Math.round(100 * med((r) => r.busiestShare))}% | ${fmt(med((r) => r.clientCpuUsPerDelivery))} | ${mine.reduce((a, r) => a + r.lost, 0)} |`,
    );
  }
}
console.log(lines.join('\n'));
if (values.save) {
  const stamp = new Date()
    .toISOString()
    .replace(/:/g, '-')
    .replace(/\.\d+Z$/, 'Z');
  const base = new URL(`../results/published/${stamp}-bus-cpu-per-delivery`, import.meta.url);
  writeFileSync(
    `${base.pathname}.json`,
    `${JSON.stringify({ rate: RATE, seconds: SECONDS, rounds: ROUNDS, bytes: BYTES, rows }, null, 2)}\n`,
  );
  writeFileSync(`${base.pathname}.md`, `${lines.join('\n')}\n`);
  console.log(`saved ${base.pathname}.md`);
}
