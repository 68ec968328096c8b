/**
 * The chat fuzz run (`npm run fuzz:chat`): a redis-server and two chat servers
 * on it (child processes), and many inputs in parallel: sessions of random chat
 * commands, each judged against the oracle, and batches published straight onto
 * the rooms' Redis channels. A listener in every room on both servers checks that
 * exactly the payloads of the batches the oracle says are servable arrive, each
 * once, in the order published; at the end each server's
 * `handoff_bus_dropped_total{reason}` must equal the oracle's count of dropped
 * batches by reason, and a message and a `!WHO` still cross between the servers.
 * Reports crashes (a server exiting, a worker thread dying), wrong outcomes and
 * connections left open.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { startEmbeddedServer, type ServerUnderTest } from '../load/embedded-server.ts';
import type { StartedProcess } from '../load/processes.ts';
import { startRedisServer } from '../load/chat/targets.ts';
import { processFdCount, processRssBytes } from '../shared/system.ts';
import {
  CHAT_FUZZ_ROOMS,
  type ChatFuzzConfig,
  enveloped,
  frameOf,
  generateChatInput,
  type SessionInput,
} from './chat-inputs.ts';
import { isDeliveryFrame, judgeSession, repliesIn } from './chat-judge.ts';
import { expectedBatch, expectedSession } from './chat-oracle.ts';
import type { Ending } from './judge.ts';
import { runLanes } from './lanes.ts';
import { type FuzzOptions, writeInPieces } from './run.ts';
import { splitFrames } from './judge.ts';

/** The echo fuzz's options less its strategy and timeouts (sessions end by themselves), and the redis-server to start. */
export type ChatFuzzOptions = Omit<FuzzOptions, 'strategy' | 'timeoutMs'> & {
  /** The redis-server program. */
  redisServer: string;
};

export const CHAT_FUZZ_DEFAULTS: Omit<ChatFuzzOptions, 'inputs'> = {
  seed: 1,
  concurrency: 400,
  workers: 2,
  headerBytes: 64,
  maxMessageBytes: 4096,
  closeDeadlineMs: 15_000,
  redisServer: 'redis-server',
};

interface ChatFuzzFailure {
  index: number;
  kind: string;
  problem: string;
  hex: string;
}

export interface ChatFuzzReport {
  options: Omit<ChatFuzzOptions, 'onProgress'>;
  durationS: number;
  inputs: number;
  sessions: number;
  batches: number;
  /** Batches by variant, sessions by how they ended. */
  byKind: Record<string, number>;
  /** Batches the oracle says are dropped, by reason. */
  droppedExpected: Record<string, number>;
  /** handoff_bus_dropped_total of each server, by reason. */
  droppedCounted: Array<Record<string, number>>;
  /** Payloads of servable batches, each checked at a listener in its room on both servers. */
  deliveriesChecked: number;
  /** Frames of each session (commands and messages) sent. */
  framesSent: number;
  wrong: number;
  leftOpen: number;
  /** Sessions ended by a reset once every reply was in (the client was still sending what the server ignores). */
  resets: number;
  crashes: string[];
  failures: ChatFuzzFailure[];
  /** Subscribers redis-server cut off for falling behind (its pub/sub output buffer limit): what they missed is lost. */
  redisOutputBufferDisconnections: number;
  /** What the servers said about Redis during the run (after start-up): reconnections, late confirmations. */
  serverLines: string[];
  /** The servers could still carry a message and a !WHO between them at the end. */
  finalProbe: string;
  servers: Array<{
    rssStartBytes: number | null;
    rssEndBytes: number | null;
    fdsStart: number | null;
    fdsEnd: number | null;
  }>;
}

const KEEP_FAILURES = 50;
const SETTLE_MS = 30_000;

/** A raw connection that keeps the replies and calls `onDelivery` for each delivery. */
class RawChat {
  readonly socket: net.Socket;
  #buffer: Buffer = Buffer.alloc(0);
  readonly replies: Buffer[] = [];
  #waiters: Array<() => void> = [];

