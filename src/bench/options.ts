import { availableParallelism } from 'node:os';
import { InvalidOptionError, MAX_HEADER_BYTES, MIN_HEADER_BYTES } from '../protocol/index.ts';
import { MODES, type Mode, STRATEGIES, type Strategy } from '../server/options.ts';

export { InvalidOptionError };

/**
 * Everything a bench run takes. All optional; units are in the names. The yargs
 * layer (cli.ts) maps argv onto this, and tests call resolveBenchOptions directly.
 * List-valued and unit-carrying fields also accept the strings a user types
 * (`sizes: '16,1k,64k'`), so parsing argv needs no second code path.
 */
export interface BenchOptions {
  clients?: number;
  /** Messages in flight per connection. */
  pipelining?: number;
  /** Seconds per measurement (ignored when `messages` is set). */
  durationS?: number;
  /** Messages per measurement instead of a duration. */
  messages?: number | string;
  warmupS?: number;
  /** Payload sizes in bytes, or a string such as `16,256,1k,64k`. */
  sizes?: readonly number[] | string;
  headerBytes?: readonly number[] | string | number;
  mode?: Mode;
  /** Total send rate of all connections together, messages/s; 0 = closed loop. */
  rate?: number | string;
  /** Load-generating threads. */
  workers?: number;
  label?: string;
  json?: boolean;
  /** Folder for the saved run; '' = do not save. */
  out?: string;
  /** `host:port` of a running server; empty = start one (embedded). */
  target?: string;
  /** Worker threads of the embedded server. */
  serverWorkers?: number;
  strategies?: readonly Strategy[] | string;
  /** Rounds: each round runs every strategy x header once (A B A B). */
  repeat?: number;
  /** A message unanswered this long counts as a timeout. */
  timeoutS?: number;
  /** Connections not made this long after the first was tried are given up (and counted). */
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
  messages: 0,
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
});

/** Payload sizes above this are refused: the server's default limit is 1 MiB. */
export const MAX_SIZE_BYTES = 1024 * 1024;

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
};
const COUNT_UNITS: Record<string, number> = { '': 1, k: 1e3, m: 1e6 };

/** `64k` -> 65536, `1.5KiB` -> 1536, `16` -> 16; binary units, as sizes are. Throws on anything else. */
export function parseSize(text: string | number, option = 'sizes'): number {
  return withUnit(text, SIZE_UNITS, option, 'a size such as 16, 256, 1k, 64KiB or 1m');
}

/** `10k` -> 10000, `2.5m` -> 2500000; decimal units, as counts and rates are. */
export function parseCount(text: string | number, option: string): number {
  return withUnit(text, COUNT_UNITS, option, 'a number such as 500, 10k or 1.5m');
}

function withUnit(text: string | number, units: Record<string, number>, option: string, hint: string): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new InvalidOptionError(option, `--${option}: ${text} is not ${hint}`);
    return text;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const factor = m ? units[m[2]!.toLowerCase()] : undefined;
  if (!m || factor === undefined) throw new InvalidOptionError(option, `--${option}: '${text}' is not ${hint}`);
  const value = Number(m[1]) * factor;
  if (!Number.isInteger(value))
    throw new InvalidOptionError(option, `--${option}: '${text}' is not a whole number of units`);
  return value;
}

/** `a,b c` or an array (yargs gives arrays for repeated flags) -> trimmed non-empty items. */
export function splitList(value: string | number | readonly (string | number)[]): string[] {
  const items = Array.isArray(value) ? value : [value];
  return items
    .flatMap((item) => String(item).split(/[,\s]+/))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

function integerIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `--${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function numberIn(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `--${name} must be a number from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** `host:port`, `:port` or `port` (host 127.0.0.1); `[::1]:port` for IPv6. */
export function parseTarget(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*))?:?(\d+)$/.exec(text.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new InvalidOptionError('target', `--target must be host:port (port 1-65535), got '${text}'`);
  }
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

export function defaultWorkers(clients: number): number {
  // Leave cores to an embedded server: half the machine, at least one thread.
  return Math.max(1, Math.min(clients, Math.floor(availableParallelism() / 2)));
}

