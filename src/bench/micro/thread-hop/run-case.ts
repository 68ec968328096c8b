/**
 * One (transport, shape, N) case of the thread hop on a fresh pair of workers:
 * the closed-loop throughput window, the drain, the idle-pipe latency phase,
 * and what the marks taken around them say.
 */
import { MessageChannel } from 'node:worker_threads';
import { Peer } from './peer.ts';
import { Ring } from './ring.ts';
import { ACK, type CaseSpec, CONTROL_SLOTS, FRAME_BYTES, type Mark, sleep } from './wire.ts';

export interface RunResult {
  round: number;
  batchesPerSecond: number;
  framesPerSecond: number;
  aCpuUsPerBatch: number;
  bCpuUsPerBatch: number;
  aCpuUsPerFrame: number;
  bCpuUsPerFrame: number;
  /** Thread CPU time over wall time in the window, %. */
  aBusyPercent: number;
  bBusyPercent: number;
  /** process.cpuUsage() of the whole process (all threads, the idle main one included) per frame B received. */
  processCpuUsPerFrame: number;
  aNotifiesPerBatch: number;
  bNotifiesPerBatch: number;
  ringFullWaits: number;
  latencyP50Us: number;
  latencyP99Us: number;
  latencyMaxUs: number;
  /** Thread CPU per batch during the idle-latency phase (each batch finds the other side asleep). */
  aIdleCpuUsPerBatch: number;
  bIdleCpuUsPerBatch: number;
  latencyUs: number[];
  timeOriginsEqual: boolean;
}

export interface HopOptions {
  seconds: number;
  warmupSeconds: number;
  window: number;
  ringBytes: number;
  latencySamples: number;
  latencyGapMs: number;
}

export const LATENCY_DISCARD = 10;

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function caseName(c: CaseSpec): string {
  return `${c.transport} ${c.shape} N=${c.n}`;
}

/** The two workers of a case, B first so that its BroadcastChannel exists before A can post. */
function startPeers(spec: CaseSpec, round: number, o: HopOptions): { a: Peer; b: Peer; control: SharedArrayBuffer } {
  const control = new SharedArrayBuffer(CONTROL_SLOTS * 4);
  const ring = spec.transport === 'sab-ring' ? new SharedArrayBuffer(o.ringBytes) : null;
  if (ring && Ring.recordBytes(spec.n * FRAME_BYTES) > o.ringBytes)
    throw new Error('--ring-kib too small for N=' + spec.n);
  const channelName = `thread-hop-${process.pid}-${round}-${caseName(spec)}`;
  const channel = spec.transport === 'port' ? new MessageChannel() : null;
  const common = { spec, control, ring, channelName, window: o.window };
  const b = new Peer({ ...common, role: 'B', port: channel?.port2 ?? null });
  const a = new Peer({ ...common, role: 'A', port: channel?.port1 ?? null });
  return { a, b, control };
}

/** A's and B's marks at one moment, and the whole process's CPU (µs) just before. */
async function marks(a: Peer, b: Peer): Promise<[Mark, Mark, number]> {
  const cpu = process.cpuUsage();
  a.send({ type: 'mark' });
  b.send({ type: 'mark' });
  const [ma, mb] = await Promise.all([a.take('mark'), b.take('mark')]);
  return [ma, mb, cpu.user + cpu.system];
}

/** The marks around the closed loop's window: [A, B, process CPU] at its start and at its end. */
interface ThroughputWindow {
  start: [Mark, Mark, number];
  end: [Mark, Mark, number];
}

/** The closed loop: warm-up, the measured window, then A stops and B drains every batch A sent. */
async function measureThroughput(a: Peer, b: Peer, control: SharedArrayBuffer, spec: CaseSpec, o: HopOptions) {
  a.send({ type: 'run' });
  await sleep(o.warmupSeconds * 1000);
  const start = await marks(a, b);
  await sleep(o.seconds * 1000);
  const end = await marks(a, b);
  a.send({ type: 'stop' });
  const { sent } = await a.take('stopped');
  const ack = new Int32Array(control);
  const drainDeadline = Date.now() + 10_000;
  while (Atomics.load(ack, ACK) < sent) {
    if (Date.now() > drainDeadline) throw new Error(`${caseName(spec)}: B did not drain`);
    await sleep(5);
  }
  return { start, end } satisfies ThroughputWindow;
}

