// Micro-benchmarks of the wire codec: header encode/parse and the streaming
// FrameDecoder at each message size and header size, fed whole frames, frames cut
// into TCP-segment-sized and 64-byte pieces, and many frames per chunk.
//
//   npm run bench:codec                    # default run (well under a minute)
//   npm run bench:codec -- --time 1000     # longer per task, tighter error bars
//   npm run bench:codec -- --filter decode # only tasks whose name contains "decode"
//   npm run bench:codec -- --no-save       # print only
//   npm run bench:codec -- --out results/published   # where scripts/publish-results.sh keeps it
//
// Saves <out>/codec-<timestamp>.json and <out>/codec-latest.md (out: results/, which git ignores).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Bench, type Task } from 'tinybench';
import { number, parseNumber } from '../../options/validators.ts';
import { encodeFrame, FrameDecoder, InvalidOptionError, parseHeader, writeHeader } from '../../protocol/index.ts';
import { formatSize } from '../shared/format.ts';
import { codecMarkdown, type CodecTableRow, codecText } from './codec-table.ts';
import { type Environment, environment } from '../shared/system.ts';

const SIZES = [16, 256, 1024, 4096, 64 * 1024, 1024 * 1024] as const;
const HEADER_SIZES = [64, 8] as const;
/** A typical loopback/Ethernet TCP segment payload (MSS 1448 with timestamps). */
const SEGMENT = 1448;
const SMALL_PIECE = 64;
/** Each decode iteration carries at least this much payload, so timer overhead is negligible. */
const PAYLOAD_PER_ITERATION = 256 * 1024;
/** Header calls per iteration of the header tasks. */
const HEADER_CALLS = 1000;

type Chunking = 'whole frames' | '1448 B pieces' | '64 B pieces' | 'many frames/chunk' | '-';

interface Case {
  name: string;
  group: 'header encode' | 'header parse' | 'decode';
  payloadBytes: number;
  headerBytes: number;
  chunking: Chunking;
  /** Frames (or header calls) per iteration. */
  framesPerIteration: number;
  /** Payload bytes per iteration (0 for the header tasks). */
  bytesPerIteration: number;
  fn: () => void;
}

/** rmePercent: relative margin of error of the iteration latency, in %. */
export interface CodecRow extends CodecTableRow {
  name: string;
  samples: number;
  state: string;
}

function cut(stream: Buffer, piece: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < stream.length; i += piece) out.push(stream.subarray(i, i + piece));
  return out;
}

/** Written by every task so that no work can be optimised away. */
export const sink = { value: 0 };

function headerCases(size: number, headerBytes: number): Case[] {
  const target = Buffer.alloc(headerBytes);
  writeHeader(target, 0, size, headerBytes);
  const header = Buffer.from(target);
  // Some parse inputs with spaces before the digits and leading zeros, as a lenient receiver sees them.
  const padded = Buffer.from(`  00${size}`.padEnd(headerBytes, ' '), 'latin1');
  const useful = padded.length === headerBytes ? padded : header;
  const common = {
    payloadBytes: size,
    headerBytes,
    chunking: '-' as const,
    framesPerIteration: HEADER_CALLS,
    bytesPerIteration: 0,
  };
  return [
    {
      ...common,
      name: `header encode ${formatSize(size)} H=${headerBytes}`,
      group: 'header encode',
      fn: () => {
        for (let i = 0; i < HEADER_CALLS; i++) writeHeader(target, 0, size, headerBytes);
        sink.value += target[0]!;
      },
    },
    {
      ...common,
      name: `header parse ${formatSize(size)} H=${headerBytes}`,
      group: 'header parse',
      fn: () => {
        let s = 0;
        for (let i = 0; i < HEADER_CALLS; i++) s += parseHeader(i & 1 ? useful : header, 0, headerBytes, 1 << 30);
        sink.value += s;
      },
    },
  ];
}

function decodeCases(size: number, headerBytes: number): Case[] {
  const payload = Buffer.alloc(size, 0x61);
  const frame = encodeFrame(payload, headerBytes);
  // At least 4 frames, so that the 'many frames/chunk' layout has several even at 1 MiB.
  const framesPerIteration = Math.max(4, Math.ceil(PAYLOAD_PER_ITERATION / size));
  let received = 0;
  const decoder = new FrameDecoder(
    { headerBytes, maxMessageBytes: 1 << 30 },
    (p) => {
      received += p.length;
    },
    (err) => {
      throw err;
    },
  );
  const stream = Buffer.concat(Array.from({ length: framesPerIteration }, () => frame));
  // Many frames per chunk: 64 KiB reads, or 4 frames per read when a frame is bigger than that.
  const manyPerChunk = Math.max(4, Math.floor((64 * 1024) / frame.length));
  const layouts: Array<[Chunking, Buffer[]]> = [
    ['whole frames', Array.from({ length: framesPerIteration }, () => frame)],
    ['1448 B pieces', cut(stream, SEGMENT)],
    ['64 B pieces', cut(stream, SMALL_PIECE)],
    ['many frames/chunk', cut(stream, manyPerChunk * frame.length)],
  ];
  return layouts.map(([chunking, chunks]) => ({
    name: `decode ${formatSize(size)} H=${headerBytes} ${chunking}`,
    group: 'decode' as const,
    payloadBytes: size,
    headerBytes,
    chunking,
    framesPerIteration,
    bytesPerIteration: framesPerIteration * size,
    fn: () => {
      const before = received;
      for (let i = 0; i < chunks.length; i++) decoder.push(chunks[i]!);
      if (received - before !== framesPerIteration * size) throw new Error('decoder lost bytes');
    },
  }));
}

