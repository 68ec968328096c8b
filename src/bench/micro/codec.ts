// Micro-benchmarks of the wire codec: header encode/parse and the streaming
// FrameDecoder at each message size and header size, fed whole frames, frames cut
// into TCP-segment-sized and 64-byte pieces, and many frames per chunk.
//
//   npm run bench:codec                    # default run (well under a minute)
//   npm run bench:codec -- --time 1000     # longer per task, tighter error bars
//   npm run bench:codec -- --filter decode # only tasks whose name contains "decode"
//   npm run bench:codec -- --no-save       # print only
//
// Saves results/codec-<timestamp>.json and results/codec-latest.md.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, platform, release } from 'node:os';
import { parseArgs } from 'node:util';
import { Bench, type Task } from 'tinybench';
import { encodeFrame, FrameDecoder, parseHeader, writeHeader } from '../../protocol/index.ts';

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

export interface CodecRow {
  name: string;
  group: string;
  payloadBytes: number;
  headerBytes: number;
  chunking: string;
  framesPerSecond: number;
  gigabytesPerSecond: number | null;
  /** Relative margin of error of the iteration latency, in %. */
  rmePercent: number;
  samples: number;
  state: string;
}

function human(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
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
      name: `header encode ${human(size)} H=${headerBytes}`,
      group: 'header encode',
      fn: () => {
        for (let i = 0; i < HEADER_CALLS; i++) writeHeader(target, 0, size, headerBytes);
        sink.value += target[0]!;
      },
    },
    {
      ...common,
      name: `header parse ${human(size)} H=${headerBytes}`,
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
    name: `decode ${human(size)} H=${headerBytes} ${chunking}`,
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
  if (r.state !== 'completed' && r.state !== 'aborted-with-statistics') {
    return {
      name: c.name,
      group: c.group,
      payloadBytes: c.payloadBytes,
      headerBytes: c.headerBytes,
      chunking: c.chunking,
      framesPerSecond: 0,
      gigabytesPerSecond: null,
      rmePercent: 0,
      samples: 0,
      state: r.state,
    };
  }
  // Iterations per second from the mean latency (ms): robust to the throughput estimator's choices.
  const iterationsPerSecond = 1000 / r.latency.mean;
  return {
    name: c.name,
    group: c.group,
    payloadBytes: c.payloadBytes,
    headerBytes: c.headerBytes,
    chunking: c.chunking,
    framesPerSecond: iterationsPerSecond * c.framesPerIteration,
    gigabytesPerSecond: c.bytesPerIteration > 0 ? (iterationsPerSecond * c.bytesPerIteration) / 1e9 : null,
    rmePercent: r.latency.rme,
    samples: r.latency.samplesCount,
    state: r.state,
  };
}

function fmtRate(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(0);
}

function markdown(rows: CodecRow[], meta: Record<string, unknown>): string {
  const lines = [
    '# Codec micro-benchmarks (latest run)',
    '',
    `Run ${String(meta.date)} on ${String(meta.cpu)} (${String(meta.cores)} cores), Node ${String(meta.node)}, tinybench ${String(meta.tinybench)}, ${String(meta.timeMs)} ms per task.`,
    'Header rows: calls per second. Decode rows: complete frames per second and payload GB/s (10^9 bytes) through `FrameDecoder.push`.',
    'A payload that arrives whole inside one chunk is handed out as a view (no copy), so the GB/s of the `whole frames` and',
    '`many frames/chunk` rows is header-parsing speed times payload size, not memory bandwidth; split payloads are copied.',
    '',
    '| task | payload | H | chunks | frames/s | GB/s payload | ±% |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.group} | ${human(r.payloadBytes)} | ${r.headerBytes} | ${r.chunking} | ${fmtRate(r.framesPerSecond)} | ${r.gigabytesPerSecond === null ? '' : r.gigabytesPerSecond.toFixed(2)} | ${r.rmePercent.toFixed(1)} |`,
    );
  }
  lines.push('', `Raw numbers: \`${String(meta.file)}\`.`, '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      time: { type: 'string', default: '200' },
      filter: { type: 'string' },
      'no-save': { type: 'boolean', default: false },
    },
  });
  const timeMs = Number(values.time);
  if (!Number.isFinite(timeMs) || timeMs <= 0)
    throw new Error(`--time must be a positive number of ms, got ${values.time}`);

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
  const started = Date.now();
  process.stderr.write(`codec: ${selected.length} tasks, ${timeMs} ms each...\n`);
  await bench.run();

  const rows = selected.map((c) => toRow(c, bench.getTask(c.name)!));
  console.table(
    rows.map((r) => ({
      task: r.group,
      payload: human(r.payloadBytes),
      H: r.headerBytes,
      chunks: r.chunking,
      'frames/s': fmtRate(r.framesPerSecond),
      'GB/s': r.gigabytesPerSecond === null ? '' : r.gigabytesPerSecond.toFixed(2),
      '±%': r.rmePercent.toFixed(1),
    })),
  );
  process.stderr.write(`codec: done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

  if (values['no-save']) return;
  const resultsDir = new URL('../../../results/', import.meta.url);
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
  const meta = {
    date: new Date(started).toISOString(),
    node: process.version,
    platform: `${platform()} ${release()}`,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    tinybench: tinybenchVersion,
    timeMs,
    filter: values.filter ?? null,
    file: `results/${file}`,
  };
  writeFileSync(new URL(file, resultsDir), `${JSON.stringify({ meta, rows }, null, 2)}\n`);
  writeFileSync(new URL('codec-latest.md', resultsDir), markdown(rows, meta));
  process.stderr.write(`codec: saved results/${file} and results/codec-latest.md\n`);
}

await main();
