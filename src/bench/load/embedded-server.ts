/**
 * The server under test as a child process, so its CPU and the tester's are
 * measured apart. Talks to it only through its documented interface: one JSON
 * object per stdout line, SIGUSR2 for a `stats` line, SIGTERM to stop.
 */
import { type ChildProcess, type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { ServerStats } from '../../server/server.ts';
import type { Mode, Strategy } from '../../server/options.ts';
import { EmbeddedServerError } from '../../protocol/index.ts';
import { stopChild } from './processes.ts';
import { processCpuSeconds, REPO_DIR, threadCpuSeconds } from '../shared/system.ts';

export interface EmbeddedServerOptions {
  workers: number;
  strategy: Strategy;
  mode: Mode;
  headerBytes: number;
  maxConnections: number;
  /** Chat mode: the `--bus` URL (`redis://`, `redis-cluster://`, `nats://`), so that several servers are one chat. */
  bus?: string;
  /** Serve TLS with this certificate and key. */
  tls?: { certFile: string; keyFile: string } | null;
  /** Command before the flags; default `bin/handoff serve`. */
  command?: readonly string[];
  /** More `serve` flags (the soak and the fuzz runs: timeouts, limits, --metrics-port). */
  extraArgs?: readonly string[];
  startTimeoutMs?: number;
}

export interface ServerUnderTest {
  readonly host: string;
  readonly port: number;
  /** Null for a server we did not start (--target). */
  readonly pid: number | null;
  readonly workers: number | null;
  readonly strategy: string | null;
  stats(): Promise<ServerStats | null>;
  cpuSeconds(): number | null;
  /** CPU seconds of its main thread alone (strategy handoff: the acceptor); null when not ours to read. */
  mainThreadCpuSeconds?(): number | null;
  stop(): Promise<void>;
  /** How the process ended, null while it runs (or when we did not start it). */
  exitStatus?(): { code: number | null; signal: string | null } | null;
  /** Calls `listener` with every later stdout line whose `event` is `event`. */
  onEvent?(event: string, listener: (line: Record<string, unknown>) => void): void;
  /** The last stdout line printed so far with this `event` (such as `metrics`, right after `listening`). */
  lastLine?(event: string): Record<string, unknown> | undefined;
}

const STATS_TIMEOUT_MS = 5_000;

type Line = Record<string, unknown> & { event?: string };

function defaultServerCommand(): string[] {
  return [path.join(REPO_DIR, 'bin', 'handoff'), 'serve'];
}

/** Starts the server, waits for its `listening` line, and hands back its handle. */
export async function startEmbeddedServer(options: EmbeddedServerOptions): Promise<ServerUnderTest> {
  const [cmd, ...pre] = options.command && options.command.length > 0 ? options.command : defaultServerCommand();
  const child = spawn(cmd!, [...pre, ...serveArgs(options)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = new ServerOutput(child);
  const spawnError = new Promise<never>((_, reject) => child.once('error', reject));
  spawnError.catch(() => {});
  let listening: Line;
  try {
    listening = await Promise.race([output.waitFor('listening', options.startTimeoutMs ?? 20_000), spawnError]);
  } catch (err) {
    if (!output.exited) child.kill('SIGKILL');
    if (err instanceof EmbeddedServerError) throw err;
    throw new EmbeddedServerError(`cannot start the server '${cmd}': ${(err as Error).message}`, { cause: err });
  }
  return runningServer(child, output, listening, options);
}

/** The `serve` flags of the server under test. */
function serveArgs(options: EmbeddedServerOptions): string[] {
  return [
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--json',
    '--quiet',
    '--workers',
    String(options.workers),
    '--strategy',
    options.strategy,
    '--mode',
    options.mode,
    '--header-bytes',
    String(options.headerBytes),
    '--max-connections',
    String(options.maxConnections),
    ...(options.bus ? ['--bus', options.bus] : []),
    ...(options.tls ? ['--tls-cert', options.tls.certFile, '--tls-key', options.tls.keyFile] : []),
    // The bench opens all its connections from one address.
    '--max-connections-per-ip',
    '0',
    ...(options.extraArgs ?? []),
  ];
}

type ExitStatus = { code: number | null; signal: string | null };

/** What the child prints (one JSON object per stdout line; the tail of stderr) and how it ended. */
class ServerOutput {
  exited: ExitStatus | null = null;
  readonly #waiters: Array<{ event: string; resolve: (line: Line) => void }> = [];
  readonly #eventListeners: Array<[string, (line: Line) => void]> = [];
  readonly #lastLines = new Map<string, Line>();
  readonly #exitListeners: Array<() => void> = [];
  #stderrTail = '';

  constructor(child: ChildProcessByStdio<null, Readable, Readable>) {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.#stderrTail = (this.#stderrTail + chunk).slice(-2000);
    });
    child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      for (const l of this.#exitListeners.splice(0)) l();
    });
    createInterface({ input: child.stdout }).on('line', (text) => this.#onLine(text));
  }

  #onLine(text: string): void {
    let line: Line;
    try {
      line = JSON.parse(text) as Line;
    } catch {
      return; // not a JSON line: nothing we wait for
    }
    if (typeof line.event === 'string') this.#lastLines.set(line.event, line);
    for (const [event, listener] of this.#eventListeners) if (event === line.event) listener(line);
    const i = this.#waiters.findIndex((w) => w.event === line.event);
    if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(line);
  }

  #describeExit(): string {
    const tail = this.#stderrTail;
    return `the server exited (${this.exited?.code ?? this.exited?.signal})${tail ? `: ${tail.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
  }

  waitFor(event: string, timeoutMs: number): Promise<Line> {
    return new Promise((resolve, reject) => {
      if (this.exited) {
        reject(new EmbeddedServerError(`waiting for '${event}': ${this.#describeExit()}`));
        return;
      }
      const waiter = {
        event,
        resolve: (line: Line) => {
          clearTimeout(timer);
          resolve(line);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
        reject(new EmbeddedServerError(`the server printed no '${event}' line within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiters.push(waiter);
      this.#exitListeners.push(() => {
        clearTimeout(timer);
        reject(new EmbeddedServerError(`waiting for '${event}': ${this.#describeExit()}`));
      });
    });
  }

  onEvent(event: string, listener: (line: Line) => void): void {
    this.#eventListeners.push([event, listener]);
  }

  lastLine(event: string): Line | undefined {
    return this.#lastLines.get(event);
  }
}

/** The handle of a server that is listening: stats on SIGUSR2, its CPU, stop on SIGTERM. */
function runningServer(
  child: ChildProcess,
  output: ServerOutput,
  listening: Line,
  options: EmbeddedServerOptions,
): ServerUnderTest {
  const pid = typeof listening.pid === 'number' ? listening.pid : child.pid!;
  // One stats request at a time: two SIGUSR2 in a row could be merged into one line.
  let statsChain: Promise<unknown> = Promise.resolve();
  return {
    host: typeof listening.host === 'string' ? listening.host : '127.0.0.1',
    port: Number(listening.port),
    pid,
    workers: typeof listening.workers === 'number' ? listening.workers : options.workers,
    strategy: typeof listening.strategy === 'string' ? listening.strategy : options.strategy,
    stats() {
      const next = statsChain.then(async () => {
        if (output.exited) return null;
        const line = output.waitFor('stats', STATS_TIMEOUT_MS);
        child.kill('SIGUSR2');
        return toStats(await line);
      });
      statsChain = next.catch(() => {});
      return next;
    },
    cpuSeconds: () => processCpuSeconds(pid),
    mainThreadCpuSeconds: () => threadCpuSeconds(pid),
    stop: () => stopChild(child),
    exitStatus: () => output.exited,
    onEvent: (event, listener) => output.onEvent(event, listener),
    lastLine: (event) => output.lastLine(event),
  };
}

function toStats(line: Line): ServerStats {
  // Fields may sit at the top level or under `stats`.
  const s = (typeof line.stats === 'object' && line.stats !== null ? line.stats : line) as Partial<ServerStats>;
  return {
    activeConnections: Number(s.activeConnections ?? 0),
    maxConnections: Number(s.maxConnections ?? 0),
    totalConnections: Number(s.totalConnections ?? 0),
    refusedConnections: Number(s.refusedConnections ?? 0),
    messages: Number(s.messages ?? 0),
    deliveries: Number(s.deliveries ?? 0),
    bytesIn: Number(s.bytesIn ?? 0),
    bytesOut: Number(s.bytesOut ?? 0),
    workers: Array.isArray(s.workers)
      ? s.workers.map((w) => ({
          activeConnections: Number(w.activeConnections ?? 0),
          totalConnections: Number(w.totalConnections ?? 0),
          messages: Number(w.messages ?? 0),
        }))
      : [],
  };
}

/** A server somebody else runs (--target): no pid, no stats, nothing to stop. */
export function externalServer(host: string, port: number): ServerUnderTest {
  return {
    host,
    port,
    pid: null,
    workers: null,
    strategy: null,
    stats: () => Promise.resolve(null),
    cpuSeconds: () => null,
    stop: async () => {},
  };
}
