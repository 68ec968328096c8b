import { availableParallelism } from 'node:os';
import { InvalidOptionError, MAX_HEADER_BYTES, MIN_HEADER_BYTES } from '../protocol/index.ts';
import { boolean, choice, integer, MAX_SECONDS, number, parseHostPort, text } from '../options/validators.ts';
import { MODES, type Mode, STRATEGIES, type Strategy } from '../server/options.ts';

/**
 * Everything a bench run takes. All optional; units are in the names, values
 * are parsed (numbers, arrays): a command line's `16,1k` or `10k` is parsed by
 * its flag table (cli.ts), and resolveBenchOptions validates every field once.
 */
export interface BenchOptions {
  clients?: number;
  /** Messages in flight per connection. */
  pipelining?: number;
  /** Seconds per measurement (ignored when `messages` is set). */
  durationS?: number;
  /** Messages per measurement instead of a duration. */
  messages?: number;
  warmupS?: number;
  /** Payload sizes in bytes. */
  sizes?: readonly number[];
  /** Header sizes to sweep. */
  headerBytes?: readonly number[];
  mode?: Mode;
  /** Total send rate of all connections together, messages/s; 0 = closed loop. */
  rate?: number;
  /** Load-generating threads. Default: half the cores, at most one per connection. */
  workers?: number;
  label?: string;
  json?: boolean;
  /** Folder for the saved run; '' = do not save. */
  out?: string;
  /** `host:port`, `[v6]:port` or `port` of a running server; empty = start one (embedded). */
  target?: string;
  /** Worker threads of the embedded server. */
  serverWorkers?: number;
  strategies?: readonly Strategy[];
  /** Rounds: each round runs every strategy x header once (A B A B). */
  repeat?: number;
  /** A message unanswered this long counts as a timeout. */
  timeoutS?: number;
  /** Connections not made this long after they were tried are given up (and counted). */
  connectTimeoutS?: number;
  /** Progress bars on stderr (only when it is a TTY). */
  progress?: boolean;
  /** The embedded server's command line before its flags (tests swap in a fake). */
  serverCommand?: readonly string[];
}

export interface ResolvedBenchOptions {
  readonly clients: number;
  readonly pipelining: number;
  readonly durationS: number;
  /** 0: the duration decides. */
  readonly messages: number;
  readonly warmupS: number;
  readonly sizes: readonly number[];
  readonly headerBytes: readonly number[];
  readonly mode: Mode;
  readonly rate: number;
  readonly workers: number;
  readonly label: string;
  readonly json: boolean;
  readonly out: string;
  readonly target: { readonly host: string; readonly port: number } | null;
  readonly serverWorkers: number;
  readonly strategies: readonly Strategy[];
  readonly repeat: number;
  readonly timeoutS: number;
  readonly connectTimeoutS: number;
  readonly progress: boolean;
  readonly serverCommand: readonly string[];
}

/** From 16 B to 64 KiB, by fours. */
export const DEFAULT_SIZES: readonly number[] = Object.freeze([16, 64, 256, 1024, 4096, 16384, 65536]);

export const BENCH_DEFAULTS = Object.freeze({
  clients: 50,
  pipelining: 1,
  durationS: 5,
  warmupS: 1,
  sizes: DEFAULT_SIZES,
  headerBytes: Object.freeze<number[]>([64]),
  mode: 'ack',
  rate: 0,
  label: '',
  json: false,
  out: 'results',
  serverWorkers: availableParallelism(),
  strategies: Object.freeze<Strategy[]>(['handoff']),
  repeat: 1,
  timeoutS: 10,
  connectTimeoutS: 10,
  progress: true,
  serverCommand: Object.freeze<string[]>([]),
});

/** Payload sizes above this are refused: the server's default limit is 1 MiB. */
export const MAX_SIZE_BYTES = 1024 * 1024;

