/**
 * The fuzz run: many connections in parallel against a live `handoff serve`
 * (a child process, echo mode, short timeouts), each fed one generated input
 * and judged against the oracle. Reports crashes (the server process exiting,
 * a worker thread dying), wrong outcomes and connections left open.
 */
import net from 'node:net';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { type ServerUnderTest, startEmbeddedServer } from '../load/embedded-server.ts';
import { processFdCount, processRssBytes } from '../shared/system.ts';
import { generateInput, type FuzzInput, type InputKind } from './inputs.ts';
import { type Ending, judge } from './judge.ts';
import { runLanes } from './lanes.ts';
import { expectedOutcome, type OracleConfig } from './oracle.ts';

export interface FuzzOptions {
  inputs: number;
  seed: number;
  /** Connections open at once. */
  concurrency: number;
  workers: number;
  strategy: 'handoff' | 'reuseport' | 'single';
  headerBytes: number;
  maxMessageBytes: number;
  /** The fuzz server's --frame-timeout and --idle-timeout. */
  timeoutMs: number;
  /** A connection not closed by the server within this is "left open". */
  closeDeadlineMs: number;
  /** Called every few seconds with the inputs done so far. */
  onProgress?: (done: number) => void;
}

export const FUZZ_DEFAULTS: Omit<FuzzOptions, 'inputs'> = {
  seed: 1,
  concurrency: 1000,
  workers: 2,
  strategy: 'handoff',
  headerBytes: 64,
  maxMessageBytes: 4096,
  timeoutMs: 2000,
  closeDeadlineMs: 15_000,
};

interface Failure {
  index: number;
  kind: InputKind;
  mutation?: string;
  problem: string;
  /** The input's first bytes, hex. */
  hex: string;
  bytes: number;
  splits: number[];
}

export interface FuzzReport {
  options: Omit<FuzzOptions, 'onProgress'>;
  durationS: number;
  inputs: number;
  byKind: Record<string, number>;
  /** Header mutations tried (kinds header-mutation and interleaved). */
  byMutation: Record<string, number>;
  /** How connections ended: `fin` (after !DISCONNECT) or the !ERROR code received. */
  outcomes: Record<string, number>;
  /** Connections that ended with a reset (their frames were all there). */
  resets: number;
  /** Inputs run again because the tester wrote them too late for the server's timeouts (its own stall). */
  retriedLate: number;
  wrong: number;
  leftOpen: number;
  /** Server process exits and worker-thread deaths. */
  crashes: string[];
  failures: Failure[];
  server: { rssStartBytes: number | null; rssEndBytes: number | null; fdsStart: number | null; fdsEnd: number | null };
  inputBytes: number;
}

const KEEP_FAILURES = 50;
/**
 * The oracle assumes the whole input reaches the server well within its timeouts. An input
 * whose last byte the tester itself wrote later than this share of the timeout after it
 * began to connect (the tester's own event loop was stalled) proves nothing: it is run again.
 */
const LATE_SHARE = 0.5;
const MAX_ATTEMPTS = 5;
/** The last socket error seen (diagnostics for a reset). */
let lastError = '';

/** Sends one input on a fresh connection and collects everything the server sends until it closes. */
function exchange(
  port: number,
  input: FuzzInput,
  deadlineMs: number,
): Promise<{ received: Buffer; ending: Ending; writtenAfterMs: number }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const began = performance.now();
    let writtenAfterMs = Number.POSITIVE_INFINITY;
    let ending: Ending | null = null;
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    const timer = setTimeout(() => {
      ending ??= 'left-open';
      socket.destroy();
    }, deadlineMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => {
      ending ??= 'fin';
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      ending ??= 'reset';
      lastError = err.code ?? err.message;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ received: Buffer.concat(chunks), ending: ending ?? 'reset', writtenAfterMs });
    });
    socket.once('connect', () => {
      void writeInPieces(socket, input).then(() => (writtenAfterMs = performance.now() - began));
    });
  });
}