/** Validates every field once, with a precise message, and fills in defaults. */
export function resolveBenchOptions(options: BenchOptions = {}): ResolvedBenchOptions {
  const clients = integerIn('clients', options.clients ?? BENCH_DEFAULTS.clients, 1, 100_000);
  const pipelining = integerIn('pipelining', options.pipelining ?? BENCH_DEFAULTS.pipelining, 1, 10_000);
  const durationS = numberIn('duration', options.durationS ?? BENCH_DEFAULTS.durationS, 0.1, 86_400);
  const messages =
    options.messages === undefined ? 0 : integerIn('messages', parseCount(options.messages, 'messages'), 1, 1e12);
  const warmupS = numberIn('warmup', options.warmupS ?? BENCH_DEFAULTS.warmupS, 0, 3600);

  const sizes =
    options.sizes === undefined
      ? BENCH_DEFAULTS.sizes
      : typeof options.sizes === 'string'
        ? splitList(options.sizes).map((s) => parseSize(s))
        : options.sizes.map((s) => parseSize(s));
  if (sizes.length === 0) throw new InvalidOptionError('sizes', '--sizes needs at least one size');
  for (const size of sizes) {
    if (size > MAX_SIZE_BYTES)
      throw new InvalidOptionError('sizes', `--sizes: ${size} bytes is above the 1 MiB message limit`);
  }

  const headerList =
    options.headerBytes === undefined
      ? BENCH_DEFAULTS.headerBytes
      : typeof options.headerBytes === 'number'
        ? [options.headerBytes]
        : splitList(options.headerBytes as string | readonly string[]).map(Number);
  if (headerList.length === 0) throw new InvalidOptionError('header-bytes', '--header-bytes needs at least one size');
  const headerBytes = headerList.map((h) => integerIn('header-bytes', h, MIN_HEADER_BYTES, MAX_HEADER_BYTES));
  for (const h of headerBytes) {
    const largest = Math.max(...sizes);
    if (String(largest).length > h) {
      throw new InvalidOptionError(
        'header-bytes',
        `--header-bytes ${h} cannot carry the length of a ${largest}-byte payload`,
      );
    }
  }

  const mode = options.mode ?? BENCH_DEFAULTS.mode;
  if (!MODES.includes(mode))
    throw new InvalidOptionError('mode', `--mode must be one of ${MODES.join(', ')}, got ${String(mode)}`);

  const rate = options.rate === undefined ? 0 : parseCount(options.rate, 'rate');
  numberIn('rate', rate, 0, 1e9);

  const workers = integerIn('workers', options.workers ?? defaultWorkers(clients), 1, 256);
  if (workers > clients) {
    throw new InvalidOptionError(
      'workers',
      `--workers ${workers} is more than --clients ${clients}: each thread needs a connection`,
    );
  }

  const strategyList = options.strategies === undefined ? BENCH_DEFAULTS.strategies : splitList(options.strategies);
  if (strategyList.length === 0) throw new InvalidOptionError('strategy', '--strategy needs at least one strategy');
  for (const s of strategyList) {
    if (!STRATEGIES.includes(s as Strategy)) {
      throw new InvalidOptionError('strategy', `--strategy must be among ${STRATEGIES.join(', ')}, got '${s}'`);
    }
  }
  const strategies = [...new Set(strategyList)] as Strategy[];

  const target = options.target ? parseTarget(options.target) : null;
  if (target && headerBytes.length > 1) {
    throw new InvalidOptionError(
      'header-bytes',
      '--target measures one running server, so give one --header-bytes (the one it uses)',
    );
  }
  if (target && strategies.length > 1) {
    throw new InvalidOptionError('strategy', '--strategy chooses the embedded server; it cannot be used with --target');
  }

  const label = options.label ?? BENCH_DEFAULTS.label;
  if (typeof label !== 'string' || /[\n\r]/.test(label))
    throw new InvalidOptionError('label', '--label must be one line of text');

  return Object.freeze({
    clients,
    pipelining,
    durationS,
    messages,
    warmupS,
    sizes: Object.freeze([...new Set(sizes)]),
    headerBytes: Object.freeze([...new Set(headerBytes)]),
    mode,
    rate,
    workers,
    label,
    json: options.json ?? BENCH_DEFAULTS.json,
    out: options.out ?? BENCH_DEFAULTS.out,
    target,
    serverWorkers: integerIn('server-workers', options.serverWorkers ?? BENCH_DEFAULTS.serverWorkers, 1, 256),
    strategies: Object.freeze(strategies),
    repeat: integerIn('repeat', options.repeat ?? BENCH_DEFAULTS.repeat, 1, 1000),
    timeoutS: numberIn('timeout', options.timeoutS ?? BENCH_DEFAULTS.timeoutS, 0.1, 3600),
    connectTimeoutS: numberIn(
      'connect-timeout',
      options.connectTimeoutS ?? BENCH_DEFAULTS.connectTimeoutS,
      0.001,
      3600,
    ),
    progress: options.progress ?? BENCH_DEFAULTS.progress,
    serverCommand: Object.freeze([...(options.serverCommand ?? [])]),
  });
}

/** Bytes for humans: 16 B, 1 KiB, 64 KiB. */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 ** 2 && bytes % 1024 ** 2 === 0) return `${bytes / 1024 ** 2} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}
