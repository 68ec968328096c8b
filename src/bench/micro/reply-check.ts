/**
 * The load thread's check of one 76-byte ack, as it was (FrameDecoder.push with
 * onWholePayload) against as it is (RepeatedFrame.count, repeated-frame.ts),
 * and the clock read every read makes beside them: thread CPU per call, in
 * interleaved rounds (A B A B), medians. Prints one line per round and the medians.
 *
 *   node src/bench/micro/reply-check.ts [ROUNDS] [CALLS_PER_ROUND]
 */
import { RepeatedFrame } from '../load/repeated-frame.ts';
import { ACK_TEXT, encodeTextFrame, FrameDecoder } from '../../protocol/index.ts';

const rounds = Number(process.argv[2] ?? 5);
const calls = Number(process.argv[3] ?? 5_000_000);
const ack = encodeTextFrame(ACK_TEXT, 64);
const readBuffer = Buffer.allocUnsafe(256 * 1024);
ack.copy(readBuffer, 0);
let sink = 0;
const decoder = new FrameDecoder(
  {
    headerBytes: 64,
    maxMessageBytes: 4096,
    onWholePayload: (chunk, start, end) => (sink += end - start + chunk[start]!),
  },
  () => {},
  () => {},
);
const words = RepeatedFrame.of(ack, readBuffer)!;
const clockNow = performance.now.bind(performance);

const cases: Array<[string, () => void]> = [
  ['FrameDecoder.push', () => decoder.push(readBuffer, ack.length)],
  ['RepeatedFrame.count', () => (sink += words.count(ack.length))],
  ['clock read', () => (sink += clockNow())],
];

function nsPerCall(fn: () => void): number {
  const before = process.threadCpuUsage();
  for (let i = 0; i < calls; i++) fn();
  const used = process.threadCpuUsage(before);
  return ((used.user + used.system) * 1000) / calls;
}

for (const [, fn] of cases) nsPerCall(fn); // warm up: optimised before the first round
const results = cases.map(() => [] as number[]);
for (let round = 1; round <= rounds; round++) {
  const line = cases.map(([name, fn], i) => {
    const ns = nsPerCall(fn);
    results[i]!.push(ns);
    return `${name} ${ns.toFixed(1)} ns`;
  });
  console.log(`round ${round}: ${line.join(', ')}`);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
console.log(`medians: ${cases.map(([name], i) => `${name} ${median(results[i]!).toFixed(1)} ns`).join(', ')}`);
if (sink === 0) console.log('(nothing counted)');