  private constructor(socket: net.Socket, headerBytes: number, onDelivery: (payload: Buffer) => void) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
      const { frames, rest } = splitFrames(this.#buffer, headerBytes);
      this.#buffer = Buffer.from(rest);
      for (const f of frames) {
        if (isDeliveryFrame(f)) onDelivery(f);
        else this.replies.push(Buffer.from(f));
      }
      for (const wake of this.#waiters.splice(0)) wake();
    });
    socket.on('error', () => {});
  }

  /** Bytes received that are not a whole frame yet. */
  get pending(): Buffer {
    return this.#buffer;
  }

  static async open(
    port: number,
    headerBytes: number,
    onDelivery: (payload: Buffer) => void = () => {},
  ): Promise<RawChat> {
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new RawChat(socket, headerBytes, onDelivery);
  }

  async request(text: string, headerBytes: number, timeoutMs = 10_000): Promise<string> {
    const want = this.replies.length + 1;
    this.socket.write(frameOf(Buffer.from(text, 'latin1'), headerBytes));
    const deadline = performance.now() + timeoutMs;
    while (this.replies.length < want) {
      if (performance.now() > deadline) throw new Error(`no reply to ${text} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.replies[want - 1]!.toString('utf8');
  }
}

/** One room's listener on one server: checks the fuzz deliveries against the expected ones, in order. */
interface Listener {
  chat: RawChat;
  room: string;
  /** How many of the room's expected payloads it has seen. */
  seen: number;
}

/** The `<from>` of a delivery: the word after the room. */
function fromOf(payload: Buffer): string {
  const s = payload.toString('latin1');
  const parts = s.split(' ', 3);
  return parts[2] ?? '';
}

/** Runs one session: connects, sends, reads until the end the oracle expects (or the deadline). */
function runSession(
  port: number,
  input: SessionInput,
  config: ChatFuzzConfig,
  deadlineMs: number,
): Promise<{ problem: string | null; ending: Ending }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let ending: Ending | null = null;
    let expected: ReturnType<typeof expectedSession> | null = null;
    const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    const timer = setTimeout(() => {
      ending ??= 'left-open';
      socket.destroy();
    }, deadlineMs);
    const finish = () => {
      clearTimeout(timer);
      const received = Buffer.concat(chunks);
      resolve({
        problem: expected ? judgeSession(expected, received, ending ?? 'reset', config) : 'never connected',
        ending: ending ?? 'reset',
      });
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      // A session that does not end with an error or !DISCONNECT is closed by the client once every reply is in.
      if (
        expected?.end === 'open' &&
        repliesIn(Buffer.concat(chunks), config.headerBytes).replies.length >= expected.replies.length
      ) {
        ending ??= 'fin';
        socket.end();
        socket.destroy();
      }
    });
    socket.on('end', () => (ending ??= 'fin'));
    socket.on('error', () => (ending ??= 'reset'));
    socket.on('close', finish);
    socket.once('connect', () => {
      expected = expectedSession(input.payloads, input, `127.0.0.1:${socket.localPort}`);
      if (expected.end === 'open' && expected.replies.length === 0) socket.destroy();
      void writeInPieces(socket, input);
    });
  });
}

/** The port of the `metrics` line, printed right after `listening`. */
async function metricsPortOf(server: ServerUnderTest): Promise<number> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    const port = Number(server.lastLine?.('metrics')?.port);
    if (Number.isInteger(port) && port > 0) return port;
    if (performance.now() > deadline) throw new Error('the server printed no metrics line');
    await sleep(20);
  }
}

async function droppedOf(metricsPort: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^handoff_bus_dropped_total\{reason="([a-z_]+)"\} (\d+)/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/**
 * The redis-server, the two chat servers and a listener in every room of each, the publisher;
 * then the inputs on their lanes, the listeners' settling, the drop counters and the final probe.
 */
export async function runChatFuzz(options: ChatFuzzOptions): Promise<ChatFuzzReport> {
  const redis: StartedProcess = await startRedisServer(options.redisServer, Math.max(1_000, options.concurrency * 4));
  const url = `redis://127.0.0.1:${redis.port}`;
  const run = new ChatFuzzRun(options);
  try {
    for (let i = 0; i < 2; i++) run.servers.push(await run.startServer(i, url));
    const metricsPorts = await Promise.all(run.servers.map(metricsPortOf));
    run.begin();
    for (const server of run.servers) for (const room of CHAT_FUZZ_ROOMS) await run.openListener(server, room);
    // Connected before the first PUBLISH: commands queued while ioredis connects may be sent after
    // later ones, which would break the publish order the listeners check.
    run.publisher = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
    run.publisher.on('error', () => {});
    await run.publisher.connect();
    const pub = run.publisher;
    const report = run.report;
    const stopped = () => run.servers.some((s) => s.exitStatus?.());
    report.durationS = await runLanes(options, { done: () => report.inputs, stopped }, (index) =>
      run.runInput(pub, index),
    );
    await run.settleListeners();
    await sleep(500); // a duplicate would show up now
    for (const [i, port] of metricsPorts.entries()) run.checkDropped(i, await droppedOf(port));
    run.finished = true;
    await run.finish(pub);
    return report;
  } finally {
    for (const c of run.opened) c.socket.destroy();
    run.publisher?.disconnect();
    await Promise.all(run.servers.map((s) => s.stop()));
    await redis.stop();
  }
}

/** A chat fuzz run's state: its servers and listeners, the payloads each room must get, and the report. */
class ChatFuzzRun {
  readonly options: ChatFuzzOptions;
  readonly config: ChatFuzzConfig;
  readonly servers: ServerUnderTest[] = [];
  readonly crashes: string[] = [];
  readonly serverLines: string[] = [];
  readonly opened: RawChat[] = [];
  publisher: Redis | null = null;
  /** Set once the run's checks are done: a listener closed after that is no failure. */
  finished = false;
  report!: ChatFuzzReport;
  /** The payloads each room must get, in publish order. */
  readonly #expected = new Map<string, string[]>(CHAT_FUZZ_ROOMS.map((room) => [room, []]));
  readonly #listeners: Listener[] = [];

  constructor(options: ChatFuzzOptions) {
    this.options = options;
    this.config = { headerBytes: options.headerBytes, maxMessageBytes: options.maxMessageBytes };
  }

  /** Server `i` of two on the Redis at `url`; its worker deaths are crashes, what it says of Redis is kept. */
  async startServer(i: number, url: string): Promise<ServerUnderTest> {
    const options = this.options;
    const server = await startEmbeddedServer({
      workers: options.workers,
      strategy: 'handoff',
      mode: 'chat',
      headerBytes: options.headerBytes,
      maxConnections: Math.max(10_000, options.concurrency * 4),
      bus: url,
      // The listeners only read, for the whole run: no idle timeout (sessions end by themselves).
      extraArgs: ['--max-message-bytes', String(options.maxMessageBytes), '--metrics-port', '0', '--idle-timeout', '0'],
    });
    server.onEvent?.('worker-died', (line) => this.crashes.push(`server ${i + 1}: ${String(line.msg)}`));
    for (const event of ['redis', 'redis-late', 'bus-dropped']) {
      server.onEvent?.(
        event,
        (line) => this.serverLines.length < 100 && this.serverLines.push(`server ${i + 1}: ${String(line.msg)}`),
      );
    }
    return server;
  }

  /** The report, empty but for the servers' RSS and descriptors at the start. */
  begin(): void {
    this.report = {
      options: { ...this.options },
      durationS: 0,
      inputs: 0,
      sessions: 0,
      batches: 0,
      byKind: {},
      droppedExpected: {},
      droppedCounted: [],
      deliveriesChecked: 0,
      framesSent: 0,
      wrong: 0,
      leftOpen: 0,
      resets: 0,
      crashes: this.crashes,
      failures: [],
      finalProbe: '',
      serverLines: this.serverLines,
      redisOutputBufferDisconnections: 0,
      servers: this.servers.map((s) => ({
        rssStartBytes: processRssBytes(s.pid!),
        rssEndBytes: null,
        fdsStart: processFdCount(s.pid!),
        fdsEnd: null,
      })),
    };
    delete (this.report.options as { onProgress?: unknown }).onProgress;
  }

  fail(index: number, kind: string, problem: string, bytes: Buffer): void {
    this.report.wrong++;
    if (this.report.failures.length < KEEP_FAILURES) {
      this.report.failures.push({ index, kind, problem, hex: bytes.subarray(0, 80).toString('hex') });
    }
  }

  /** A listener in `room` on `server`: it checks every fuzz delivery against the room's expected ones, in order. */
  async openListener(server: ServerUnderTest, room: string): Promise<void> {
    const h = this.options.headerBytes;
    const listener: Listener = { chat: null as unknown as RawChat, room, seen: 0 };
    listener.chat = await RawChat.open(server.port, h, (payload) => this.#delivered(listener, payload));
    this.opened.push(listener.chat);
    listener.chat.socket.on('close', () => {
      if (!this.finished)
        this.fail(
          -1,
          `listener ${room}`,
          `closed by the server; its last reply: ${listener.chat.replies.at(-1)?.toString('latin1').slice(0, 80) ?? 'none'}`,
          Buffer.alloc(0),
        );
    });
    const reply = await listener.chat.request(room === 'lobby' ? '!NICK listener' : `!JOIN ${room}`, h);
    if (!reply.startsWith('!OK')) throw new Error(`listener in ${room}: ${reply}`);
    this.#listeners.push(listener);
  }

  #delivered(listener: Listener, payload: Buffer): void {
    if (!fromOf(payload).startsWith('fz~')) return; // a session's message or presence
    const room = listener.room;
    const want = this.#expected.get(room)!;
    const got = payload.toString('latin1');
    if (want[listener.seen] === got) {
      listener.seen++;
      return;
    }
    // Out of step: find it further on (some were lost), or it should not be there at all.
    const at = want.indexOf(got, listener.seen);
    if (at < 0)
      this.fail(
        -1,
        `listener ${room}`,
        `got ${JSON.stringify(got.slice(0, 60))}, which no servable batch holds here`,
        payload,
      );
    else {
      this.fail(
        -1,
        `listener ${room}`,
        `${at - listener.seen} payload(s) lost before ${JSON.stringify(got.slice(0, 40))}, from ${JSON.stringify(want[listener.seen]!.slice(0, 40))} on`,
        payload,
      );
      listener.seen = at + 1;
    }
  }

  /** Input `index`: a batch published onto its room's channel, or a session judged against the oracle. */
  async runInput(pub: Redis, index: number): Promise<void> {
    const { options, config, report } = this;
    const input = generateChatInput(options.seed, index, config);
    const count = (key: string) => (report.byKind[key] = (report.byKind[key] ?? 0) + 1);
    if (input.kind === 'batch') {
      const fate = expectedBatch(input.bytes, input.room, config);
      // Recorded and published in the same turn: the expected order is the publish order.
      if ('deliver' in fate) {
        for (const p of fate.deliver) this.#expected.get(input.room)!.push(p.toString('latin1'));
      } else {
        report.droppedExpected[fate.drop] = (report.droppedExpected[fate.drop] ?? 0) + 1;
      }
      await pub.publish(`handoff:chat:${input.room}`, enveloped(input.bytes));
      report.batches++;
      count(`batch ${input.variant}`);
    } else {
      const port = this.servers[input.server]!.port;
      const { problem, ending } = await runSession(port, input, config, options.closeDeadlineMs);
      report.sessions++;
      report.framesSent += input.payloads.length + (input.disconnect ? 1 : 0);
      count(`session ${input.tooLarge ? 'TOO_LARGE' : input.disconnect ? '!DISCONNECT' : 'closed by the client'}`);
      if (ending === 'left-open') report.leftOpen++;
      if (ending === 'reset' && !problem) report.resets++;
      if (problem) this.fail(input.index, 'session', problem, input.bytes);
    }
    report.inputs++;
  }

  /** Every servable payload reaches each listener of its room (each once, in order, checked as they come). */
  async settleListeners(): Promise<void> {
    const expected = this.#expected;
    const settled = () => this.#listeners.every((l) => l.seen === expected.get(l.room)!.length);
    const deadline = performance.now() + SETTLE_MS;
    while (!settled() && performance.now() < deadline) await sleep(100);
    for (const l of this.#listeners) {
      const want = expected.get(l.room)!.length;
      this.report.deliveriesChecked += l.seen;
      if (l.seen !== want)
        this.fail(-1, `listener ${l.room}`, `${l.seen} of ${want} servable payloads arrived`, Buffer.alloc(0));
    }
  }

  /** Server `i`'s handoff_bus_dropped_total, by reason, against the oracle's count. */
  checkDropped(i: number, counted: Record<string, number>): void {
    const report = this.report;
    report.droppedCounted.push(counted);
    for (const reason of new Set([...Object.keys(counted), ...Object.keys(report.droppedExpected)])) {
      const want = report.droppedExpected[reason] ?? 0;
      if ((counted[reason] ?? 0) !== want) {
        this.fail(
          -1,
          `server ${i + 1} counters`,
          `${counted[reason] ?? 0} batches counted dropped as ${reason}, the oracle says ${want}`,
          Buffer.alloc(0),
        );
      }
    }
  }

  /** Redis's cut-off subscribers, the final probe, and each server's exit, RSS and descriptors at the end. */
  async finish(pub: Redis): Promise<void> {
    const report = this.report;
    const stats = String(await pub.info('stats'));
    report.redisOutputBufferDisconnections = Number(
      /client_output_buffer_limit_disconnections:(\d+)/.exec(stats)?.[1] ?? -1,
    );
    report.finalProbe = await finalProbe(this.servers, this.options.headerBytes);
    if (report.finalProbe !== 'ok') this.fail(-1, 'final probe', report.finalProbe, Buffer.alloc(0));
    for (const [i, s] of this.servers.entries()) {
      const exit = s.exitStatus?.();
      if (exit) this.crashes.push(`server ${i + 1} exited (${exit.code ?? exit.signal}) during the run`);
      report.servers[i]!.rssEndBytes = processRssBytes(s.pid!);
      report.servers[i]!.fdsEnd = processFdCount(s.pid!);
    }
  }
}

/** A message from a client of each server reaches a client of the other, and `!WHO` lists both. */
async function finalProbe(servers: ServerUnderTest[], h: number): Promise<string> {
  const got: string[][] = [[], []];
  const [a, b] = await Promise.all(
    servers.map((s, i) => RawChat.open(s.port, h, (p) => got[i]!.push(p.toString('latin1')))),
  );
  try {
    if ((await a!.request('!JOIN probe', h)) !== '!OK JOIN probe') return 'a probe could not join';
    if ((await b!.request('!JOIN probe', h)) !== '!OK JOIN probe') return 'a probe could not join';
    await a!.request('!NICK probeA', h);
    await b!.request('!NICK probeB', h);
    const who = await a!.request('!WHO', h);
    if (who !== '!OK WHO probe probeA probeB') return `!WHO across servers: ${who}`;
    await a!.request('across', h);
    await b!.request('back', h);
    const deadline = performance.now() + 5_000;
    const ok = () => got[1]!.includes('!MSG probe probeA across') && got[0]!.includes('!MSG probe probeB back');
    while (!ok() && performance.now() < deadline) await sleep(50);
    return ok() ? 'ok' : 'a message did not cross between the servers';
  } catch (err) {
    return `the probe failed: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    a?.socket.destroy();
    b?.socket.destroy();
  }
}

/** One line per problem; empty when the run found nothing. */
export function chatFuzzProblems(report: ChatFuzzReport): string[] {
  const out: string[] = [];
  if (report.crashes.length > 0) out.push(`${report.crashes.length} crash(es): ${report.crashes[0]}`);
  if (report.wrong > 0)
    out.push(`${report.wrong} wrong outcome(s), first: ${report.failures[0]?.kind}: ${report.failures[0]?.problem}`);
  if (report.leftOpen > 0) out.push(`${report.leftOpen} session(s) left open`);
  if (report.inputs < report.options.inputs)
    out.push(`only ${report.inputs} of ${report.options.inputs} inputs were run`);
  return out;
}