function toRow(c: Case, task: Task): CodecRow {
  const r = task.result;
  const row = {
    name: c.name,
    group: c.group,
    payloadBytes: c.payloadBytes,
    headerBytes: c.headerBytes,
    chunking: c.chunking,
    state: r.state,
  };
  if (r.state !== 'completed' && r.state !== 'aborted-with-statistics') {
    return { ...row, framesPerSecond: 0, gigabytesPerSecond: null, rmePercent: 0, samples: 0 };
  }
  // Iterations per second from the mean latency (ms): robust to the throughput estimator's choices.
  const iterationsPerSecond = 1000 / r.latency.mean;
  return {
    ...row,
    framesPerSecond: iterationsPerSecond * c.framesPerIteration,
    gigabytesPerSecond: c.bytesPerIteration > 0 ? (iterationsPerSecond * c.bytesPerIteration) / 1e9 : null,
    rmePercent: r.latency.rme,
    samples: r.latency.samplesCount,
  };
}

/** What is saved with the figures: the machine (the bench's environment()) and this run's settings. */
interface CodecMeta extends Environment {
  tinybench: string;
  timeMs: number;
  filter: string | null;
  file: string;
}

function markdown(rows: CodecRow[], meta: CodecMeta): string {
  const lines = [
    '# Codec micro-benchmarks (latest run)',
    '',
    `Run ${meta.date} on ${meta.cpuModel} (${meta.cores} cores), Node ${meta.node}, tinybench ${meta.tinybench}, ${meta.timeMs} ms per task.`,
    'Header rows: calls per second. Decode rows: complete frames per second and payload GB/s (10^9 bytes) through `FrameDecoder.push`.',
    'A payload that arrives whole inside one chunk is handed out as a view (no copy), so the GB/s of the `whole frames` and',
    '`many frames/chunk` rows is header-parsing speed times payload size, not memory bandwidth; split payloads are copied.',
    '',
    codecMarkdown(rows),
  ];
  lines.push('', `Raw numbers: \`${meta.file}\`.`, '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      time: { type: 'string', default: '200' },
      filter: { type: 'string' },
      'no-save': { type: 'boolean', default: false },
      out: { type: 'string', default: 'results' },
    },
  });
  const timeMs = number('time', parseNumber('time', values.time, 'number'), 0.001, 3_600_000);

  const cases: Case[] = [];
  for (const headerBytes of HEADER_SIZES) {
    for (const size of SIZES) cases.push(...headerCases(size, headerBytes), ...decodeCases(size, headerBytes));
  }
  const selected = values.filter ? cases.filter((c) => c.name.includes(values.filter!)) : cases;

  const bench = new Bench({
    name: 'codec',
    time: timeMs,
    iterations: 8,
    warmupTime: Math.min(50, timeMs),
    warmupIterations: 4,
    throws: true,
  });
  for (const c of selected) bench.add(c.name, c.fn);
  const env = environment();
  const started = Date.now();
  process.stderr.write(`codec: ${selected.length} tasks, ${timeMs} ms each...\n`);
  await bench.run();

  const rows = selected.map((c) => toRow(c, bench.getTask(c.name)!));
  process.stdout.write(`${codecText(rows)}\n`);
  process.stderr.write(`codec: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

  if (values['no-save']) return;
  const resultsDir = path.resolve(values.out);
  mkdirSync(resultsDir, { recursive: true });
  const date = new Date()
    .toISOString()
    .replace(/:/g, '-')
    .replace(/\.\d+Z$/, 'Z');
  const file = `codec-${date}.json`;
  const tinybenchVersion = (
    JSON.parse(readFileSync(new URL('../../../node_modules/tinybench/package.json', import.meta.url), 'utf8')) as {
      version: string;
    }
  ).version;
  const meta: CodecMeta = {
    ...env,
    tinybench: tinybenchVersion,
    timeMs,
    filter: values.filter ?? null,
    file: path.join(values.out, file),
  };
  writeFileSync(path.join(resultsDir, file), `${JSON.stringify({ meta, rows }, null, 2)}\n`);
  writeFileSync(path.join(resultsDir, 'codec-latest.md'), markdown(rows, meta));
  process.stderr.write(`codec: saved ${meta.file} and ${path.join(values.out, 'codec-latest.md')}\n`);
}

try {
  await main();
} catch (err) {
  if (!(err instanceof InvalidOptionError)) throw err;
  process.stderr.write(`codec: ${err.describe((option) => `--${option} (ms)`)}\n`);
  process.exitCode = 2;
}