/** The idle pipe: stamped batches one at a time; the marks around the phase and B's one-way latencies. */
async function measureIdleLatency(a: Peer, b: Peer, o: HopOptions) {
  const [a2, b2] = await marks(a, b);
  a.send({ type: 'latency', samples: o.latencySamples + LATENCY_DISCARD, gapMs: o.latencyGapMs });
  await a.take('latency-done', 60_000);
  const [a3, b3] = await marks(a, b);
  b.send({ type: 'latencies' });
  const { us } = await b.take('latencies');
  return { a2, b2, a3, b3, latencyUs: us.slice(LATENCY_DISCARD) };
}

type IdlePhase = Awaited<ReturnType<typeof measureIdleLatency>>;

function resultOf(spec: CaseSpec, round: number, w: ThroughputWindow, idle: IdlePhase, timeOriginsEqual: boolean) {
  const [a0, b0, p0] = w.start;
  const [a1, b1, p1] = w.end;
  const { a2, b2, a3, b3, latencyUs } = idle;
  const sorted = latencyUs.slice().sort((x, y) => x - y);
  const aBatches = a1.batches - a0.batches;
  const bBatches = b1.batches - b0.batches;
  const bFrames = b1.frames - b0.frames;
  const aWallUs = (a1.t - a0.t) * 1000;
  const bWallUs = (b1.t - b0.t) * 1000;
  return {
    round,
    batchesPerSecond: bBatches / (bWallUs / 1e6),
    framesPerSecond: bFrames / (bWallUs / 1e6),
    aCpuUsPerBatch: (a1.cpuUs - a0.cpuUs) / aBatches,
    bCpuUsPerBatch: (b1.cpuUs - b0.cpuUs) / bBatches,
    aCpuUsPerFrame: (a1.cpuUs - a0.cpuUs) / (aBatches * spec.n),
    bCpuUsPerFrame: (b1.cpuUs - b0.cpuUs) / bFrames,
    aBusyPercent: (100 * (a1.cpuUs - a0.cpuUs)) / aWallUs,
    bBusyPercent: (100 * (b1.cpuUs - b0.cpuUs)) / bWallUs,
    processCpuUsPerFrame: (p1 - p0) / bFrames,
    aNotifiesPerBatch: (a1.notifies - a0.notifies) / aBatches,
    bNotifiesPerBatch: (b1.notifies - b0.notifies) / bBatches,
    ringFullWaits: a1.ringFullWaits,
    latencyP50Us: percentile(sorted, 50),
    latencyP99Us: percentile(sorted, 99),
    latencyMaxUs: sorted[sorted.length - 1] ?? NaN,
    aIdleCpuUsPerBatch: (a3.cpuUs - a2.cpuUs) / (a3.batches - a2.batches),
    bIdleCpuUsPerBatch: (b3.cpuUs - b2.cpuUs) / (b3.batches - b2.batches),
    latencyUs: latencyUs.map((v) => Math.round(v * 10) / 10),
    timeOriginsEqual,
  } satisfies RunResult;
}

/** One case on a fresh pair of workers: the closed-loop window, then the idle-pipe latency. */
export async function runCase(spec: CaseSpec, round: number, o: HopOptions): Promise<RunResult> {
  const { a, b, control } = startPeers(spec, round, o);
  try {
    const [readyA, readyB] = await Promise.all([a.take('ready'), b.take('ready')]);
    const timeOriginsEqual = readyA.timeOrigin === readyB.timeOrigin && readyA.timeOrigin === performance.timeOrigin;
    const window = await measureThroughput(a, b, control, spec, o);
    const idle = await measureIdleLatency(a, b, o);
    return resultOf(spec, round, window, idle, timeOriginsEqual);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
}
