// Micro-benchmark of the inter-thread hop of the chat fan-out: worker A produces
// batches of `!MSG` frames for worker B, B consumes them, over three transports:
//
//   port       a MessageChannel, port1 transferred to A and port2 to B at start
//   broadcast  a BroadcastChannel of the same name opened in A and in B
//   sab-ring   a SharedArrayBuffer single-producer/single-consumer byte ring
//
// and three payload shapes:
//
//   bytes           one Uint8Array of N concatenated 107-byte frames (structured clone copies it)
//   bytes-transfer  the same, its ArrayBuffer in the transfer list (port only: BroadcastChannel cannot transfer)
//   objects         { room, from, payload }[] of N entries (port and broadcast only), to price cloning objects
//
// with N = 1, 16, 256 frames per batch. Each (transport, shape, N) run uses a
// fresh pair of workers and measures, in order:
//
//   1. throughput, closed loop: A keeps at most --window (64) batches unacknowledged.
//      B acknowledges through an Atomics counter in a SharedArrayBuffer, the same
//      for every transport, not through the channel under test: the server's hop
//      is one-way, and acks over a MessagePort would double its messages and wake-ups
//      and measure a round trip. A counter costs B one Atomics.add per batch. When the
//      window is full A posts a wake-up target (ack count = half a window in flight)
//      and parks with Atomics.waitAsync, so its event loop stays free; B notifies once,
//      when the count reaches that target. (Waking A on every ack would make the loop
//      a ping-pong of wake-ups, one per batch, that the server's one-way hop does not have.)
//      Why 64 and not 8: this VM takes 50-100 µs to wake a sleeping thread, and 8 small
//      batches are gone in less than that, so with 8 both threads sleep on every round
//      and the figures measure wake-ups (a 4x spread between rounds at N = 1); with 64
//      the pipe stays full. --window 8 shows that regime.
//      Figures: batches/s and frames/s received by B, and per-thread CPU
//      (process.threadCpuUsage() inside each worker) per batch and per frame for A
//      and for B, each over its own window between two marks sent by the main thread.
//   2. one-way latency on an idle pipe: A sleeps 1 ms (B has gone back to sleep),
//      stamps performance.timeOrigin + performance.now() into one batch and sends it;
//      B reads the same clock when it holds the batch. performance.timeOrigin is
//      process-wide in Node (the run checks that A and B see the same value). The
//      thread CPU of B over this phase, per batch, is what one hop costs a worker that
//      was asleep (wake-up included).
//
// The ring: records are a 4-byte length and the data, padded to 4 bytes; head and
// tail are byte positions modulo 2^32 in an Int32Array. The consumer drains what is
// there, copying each record out (the ring slot is reused, and a socket write needs
// bytes that stay put), then raises a "consumer waiting" flag, re-checks head and
// parks with Atomics.waitAsync; the producer calls Atomics.notify only when that flag
// is up. A full ring: the producer parks with Atomics.waitAsync on the tail (same
// flag protocol in the other direction) and retries the batch when woken. It neither
// spins (on two cores a spinning producer takes the consumer's core) nor blocks in
// Atomics.wait (that would stall the worker's event loop and its sockets). The default
// ring (smallest power of two holding a full window of the biggest batch: 2 MiB) is
// never filled by the closed loop; the run counts full-ring waits anyway (--ring-kib
// smaller to exercise them).
//
// The consumer's work is deliberately minimal (check the frame count, read the stamp,
// touch each object's fields): the figures are the hop's cost, not framing. The objects
// shape would also need B to encode the frames before writing them to its sockets; that
// is not counted.
//
// The runs are interleaved: every round runs every case, the transports side by side
// (port, broadcast, sab-ring, ...), and the report gives the median over the rounds.
//
//   node src/bench/micro/thread-hop.ts                        # ~1.5 min on 2 cores
//   node src/bench/micro/thread-hop.ts --seconds 2 --rounds 5 --json results/published/thread-hop.json
//   node src/bench/micro/thread-hop.ts --filter sab-ring       # only cases whose name contains it
//
// The parts (thread-hop/): wire.ts (the frame, the control slots, the messages), ring.ts,
// producer.ts (worker A), consumer.ts (worker B), worker.ts (their entry), peer.ts (the
// main thread's side of a worker), run-case.ts (one case's phases), report.ts.
import { parseArgs } from 'node:util';
import { type CaseSummary, micros, printReport, rate, saveJson, summarise } from './thread-hop/report.ts';
import { caseName, type HopOptions, type RunResult, runCase } from './thread-hop/run-case.ts';
import { Ring } from './thread-hop/ring.ts';
import { type CaseSpec, FRAME_BYTES, type Shape, type Transport } from './thread-hop/wire.ts';