export function defaultWorkers(clients: number): number {
  // Leave cores to an embedded server: half the machine, at least one thread.
  return Math.max(1, Math.min(clients, Math.floor(availableParallelism() / 2)));
}

/** A non-empty list, each item checked by `each`; repeats dropped, order kept. */
function list<T>(option: string, value: unknown, each: (item: unknown) => T): readonly T[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new InvalidOptionError(option, `{${option}} needs at least one value`);
  }
  return Object.freeze([...new Set(value.map(each))]);
}

function commandLine(value: unknown): readonly string[] {
  if (!Array.isArray(value))
    throw new InvalidOptionError('serverCommand', '{serverCommand} must be an array of strings');
  return Object.freeze(value.map((part) => text('serverCommand', part, { nonEmpty: true })));
}

function size(value: unknown): number {
  const bytes = integer('sizes', value, 0, Number.MAX_SAFE_INTEGER);
  if (bytes > MAX_SIZE_BYTES) {
    throw new InvalidOptionError('sizes', `{sizes}: ${bytes} bytes is above the 1 MiB message limit`);
  }
  return bytes;
}

/** Validates every field once, with a precise message naming the option, and fills in defaults. */
export function resolveBenchOptions(options: BenchOptions = {}): ResolvedBenchOptions {
  // A field given as undefined takes its default, as a missing one does.
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as BenchOptions;
  const o = { ...BENCH_DEFAULTS, ...given };
  const clients = integer('clients', o.clients, 1, 100_000);
  const sizes = list('sizes', o.sizes, size);
  const headerBytes = list('headerBytes', o.headerBytes, (h) =>
    integer('headerBytes', h, MIN_HEADER_BYTES, MAX_HEADER_BYTES),
  );
  const largest = Math.max(...sizes);
  for (const h of headerBytes) {
    if (String(largest).length > h) {
      throw new InvalidOptionError(
        'headerBytes',
        `{headerBytes} ${h} cannot carry the length of a ${largest}-byte payload`,
      );
    }
  }
  const workers = integer('workers', o.workers ?? defaultWorkers(clients), 1, 256);
  if (workers > clients) {
    throw new InvalidOptionError(
      'workers',
      `{workers} ${workers} is more than {clients} ${clients}: each thread needs a connection`,
    );
  }
  const strategies = list('strategies', o.strategies, (s) => choice('strategies', s, STRATEGIES));
  const target = o.target ? parseHostPort('target', o.target) : null;
  if (target && headerBytes.length > 1) {
    throw new InvalidOptionError(
      'headerBytes',
      '{target} measures one running server, so give one {headerBytes} (the one it uses)',
    );
  }
  if (target && strategies.length > 1) {
    throw new InvalidOptionError(
      'strategies',
      '{strategies} chooses the embedded server; it cannot be used with {target}',
    );
  }
  return Object.freeze({
    clients,
    pipelining: integer('pipelining', o.pipelining, 1, 10_000),
    durationS: number('durationS', o.durationS, 0.1, MAX_SECONDS),
    messages: o.messages === undefined ? 0 : integer('messages', o.messages, 1, 1e12),
    warmupS: number('warmupS', o.warmupS, 0, 3600),
    sizes,
    headerBytes,
    mode: choice('mode', o.mode, MODES),
    rate: number('rate', o.rate, 0, 1e9),
    workers,
    label: text('label', o.label, { oneLine: true }),
    json: boolean('json', o.json),
    out: text('out', o.out),
    target,
    serverWorkers: integer('serverWorkers', o.serverWorkers, 1, 256),
    strategies,
    repeat: integer('repeat', o.repeat, 1, 1000),
    timeoutS: number('timeoutS', o.timeoutS, 0.1, 3600),
    connectTimeoutS: number('connectTimeoutS', o.connectTimeoutS, 0.001, 3600),
    progress: boolean('progress', o.progress),
    serverCommand: commandLine(o.serverCommand),
  });
}