/** The input as separate writes at its split points, a turn of the event loop apart. */
export async function writeInPieces(socket: net.Socket, input: Pick<FuzzInput, 'bytes' | 'splits'>): Promise<void> {
  let from = 0;
  for (const to of [...input.splits, input.bytes.length]) {
    if (socket.destroyed) return;
    if (to > from) socket.write(input.bytes.subarray(from, to));
    from = to;
    if (to < input.bytes.length) await nextTurn();
  }
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const config: OracleConfig = { headerBytes: options.headerBytes, maxMessageBytes: options.maxMessageBytes };
  const server = await startFuzzServer(options);
  const crashes: string[] = [];
  server.onEvent?.('worker-died', (line) => crashes.push(String(line.msg)));
  const pid = server.pid!;
  const report = emptyReport(options, pid, crashes);
  const stopped = () => Boolean(server.exitStatus?.());
  report.durationS = await runLanes(options, { done: () => report.inputs, stopped }, async (index) => {
    const input = generateInput(options.seed, index, config);
    const expected = expectedOutcome(input.bytes, config);
    const { received, ending } = await exchangeInTime(server.port, input, options, report);
    tally(report, input, ending, judge(expected, received, ending, options.headerBytes));
  });
  const exit = server.exitStatus?.();
  if (exit) crashes.push(`the server process exited (${exit.code ?? exit.signal}) during the run`);
  report.server.rssEndBytes = processRssBytes(pid);
  report.server.fdsEnd = processFdCount(pid);
  await server.stop();
  return report;
}

/** An echo server with short frame and idle timeouts (the oracle's), and room for every lane's connection. */
function startFuzzServer(options: FuzzOptions): Promise<ServerUnderTest> {
  const seconds = String(options.timeoutMs / 1000);
  return startEmbeddedServer({
    workers: options.workers,
    strategy: options.strategy,
    mode: 'echo',
    headerBytes: options.headerBytes,
    maxConnections: Math.max(10_000, options.concurrency * 2),
    extraArgs: [
      '--max-message-bytes',
      String(options.maxMessageBytes),
      '--frame-timeout',
      seconds,
      '--idle-timeout',
      seconds,
    ],
  });
}

function emptyReport(options: FuzzOptions, pid: number, crashes: string[]): FuzzReport {
  const report: FuzzReport = {
    options: { ...options, onProgress: undefined } as FuzzReport['options'],
    durationS: 0,
    inputs: 0,
    byKind: {},
    byMutation: {},
    outcomes: {},
    resets: 0,
    retriedLate: 0,
    wrong: 0,
    leftOpen: 0,
    crashes,
    failures: [],
    server: { rssStartBytes: processRssBytes(pid), rssEndBytes: null, fdsStart: processFdCount(pid), fdsEnd: null },
    inputBytes: 0,
  };
  delete (report.options as { onProgress?: unknown }).onProgress;
  return report;
}

/** One input's exchange, run again (up to MAX_ATTEMPTS) while the tester wrote it too late to prove anything. */
async function exchangeInTime(port: number, input: FuzzInput, options: FuzzOptions, report: FuzzReport) {
  let attempt = 1;
  let result = await exchange(port, input, options.closeDeadlineMs);
  while (result.writtenAfterMs > options.timeoutMs * LATE_SHARE && attempt < MAX_ATTEMPTS) {
    report.retriedLate++;
    attempt++;
    result = await exchange(port, input, options.closeDeadlineMs);
  }
  return result;
}

/** Counts one input's kind, ending and verdict; a wrong one is kept (the first KEEP_FAILURES). */
function tally(report: FuzzReport, input: FuzzInput, ending: Ending, verdict: ReturnType<typeof judge>): void {
  report.inputs++;
  report.inputBytes += input.bytes.length;
  report.byKind[input.kind] = (report.byKind[input.kind] ?? 0) + 1;
  if (input.mutation) report.byMutation[input.mutation] = (report.byMutation[input.mutation] ?? 0) + 1;
  if (ending === 'left-open') report.leftOpen++;
  if (ending === 'reset') report.resets++;
  if (verdict.ok) {
    const outcome = verdict.code ?? 'fin';
    report.outcomes[outcome] = (report.outcomes[outcome] ?? 0) + 1;
    return;
  }
  if (ending !== 'left-open') report.wrong++;
  if (report.failures.length < KEEP_FAILURES) {
    report.failures.push({
      index: input.index,
      kind: input.kind,
      ...(input.mutation ? { mutation: input.mutation } : {}),
      problem: ending === 'reset' ? `${verdict.problem!} (${lastError})` : verdict.problem!,
      hex: input.bytes.subarray(0, 160).toString('hex'),
      bytes: input.bytes.length,
      splits: input.splits,
    });
  }
}

/** One line per problem; empty when the run found nothing. */
export function fuzzProblems(report: FuzzReport): string[] {
  const out: string[] = [];
  if (report.crashes.length > 0) out.push(`${report.crashes.length} crash(es): ${report.crashes[0]}`);
  if (report.wrong > 0)
    out.push(
      `${report.wrong} wrong outcome(s), first: input ${report.failures[0]?.index}: ${report.failures[0]?.problem}`,
    );
  if (report.leftOpen > 0) out.push(`${report.leftOpen} connection(s) left open without a reply or an error`);
  if (report.inputs < report.options.inputs)
    out.push(`only ${report.inputs} of ${report.options.inputs} inputs were run`);
  return out;
}