const ALL_NS = [1, 16, 256] as const;
/** Per N, in this order: the three transports side by side on the byte shape, then the other shapes. */
const SHAPES: ReadonlyArray<[Transport, Shape]> = [
  ['port', 'bytes'],
  ['broadcast', 'bytes'],
  ['sab-ring', 'bytes'],
  ['port', 'bytes-transfer'],
  ['port', 'objects'],
  ['broadcast', 'objects'],
];

interface HopCommand {
  options: HopOptions;
  rounds: number;
  ringKib: number;
  cases: CaseSpec[];
  json: string | undefined;
}

/** The command line, checked once: every figure a number in range, the ring a power of two, the filter matching. */
function parseHopCommand(): HopCommand {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '3' },
      window: { type: 'string', default: '64' },
      'ring-kib': { type: 'string' },
      'latency-samples': { type: 'string', default: '300' },
      filter: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const num = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got ${v}`);
    return n;
  };
  const window = Math.floor(num('window', values.window, 1));
  const fullWindow = window * Ring.recordBytes(Math.max(...ALL_NS) * FRAME_BYTES);
  const ringKib =
    values['ring-kib'] === undefined
      ? 2 ** Math.ceil(Math.log2(fullWindow / 1024))
      : num('ring-kib', values['ring-kib'], 1);
  if (!Number.isInteger(Math.log2(ringKib))) throw new Error('--ring-kib must be a power of two');
  const options: HopOptions = {
    seconds: num('seconds', values.seconds, 0.1),
    warmupSeconds: 0.25,
    window,
    ringBytes: ringKib * 1024,
    latencySamples: Math.floor(num('latency-samples', values['latency-samples'], 10)),
    latencyGapMs: 1,
  };
  const rounds = Math.floor(num('rounds', values.rounds, 1));
  return { options, rounds, ringKib, cases: selectCases(values.filter), json: values.json };
}

function selectCases(filter: string | undefined): CaseSpec[] {
  const specs: CaseSpec[] = [];
  for (const n of ALL_NS) for (const [transport, shape] of SHAPES) specs.push({ transport, shape, n });
  const selected = filter ? specs.filter((s) => caseName(s).includes(filter)) : specs;
  if (selected.length === 0) throw new Error(`no case matches --filter ${filter}`);
  return selected;
}

/** Every round runs every case, so that the cases of one round are side by side. */
async function runRounds(c: HopCommand): Promise<Map<string, RunResult[]>> {
  const runs = new Map<string, RunResult[]>(c.cases.map((s) => [caseName(s), []]));
  for (let round = 1; round <= c.rounds; round++) {
    for (const spec of c.cases) {
      const r = await runCase(spec, round, c.options);
      runs.get(caseName(spec))!.push(r);
      process.stderr.write(
        `  round ${round} ${caseName(spec).padEnd(28)} ${rate(r.framesPerSecond, 'frames/s').padStart(15)}  A ${micros(r.aCpuUsPerFrame)}/frame  B ${micros(r.bCpuUsPerFrame)}/frame  idle p50 ${micros(r.latencyP50Us)}\n`,
      );
      if (!r.timeOriginsEqual) process.stderr.write('  warning: the threads do not share performance.timeOrigin\n');
    }
  }
  return runs;
}

async function main(): Promise<void> {
  const command = parseHopCommand();
  const { options: o, rounds } = command;
  if (rounds < 3) process.stderr.write('thread-hop: fewer than 3 rounds, the medians are weak\n');
  const started = Date.now();
  process.stderr.write(
    `thread-hop: ${command.cases.length} cases x ${rounds} rounds, ${o.seconds} s each + ${o.warmupSeconds} s warm-up + ${o.latencySamples} idle-latency samples, window ${o.window}, ring ${command.ringKib} KiB\n`,
  );
  const runs = await runRounds(command);
  const summaries: CaseSummary[] = command.cases.map((s) => summarise(s, runs.get(caseName(s))!));
  const run = { rounds, options: o, started, elapsedSeconds: (Date.now() - started) / 1000 };
  printReport(summaries, run);
  if (command.json) saveJson(command.json, summaries, run);
}

await main();
