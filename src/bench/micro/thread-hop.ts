/**
 * What one inter-thread hop costs, for chat mode's fan-out between worker threads:
 * thread A hands batches of delivery frames to thread B through
 *
 *   - port:      a MessagePort (MessageChannel, one end in each thread),
 *   - broadcast: a BroadcastChannel (what the server's chat bus uses),
 *   - sab:       a SharedArrayBuffer byte ring (single producer, single consumer;
 *                the consumer sleeps in Atomics.waitAsync when it is empty and the
 *                producer notifies only when it may be asleep),
 *
 * a batch being one byte array of N frames of 107 bytes (64-byte header +
 * `!MSG lobby 127.0.0.1:54321 ` + 16 bytes), or, for the two channels, N
 * objects { room, from, payload } (what structured cloning objects costs).
 * Closed loop with at most 8 batches unacknowledged (acks through an Atomics
 * counter, the same for every transport, so only the forward hop differs); per
 * thread CPU from process.threadCpuUsage(); and the one-way latency of a single
 * batch on an idle pipe. Rounds interleave the cases (A B C A B C) and the
 * report takes medians.
 *
 *   node src/bench/micro/thread-hop.ts [--seconds 2] [--rounds 3] [--json out.json] [--markdown out.md]
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isMainThread, MessageChannel, type MessagePort, parentPort, Worker, workerData } from 'node:worker_threads';
import { BroadcastChannel } from 'node:worker_threads';

const FRAME = Buffer.concat([
  Buffer.from('43'.padEnd(64, ' ')),
  Buffer.from('!MSG lobby 127.0.0.1:54321 '),
  Buffer.alloc(16, 0x61),
]);
const IN_FLIGHT = 8;
const RING_BYTES = 4 * 1024 * 1024;
const LATENCY_SAMPLES = 2000;

type Transport = 'port' | 'broadcast' | 'sab';
type Shape = 'bytes' | 'objects';
interface Case {
  transport: Transport;
  shape: Shape;
  frames: number;
}

interface Setup {
  role: 'producer' | 'consumer';
  case: Case;
  seconds: number;
  channel: string;
  port?: MessagePort;
  /** [acked batches, consumer waiting flag, ring write seq]. */
  control: SharedArrayBuffer;
  ring: SharedArrayBuffer;
  /** [write offset, read offset] of the ring, in bytes (monotonic). */
  offsets: SharedArrayBuffer;
}

interface Figures {
  batches: number;
  seconds: number;
  producerCpuUs: number;
  consumerCpuUs: number;
  latencyP50Us: number;
  latencyP99Us: number;
}

const ACKED = 0;
const WAITING = 1;
const SEQ = 2;

function cpuUs(): number {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}

function batchOf(c: Case, stampMs: number): unknown {
  if (c.shape === 'objects') {
    return Array.from({ length: c.frames }, (_, i) => ({
      room: 'lobby',
      from: '127.0.0.1:54321',
      payload: FRAME.subarray(FRAME.length - 16),
      stamp: i === 0 ? stampMs : 0,
    }));
  }
  const bytes = Buffer.allocUnsafeSlow(8 + FRAME.length * c.frames);
  bytes.writeDoubleLE(stampMs, 0);
  for (let i = 0; i < c.frames; i++) FRAME.copy(bytes, 8 + i * FRAME.length);
  return bytes;
}

function stampOf(message: unknown): number {
  if (Array.isArray(message)) return (message[0] as { stamp: number }).stamp;
  const bytes = message as Uint8Array;
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0, true);
}

const now = () => performance.timeOrigin + performance.now();

// ---------------------------------------------------------------- the SAB ring

class RingWriter {
  readonly #bytes: Uint8Array;
  readonly #offsets: BigInt64Array;
  readonly #control: Int32Array;
  constructor(setup: Setup) {
    this.#bytes = new Uint8Array(setup.ring);
    this.#offsets = new BigInt64Array(setup.offsets);
    this.#control = new Int32Array(setup.control);
  }
  /** Returns false when the ring is full (the closed loop keeps it from being). */
  write(record: Uint8Array): boolean {
    const size = this.#bytes.length;
    const w = Number(Atomics.load(this.#offsets, 0));
    const r = Number(Atomics.load(this.#offsets, 1));
    const need = 4 + record.length;
    if (size - (w - r) < need + size / 2) return false;
    const at = w % size;
    const view = new DataView(this.#bytes.buffer);
    if (at + need > size) {
      // Not enough room before the end: a zero length says "go back to the start".
      if (at + 4 <= size) view.setUint32(at, 0, true);
      const skipped = size - at;
      Atomics.store(this.#offsets, 0, BigInt(w + skipped));
      return this.write(record);
    }
    view.setUint32(at, record.length, true);
    this.#bytes.set(record, at + 4);
    Atomics.store(this.#offsets, 0, BigInt(w + need));
    Atomics.add(this.#control, SEQ, 1);
    if (Atomics.load(this.#control, WAITING) === 1) Atomics.notify(this.#control, SEQ);
    return true;
  }
}

async function readRing(setup: Setup, onRecord: (record: Uint8Array) => void, done: () => boolean): Promise<void> {
  const bytes = new Uint8Array(setup.ring);
  const view = new DataView(bytes.buffer);
  const offsets = new BigInt64Array(setup.offsets);
  const control = new Int32Array(setup.control);
  const size = bytes.length;
  while (!done()) {
    const seq = Atomics.load(control, SEQ);
    let r = Number(Atomics.load(offsets, 1));
    const w = Number(Atomics.load(offsets, 0));
    while (r < w) {
      const at = r % size;
      const length = at + 4 <= size ? view.getUint32(at, true) : 0;
      if (length === 0) {
        r += size - at; // the writer went back to the start
        continue;
      }
      onRecord(bytes.subarray(at + 4, at + 4 + length));
      r += 4 + length;
    }
    Atomics.store(offsets, 1, BigInt(r));
    Atomics.store(control, WAITING, 1);
    if (Number(Atomics.load(offsets, 0)) === r) {
      const wait = Atomics.waitAsync(control, SEQ, seq, 200);
      if (wait.async) await wait.value;
    }
    Atomics.store(control, WAITING, 0);
  }
}

// ---------------------------------------------------------------- the two threads

async function producer(setup: Setup): Promise<void> {
  const c = setup.case;
  const control = new Int32Array(setup.control);
  const channel = c.transport === 'broadcast' ? new BroadcastChannel(setup.channel) : null;
  const ring = c.transport === 'sab' ? new RingWriter(setup) : null;
  const send = (message: unknown) => {
    if (ring) while (!ring.write(message as Uint8Array));
    else if (channel) channel.postMessage(message);
    else setup.port!.postMessage(message);
  };
  const waitAcked = async (target: number) => {
    for (;;) {
      const acked = Atomics.load(control, ACKED);
      if (acked >= target) return;
      const w = Atomics.waitAsync(control, ACKED, acked, 1000);
      if (w.async) await w.value;
    }
  };
  // Latency first: one batch at a time on an idle pipe.
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    send(batchOf(c, now()));
    await waitAcked(i + 1);
  }
  // Then the closed loop.
  let sent = LATENCY_SAMPLES;
  const cpu0 = cpuUs();
  const start = performance.now();
  const end = start + setup.seconds * 1000;
  while (performance.now() < end) {
    send(batchOf(c, 0));
    sent++;
    await waitAcked(sent - IN_FLIGHT);
  }
  await waitAcked(sent);
  const seconds = (performance.now() - start) / 1000;
  send(c.transport === 'sab' ? new Uint8Array(4) : null); // the end (a 4-byte record on the ring)
  parentPort!.postMessage({ batches: sent - LATENCY_SAMPLES, seconds, producerCpuUs: cpuUs() - cpu0 });
  channel?.close();
}

async function consumer(setup: Setup): Promise<void> {
  const c = setup.case;
  const control = new Int32Array(setup.control);
  const latencies: number[] = [];
  let received = 0;
  let cpu0 = 0;
  let finished = false;
  const onBatch = (message: unknown) => {
    if (message === null) {
      finished = true;
      return;
    }
    received++;
    if (received <= LATENCY_SAMPLES) latencies.push((now() - stampOf(message)) * 1000);
    if (received === LATENCY_SAMPLES) cpu0 = cpuUs();
    Atomics.add(control, ACKED, 1);
    Atomics.notify(control, ACKED);
  };
  const ended = new Promise<void>((resolve) => {
    if (c.transport === 'sab') {
      void readRing(
        setup,
        (record) => onBatch(record.length === 4 ? null : record),
        () => finished,
      ).then(resolve);
      return;
    }
    const channel = c.transport === 'broadcast' ? new BroadcastChannel(setup.channel) : setup.port!;
    const handler = (event: unknown) => {
      onBatch((event as { data: unknown }).data);
      if (finished) {
        channel.close();
        resolve();
      }
    };
    if (channel instanceof BroadcastChannel) channel.onmessage = handler;
    else channel.on('message', (data: unknown) => handler({ data }));
  });
  parentPort!.postMessage('ready');
  await ended;
  latencies.sort((a, b) => a - b);
  parentPort!.postMessage({
    consumerCpuUs: cpuUs() - cpu0,
    latencyP50Us: latencies[Math.floor(latencies.length * 0.5)]!,
    latencyP99Us: latencies[Math.floor(latencies.length * 0.99)]!,
  });
}

// ---------------------------------------------------------------- main

async function runCase(c: Case, seconds: number, round: number): Promise<Figures> {
  const { port1, port2 } = new MessageChannel();
  const base = {
    case: c,
    seconds,
    channel: `hop-${process.pid}-${round}-${c.transport}-${c.shape}-${c.frames}`,
    control: new SharedArrayBuffer(12),
    ring: new SharedArrayBuffer(RING_BYTES),
    offsets: new SharedArrayBuffer(16),
  };
  const file = new URL(import.meta.url);
  const consumerThread = new Worker(file, {
    workerData: { ...base, role: 'consumer', port: port2 },
    transferList: [port2],
  });
  const consumerMessages = messages(consumerThread);
  await consumerMessages.next(); // ready
  const producerThread = new Worker(file, {
    workerData: { ...base, role: 'producer', port: port1 },
    transferList: [port1],
  });
  const [p, q] = await Promise.all([messages(producerThread).next(), consumerMessages.next()]);
  await Promise.all([producerThread.terminate(), consumerThread.terminate()]);
  return { ...(p.value as object), ...(q.value as object) } as Figures;
}

async function* messages(worker: Worker): AsyncGenerator<unknown> {
  const queue: unknown[] = [];
  let wake: (() => void) | null = null;
  worker.on('message', (m) => {
    queue.push(m);
    wake?.();
  });
  worker.on('error', (err) => {
    throw err;
  });
  for (;;) {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r));
    yield queue.shift();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '3' },
      json: { type: 'string' },
      markdown: { type: 'string' },
    },
  });
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  const cases: Case[] = [];
  for (const frames of [1, 16, 256]) {
    for (const transport of ['port', 'broadcast', 'sab'] as const) cases.push({ transport, shape: 'bytes', frames });
  }
  for (const transport of ['port', 'broadcast'] as const) cases.push({ transport, shape: 'objects', frames: 16 });
  const results = new Map<Case, Figures[]>(cases.map((c) => [c, []]));
  for (let round = 1; round <= rounds; round++) {
    for (const c of cases) {
      const f = await runCase(c, seconds, round);
      results.get(c)!.push(f);
      process.stderr.write(
        `round ${round} ${c.transport} ${c.shape} x${c.frames}: ${(f.batches / f.seconds).toFixed(0)} batches/s\n`,
      );
    }
  }
  const rows = cases.map((c) => {
    const fs = results.get(c)!;
    const batchesPerS = median(fs.map((f) => f.batches / f.seconds));
    const producerUs = median(fs.map((f) => f.producerCpuUs / f.batches));
    const consumerUs = median(fs.map((f) => f.consumerCpuUs / f.batches));
    return {
      ...c,
      batchesPerS,
      framesPerS: batchesPerS * c.frames,
      producerUsPerBatch: producerUs,
      consumerUsPerBatch: consumerUs,
      usPerFrame: (producerUs + consumerUs) / c.frames,
      latencyP50Us: median(fs.map((f) => f.latencyP50Us)),
      latencyP99Us: median(fs.map((f) => f.latencyP99Us)),
      rounds: fs,
    };
  });
  const table = [
    '| transport | batch | batches/s | frames/s | CPU-µs per batch, A + B | CPU-µs per frame | idle latency p50 / p99 |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (r) =>
        `| ${r.transport} | ${r.shape === 'bytes' ? `1 byte array of ${r.frames} frames` : `${r.frames} objects`} | ${r.batchesPerS.toFixed(0)} | ${r.framesPerS.toFixed(0)} | ${r.producerUsPerBatch.toFixed(1)} + ${r.consumerUsPerBatch.toFixed(1)} | ${r.usPerFrame.toFixed(2)} | ${r.latencyP50Us.toFixed(0)} / ${r.latencyP99Us.toFixed(0)} µs |`,
    ),
  ].join('\n');
  process.stdout.write(`${table}\n`);
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    seconds,
    rounds,
    inFlight: IN_FLIGHT,
    frameBytes: FRAME.length,
  };
  if (values.json) await writeFile(values.json, `${JSON.stringify({ meta, rows }, null, 2)}\n`);
  if (values.markdown) await writeFile(values.markdown, `${table}\n`);
}

if (isMainThread) {
  await main();
} else {
  // Atomics.waitAsync does not keep a thread's event loop alive: this timer does, until the end.
  const alive = setInterval(() => {}, 1000);
  if ((workerData as Setup).role === 'producer') await producer(workerData as Setup);
  else await consumer(workerData as Setup);
  clearInterval(alive);
}
