import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import {
  escapeOptionText as escapeText,
  InvalidOptionError,
  MAX_HEADER_BYTES,
  MIN_HEADER_BYTES,
} from '../protocol/index.ts';
import { boolean, choice, integer, MAX_SECONDS, number, parseHostPort, text } from '../options/validators.ts';
import { MODES, type Mode, STRATEGIES, type Strategy } from '../server/options.ts';
import { roomShapes } from './load/chat/layout.ts';
import { MAX_SENDERS, STAMP_BYTES } from './load/chat/stamp.ts';
import { BENCH_BUSES, type BenchBus, TARGET_KINDS, type TargetKind } from './results/chat-result.ts';

/**
 * Everything a bench run takes. All optional; units are in the names, values
 * are parsed (numbers, arrays): a command line's `16,1k` or `10k` is parsed by
 * its flag table (cli.ts), and resolveBenchOptions validates every field once.
 */
export interface BenchOptions {
  /** Connections; in chat mode a list sweeps them (senders included: receivers = clients - senders). */
  clients?: number | readonly number[];
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
  /** Send rate of each connection, messages/s (instead of `rate`: the total is this times `clients`). */
  connectionRate?: number;
  /** Exactly this many messages per measurement, over all connections, then stop (no warm-up; instead of a duration). */
  amount?: number;
  /** End the run once a measurement has had this many errors (0 = never). */
  bailout?: number;
  /** The payloads to send, round-robin per connection, instead of synthetic ones of `sizes` (UTF-8 text each). */
  payloads?: readonly string[];
  /** A file of payloads: one message per line, or a JSON array of strings. */
  payloadFile?: string;
  /** A JSON value to send: an object (one payload) or an array of them (round-robin), each serialised compactly. */
  payloadJson?: unknown;
  /** A server command to start (its port in $PORT), measure as the target, and stop: autocannon's --on-port. */
  onPort?: readonly string[];
  /** Load-generating threads. Default: half the cores, at most one per connection. */
  workers?: number;
  label?: string;
  json?: boolean;
  /** Folder for the saved run; '' = do not save. */
  out?: string;
  /** `host:port`, `[v6]:port` or `port` of a running server; empty = start one (embedded). */
  target?: string;
  /** Worker threads of the embedded server; in chat mode a list gives one variant each. */
  serverWorkers?: number | readonly number[];
  strategies?: readonly Strategy[];
  /** Speak TLS (the embedded server is started with a throw-away certificate). Same as `transports: ['tls']`. */
  tls?: boolean;
  /** Plain TCP, TLS, or both taking turns in each round (to measure what TLS costs). Default ['tcp']. */
  transports?: readonly Transport[];
  /** With TLS and `target`: a PEM file of the CAs that signed the server's certificate. */
  ca?: string;
  /** Rounds: each round runs every strategy x header once (A B A B). */
  repeat?: number;
  /** A message unanswered this long counts as a timeout. */
  timeoutS?: number;
  /** Connections not made this long after they were tried are given up (and counted). */
  connectTimeoutS?: number;
  /** Progress bars on stderr (only when it is a TTY). */
  progress?: boolean;
  /**
   * Connection churn: each connection sends this many messages, closes and is made again at once
   * (1: a connection per message); several are points of the sweep, like sizes. Empty: connections stay open.
   */
  churn?: number | readonly number[];
  /** The embedded server's command line before its flags (tests swap in a fake). */
  serverCommand?: readonly string[];
  // Chat mode (mode 'chat'): one room or several, senders and receivers, against handoff, NATS or Redis.
  /** Connections that send (the others only receive), spread over the rooms. */
  senders?: number;
  rooms?: number;
  /** Unacknowledged messages each sender may have (closed loop, and the cap at a rate). */
  window?: number;
  /** NATS acknowledges nothing: a sender PINGs after every this many messages and counts PONGs. */
  natsPingEvery?: number;
  /** What to measure: handoff's chat, nats-server, redis-server (started here, or --target). */
  targetKinds?: readonly TargetKind[];
  /** Embedded handoff servers on one bus, the members of every room spread over them (default 1). */
  servers?: number;
  /** What joins them, started here: `local` (one server's own threads), `redis`, `redis-cluster` (3 masters), `nats` (3 nodes). */
  bus?: BenchBus;
  /** The old spelling of `bus: 'redis'` (with `servers` 2 unless given). */
  redis?: boolean;
  /** The programs started for target kinds nats and redis, and for the buses. */
  natsServer?: string;
  redisServer?: string;
  /** Joins the Redis Cluster's masters (`redis-cli --cluster create`). */
  redisCli?: string;
}

/** The chat scenario, resolved (mode 'chat'). */
export type ResolvedChatOptions = Readonly<
  Required<
    Pick<
      BenchOptions,
      'senders' | 'rooms' | 'window' | 'natsPingEvery' | 'targetKinds' | 'natsServer' | 'redisServer' | 'redisCli'
    >
  > & {
    /** The sweep of connection counts. */
    clients: readonly number[];
    /** For the handoff target kind: one variant per worker count. */
    serverWorkers: readonly number[];
    /** Embedded handoff servers, and the bus between them (1 and `local`: one server alone). */
    servers: number;
    bus: BenchBus;
  }
>;

export interface ResolvedBenchOptions {
  /** Connections (chat mode: the largest of the sweep, what the open-file limit must allow). */
  readonly clients: number;
  readonly pipelining: number;
  readonly durationS: number;
  /** 0: the duration decides. */
  readonly messages: number;
  /** 0: no exact amount; else messages per measurement, exactly. */
  readonly amount: number;
  /** 0: never bail out. */
  readonly bailout: number;
  /** Each connection's rate when it was given as such (0: not given); `rate` is the total either way. */
  readonly connectionRate: number;
  /** Null: synthetic payloads of `sizes`. */
  readonly payloads: readonly string[] | null;
  /** Empty: no command to start. */
  readonly onPort: readonly string[];
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
  /** Each round runs every transport (tcp, tls) of every strategy x header. */
  readonly transports: readonly Transport[];
  /** PEM file of the CAs to trust over TLS; '' = the system's (embedded: its own certificate). */
  readonly ca: string;
  readonly repeat: number;
  readonly timeoutS: number;
  readonly connectTimeoutS: number;
  readonly progress: boolean;
  /** Messages per connection, one measurement each (per size); empty: connections stay open. */
  readonly churn: readonly number[];
  readonly serverCommand: readonly string[];
  /** Chat mode's scenario; null in ack and echo modes. */
  readonly chat: ResolvedChatOptions | null;
}

export const TRANSPORTS = ['tcp', 'tls'] as const;
export type Transport = (typeof TRANSPORTS)[number];

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
  bailout: 0,
  label: '',
  json: false,
  out: 'results',
  serverWorkers: availableParallelism(),
  strategies: Object.freeze<Strategy[]>(['handoff']),
  repeat: 1,
  timeoutS: 10,
  connectTimeoutS: 10,
  progress: true,
  churn: Object.freeze<number[]>([]),
  serverCommand: Object.freeze<string[]>([]),
  senders: 10,
  rooms: 1,
  window: 64,
  natsPingEvery: 100,
  targetKinds: Object.freeze<TargetKind[]>(['handoff']),
  servers: 1,
  bus: 'local',
  natsServer: 'nats-server',
  redisServer: 'redis-server',
  redisCli: 'redis-cli',
});

/** Handoff servers one bench run may start (each is a process with its threads on this machine). */
const MAX_SERVERS = 16;

/** Options chat mode refuses: they shape ack and echo runs. */
const NOT_CHAT = ['amount', 'bailout', 'connectionRate', 'payloads', 'payloadFile', 'payloadJson', 'onPort'] as const;

/** Options only chat mode takes: given in another mode, they are refused. */
const CHAT_ONLY = [
  'senders',
  'rooms',
  'window',
  'natsPingEvery',
  'targetKinds',
  'servers',
  'bus',
  'redis',
  'natsServer',
  'redisServer',
  'redisCli',
];

/** Payload sizes above this are refused: the server's default limit is 1 MiB. */
const MAX_SIZE_BYTES = 1024 * 1024;

function defaultWorkers(clients: number): number {
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

function commandLine(option: string, value: unknown): readonly string[] {
  if (!Array.isArray(value)) throw new InvalidOptionError(option, `{${option}} must be an array of strings`);
  return Object.freeze(value.map((part) => text(option, part, { nonEmpty: true })));
}

function size(value: unknown): number {
  const bytes = integer('sizes', value, 0, Number.MAX_SAFE_INTEGER);
  if (bytes > MAX_SIZE_BYTES) {
    throw new InvalidOptionError('sizes', `{sizes}: ${bytes} bytes is above the 1 MiB message limit`);
  }
  return bytes;
}

/** The payloads of `payloads`, `payloadFile` or `payloadJson` (at most one of them); null when none is given. */
function resolvePayloads(given: BenchOptions): readonly string[] | null {
  const sources = (['payloads', 'payloadFile', 'payloadJson'] as const).filter((k) => given[k] !== undefined);
  if (sources.length > 1) {
    throw new InvalidOptionError(sources[1]!, `give one of {${sources[0]}} and {${sources[1]}}`);
  }
  let payloads: unknown[];
  if (given.payloadFile !== undefined)
    payloads = readPayloadFile(text('payloadFile', given.payloadFile, { nonEmpty: true }));
  else if (given.payloadJson !== undefined) {
    const value = given.payloadJson;
    const each = Array.isArray(value) ? value : [value];
    payloads = each.map((v) => {
      if (v === null || typeof v !== 'object') {
        throw new InvalidOptionError('payloadJson', '{payloadJson} must be a JSON object or an array of objects');
      }
      return JSON.stringify(v);
    });
  } else if (given.payloads !== undefined) {
    if (!Array.isArray(given.payloads))
      throw new InvalidOptionError('payloads', '{payloads} must be an array of strings');
    payloads = given.payloads;
  } else return null;
  const option = sources[0]!;
  if (payloads.length === 0) throw new InvalidOptionError(option, `{${option}} has no payload in it`);
  for (const p of payloads) {
    if (typeof p !== 'string') throw new InvalidOptionError(option, `{${option}}: every payload must be a string`);
    if (Buffer.byteLength(p) > MAX_SIZE_BYTES) {
      throw new InvalidOptionError(
        option,
        `{${option}}: a payload of ${Buffer.byteLength(p)} bytes is above the 1 MiB message limit`,
      );
    }
  }
  return Object.freeze(payloads as string[]);
}

/** One message per line (a last empty line is no message), or, when the file is a JSON array of strings, its strings. */
function readPayloadFile(file: string): unknown[] {
  let content: string;
  try {
    content = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidOptionError('payloadFile', `{payloadFile} cannot be read: ${escapeText((err as Error).message)}`);
  }
  if (content.trimStart().startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(content);
    } catch (err) {
      throw new InvalidOptionError(
        'payloadFile',
        `{payloadFile} starts with '[' but is no JSON array: ${escapeText((err as Error).message)}`,
      );
    }
    if (!Array.isArray(parsed))
      throw new InvalidOptionError('payloadFile', '{payloadFile} must be a JSON array of strings');
    return parsed;
  }
  const lines = content.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** Validates every field once, with a precise message naming the option, and fills in defaults. */
export function resolveBenchOptions(options: BenchOptions = {}): ResolvedBenchOptions {
  // A field given as undefined takes its default, as a missing one does.
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as BenchOptions;
  const o = { ...BENCH_DEFAULTS, ...given };
  // The phases run in this order, so that of two mistakes the same one is reported first.
  const shape = resolveShape(given, o);
  const messages = resolveMessageShape(given, o);
  const workers = resolveWorkers(o, shape.clientCounts);
  const server = resolveServer(given, o, messages.headerBytes);
  const load = resolveLoad(given, o, shape.clients);
  const transports = resolveTransports(given);
  const ca = resolveCa(o, transports, shape.mode);
  const chat = shape.mode === 'chat' ? resolveChat(given, o, { ...shape, ...messages, target: server.target }) : null;
  return Object.freeze({
    clients: shape.clients,
    pipelining: integer('pipelining', o.pipelining, 1, 10_000),
    durationS: number('durationS', o.durationS, 0.1, MAX_SECONDS),
    messages: o.messages === undefined ? 0 : integer('messages', o.messages, 1, 1e12),
    amount: load.amount,
    bailout: integer('bailout', o.bailout, 0, 1e12),
    connectionRate: load.connectionRate,
    payloads: messages.payloads,
    onPort: server.onPort,
    // An exact amount is the whole measurement: no warm-up before it.
    warmupS: load.amount > 0 ? 0 : number('warmupS', o.warmupS, 0, 3600),
    sizes: messages.sizes,
    headerBytes: messages.headerBytes,
    mode: shape.mode,
    rate: load.rate,
    workers,
    label: text('label', o.label, { oneLine: true }),
    json: boolean('json', o.json),
    out: text('out', o.out),
    target: server.target,
    serverWorkers: shape.serverWorkerCounts[0]!,
    strategies: server.strategies,
    transports,
    ca,
    repeat: integer('repeat', o.repeat, 1, 1000),
    timeoutS: number('timeoutS', o.timeoutS, 0.1, 3600),
    connectTimeoutS: number('connectTimeoutS', o.connectTimeoutS, 0.001, 3600),
    progress: boolean('progress', o.progress),
    churn: resolveChurn(given, shape.mode),
    serverCommand: commandLine('serverCommand', o.serverCommand),
    chat,
  });
}

/** The mode and the sweeps of connection and server thread counts (a sweep only in chat mode). */
interface RunShape {
  mode: Mode;
  clientCounts: readonly number[];
  serverWorkerCounts: readonly number[];
  /** The largest connection count: what the open-file limit must allow. */
  clients: number;
}

function resolveShape(given: BenchOptions, o: BenchOptions): RunShape {
  const mode = choice('mode', o.mode, MODES);
  const clientCounts = list('clients', [o.clients].flat(), (c) => integer('clients', c, 1, 100_000));
  const serverWorkerCounts = list('serverWorkers', [o.serverWorkers].flat(), (w) =>
    integer('serverWorkers', w, 1, 256),
  );
  if (mode !== 'chat') refuseChatOnly(given, clientCounts, serverWorkerCounts);
  else {
    const notChat = NOT_CHAT.find((name) => given[name] !== undefined);
    if (notChat) throw new InvalidOptionError(notChat, `{${notChat}} is not for {mode} chat`);
  }
  return { mode, clientCounts, serverWorkerCounts, clients: Math.max(...clientCounts) };
}

/** What is sent: your own payloads or synthetic ones of `sizes`, and headers that can carry their lengths. */
function resolveMessageShape(
  given: BenchOptions,
  o: BenchOptions,
): { payloads: readonly string[] | null; sizes: readonly number[]; headerBytes: readonly number[] } {
  const payloads = resolvePayloads(given);
  if (payloads && given.sizes !== undefined) {
    throw new InvalidOptionError('sizes', '{sizes} sets synthetic payloads: it cannot go with payloads of your own');
  }
  // Your own payloads are one measurement, named by their mean size; the header must carry the largest.
  const payloadBytes = payloads?.map((p) => Buffer.byteLength(p));
  const sizes = payloadBytes
    ? [Math.round(payloadBytes.reduce((a, b) => a + b, 0) / payloadBytes.length)]
    : list('sizes', o.sizes, size);
  const headerBytes = list('headerBytes', o.headerBytes, (h) =>
    integer('headerBytes', h, MIN_HEADER_BYTES, MAX_HEADER_BYTES),
  );
  const largest = Math.max(...(payloadBytes ?? sizes));
  for (const h of headerBytes) {
    if (String(largest).length > h) {
      throw new InvalidOptionError(
        'headerBytes',
        `{headerBytes} ${h} cannot carry the length of a ${largest}-byte payload`,
      );
    }
  }
  return { payloads, sizes, headerBytes };
}

/** Load threads: at most one per connection of the smallest sweep point. */
function resolveWorkers(o: BenchOptions, clientCounts: readonly number[]): number {
  const fewest = Math.min(...clientCounts);
  const workers = integer('workers', o.workers ?? defaultWorkers(fewest), 1, 256);
  if (workers > fewest) {
    throw new InvalidOptionError(
      'workers',
      `{workers} ${workers} is more than {clients} ${fewest}: each thread needs a connection`,
    );
  }
  return workers;
}

/** The server measured: embedded (with its strategies), a running one (`target`), or one started by `onPort`. */
function resolveServer(
  given: BenchOptions,
  o: BenchOptions,
  headerBytes: readonly number[],
): {
  strategies: readonly Strategy[];
  target: ResolvedBenchOptions['target'];
  onPort: readonly string[];
} {
  const strategies = list('strategies', o.strategies, (s) => choice('strategies', s, STRATEGIES));
  const target = o.target ? parseHostPort('target', o.target) : null;
  const onPort = given.onPort === undefined ? Object.freeze<string[]>([]) : commandLine('onPort', given.onPort);
  if (given.onPort !== undefined && onPort.length === 0)
    throw new InvalidOptionError('onPort', '{onPort} needs a command');
  if (target && onPort.length > 0) {
    throw new InvalidOptionError('onPort', '{onPort} starts the server to measure: it cannot go with {target}');
  }
  const external = target !== null || onPort.length > 0;
  const targetOption = target ? 'target' : 'onPort';
  if (external && headerBytes.length > 1) {
    throw new InvalidOptionError(
      'headerBytes',
      `{${targetOption}} measures one running server, so give one {headerBytes} (the one it uses)`,
    );
  }
  if (external && strategies.length > 1) {
    throw new InvalidOptionError(
      'strategies',
      `{strategies} chooses the embedded server; it cannot be used with {${targetOption}}`,
    );
  }
  return { strategies, target, onPort };
}

/** `ca` needs TLS, and chat mode speaks plain TCP only. */
function resolveCa(o: BenchOptions, transports: readonly Transport[], mode: Mode): string {
  const ca = text('ca', o.ca ?? '');
  if (ca !== '' && !transports.includes('tls')) {
    throw new InvalidOptionError('ca', '{ca} is for TLS connections: it needs {tls}');
  }
  if (mode === 'chat' && transports.includes('tls')) {
    throw new InvalidOptionError('tls', '{tls} is for {mode} ack and echo: the chat tester speaks plain TCP');
  }
  return ca;
}

/** `churn`: whole numbers of messages per connection; closed loop in ack or echo mode only. */
function resolveChurn(given: BenchOptions, mode: Mode): readonly number[] {
  if (given.churn === undefined) return BENCH_DEFAULTS.churn;
  const values = [given.churn].flat();
  if (values.length === 0) return BENCH_DEFAULTS.churn;
  const churn = list('churn', values, (k) => integer('churn', k, 1, 1e9));
  if (mode === 'chat') throw new InvalidOptionError('churn', '{churn} is for {mode} ack and echo');
  if ((given.rate !== undefined && given.rate > 0) || given.connectionRate !== undefined) {
    throw new InvalidOptionError(
      'churn',
      '{churn} runs a closed loop: each connection is made again at once, so no {rate}',
    );
  }
  if (given.amount !== undefined) {
    throw new InvalidOptionError('churn', '{churn} sends K messages on every connection: it cannot go with {amount}');
  }
  return churn;
}

/** How much load: the total rate (or each connection's), and an exact amount; combinations that contradict refused. */
function resolveLoad(
  given: BenchOptions,
  o: BenchOptions,
  clients: number,
): { rate: number; connectionRate: number; amount: number } {
  const amount = given.amount === undefined ? 0 : integer('amount', given.amount, 1, 1e12);
  if (amount > 0) {
    for (const option of ['messages', 'durationS', 'warmupS'] as const) {
      if (given[option] !== undefined) {
        throw new InvalidOptionError(option, `{amount} is the whole measurement: it cannot go with {${option}}`);
      }
    }
  }
  if (given.connectionRate === undefined) return { rate: number('rate', o.rate, 0, 1e9), connectionRate: 0, amount };
  if (given.rate !== undefined) {
    throw new InvalidOptionError(
      'connectionRate',
      'give {rate} (all connections together) or {connectionRate}, not both',
    );
  }
  const connectionRate = number('connectionRate', given.connectionRate, 0.001, 1e9);
  return { rate: number('rate', connectionRate * clients, 0, 1e9), connectionRate, amount };
}

/** `tls` is the one-transport spelling of `transports`; both given, they must agree. */
function resolveTransports(given: BenchOptions): readonly Transport[] {
  const tls = given.tls === undefined ? undefined : boolean('tls', given.tls);
  if (given.transports === undefined) return Object.freeze<Transport[]>([tls ? 'tls' : 'tcp']);
  const transports = list('transports', given.transports, (t) => choice('transports', t, TRANSPORTS));
  if (tls !== undefined && (transports.length !== 1 || (transports[0] === 'tls') !== tls)) {
    throw new InvalidOptionError('tls', `{tls} contradicts {transports} ${transports.join(',')}: give one of them`);
  }
  return transports;
}

/** Ack and echo mode: one connection count, one server, none of chat's options. */
function refuseChatOnly(given: BenchOptions, clients: readonly number[], serverWorkers: readonly number[]): void {
  const chatOnly = CHAT_ONLY.find((name) => given[name as keyof BenchOptions] !== undefined);
  if (chatOnly) throw new InvalidOptionError(chatOnly, `{${chatOnly}} is for {mode} chat only`);
  if (clients.length > 1) {
    throw new InvalidOptionError('clients', 'several {clients} (a sweep) are for {mode} chat only');
  }
  if (serverWorkers.length > 1) {
    throw new InvalidOptionError('serverWorkers', 'several {serverWorkers} are for {mode} chat only');
  }
}

interface ChatInputs {
  clientCounts: readonly number[];
  serverWorkerCounts: readonly number[];
  sizes: readonly number[];
  target: { host: string; port: number } | null;
  headerBytes: readonly number[];
}

/**
 * Chat mode's options, each checked once, and the combinations that cannot be measured refused in one line.
 * In phases: what chat mode does not take, who sends, what is measured (targets), then each room's shape.
 */
function resolveChat(given: BenchOptions, o: BenchOptions, inputs: ChatInputs): ResolvedChatOptions {
  refuseForChat(given, inputs);
  const senders = integer('senders', o.senders, 1, MAX_SENDERS - 1);
  const rooms = integer('rooms', o.rooms, 1, 10_000);
  const targets = resolveChatTargets(given, o, inputs.target);
  checkRooms(inputs.clientCounts, senders, rooms);
  return Object.freeze({
    clients: inputs.clientCounts,
    senders,
    rooms,
    window: integer('window', o.window, 1, 1_000_000),
    natsPingEvery: integer('natsPingEvery', o.natsPingEvery, 1, 1_000_000),
    targetKinds: targets.targetKinds,
    serverWorkers: inputs.serverWorkerCounts,
    servers: targets.servers,
    bus: targets.bus,
    natsServer: text('natsServer', o.natsServer, { nonEmpty: true }),
    redisServer: text('redisServer', o.redisServer, { nonEmpty: true }),
    redisCli: text('redisCli', o.redisCli, { nonEmpty: true }),
  });
}

/** Ack and echo options chat mode cannot honour, and payloads too small for a chat stamp. */
function refuseForChat(given: BenchOptions, { sizes, headerBytes }: ChatInputs): void {
  for (const [option, reason] of [
    ['pipelining', 'chat senders keep {window} messages unacknowledged'],
    ['messages', 'a chat measurement runs for {durationS}'],
  ] as const) {
    if (given[option] !== undefined)
      throw new InvalidOptionError(option, `{${option}} is not for {mode} chat: ${reason}`);
  }
  if (Math.min(...sizes) < STAMP_BYTES) {
    throw new InvalidOptionError(
      'sizes',
      `{sizes} must be at least ${STAMP_BYTES} bytes in {mode} chat: each payload carries the sender, its sequence number and the send time`,
    );
  }
  if (headerBytes.length > 1) throw new InvalidOptionError('headerBytes', 'give one {headerBytes} in {mode} chat');
  if (given.strategies !== undefined && given.strategies.length > 1) {
    throw new InvalidOptionError('strategies', 'give one {strategies} in {mode} chat (it starts the handoff servers)');
  }
}

/**
 * What chat mode measures: the target kinds, and how the handoff servers are started (their threads, how many,
 * the bus between them), or the one running server of `target`.
 */
function resolveChatTargets(
  given: BenchOptions,
  o: BenchOptions,
  target: ChatInputs['target'],
): { targetKinds: readonly TargetKind[]; servers: number; bus: BenchBus } {
  const targetKinds = list('targetKinds', o.targetKinds, (k) => choice('targetKinds', k, TARGET_KINDS));
  const handoff = targetKinds.includes('handoff');
  if (given.serverWorkers !== undefined && !handoff) {
    throw new InvalidOptionError(
      'serverWorkers',
      `{serverWorkers} sets the handoff server's threads: {targetKinds} ${targetKinds.join(',')} starts none`,
    );
  }
  if (target) refuseWithTarget(given, targetKinds);
  const { servers, bus } = resolveServersAndBus(given, o);
  const named = (['servers', 'bus', 'redis'] as const).find((k) => given[k] !== undefined && given[k] !== false);
  if (named && targetKinds.some((k) => k !== 'handoff')) {
    throw new InvalidOptionError(
      named,
      `{${named}} starts handoff servers on a bus: it cannot go with {targetKinds} ${targetKinds.join(',')}`,
    );
  }
  return { targetKinds, servers, bus };
}

/** `servers` and `bus` (or the old `redis`, which is `bus` redis on 2 servers unless `servers` says otherwise). */
function resolveServersAndBus(given: BenchOptions, o: BenchOptions): { servers: number; bus: BenchBus } {
  const redis = boolean('redis', o.redis ?? false);
  const chosen = choice('bus', o.bus, BENCH_BUSES);
  if (redis && given.bus !== undefined && chosen !== 'redis') {
    throw new InvalidOptionError(
      'redis',
      `{redis} is the old spelling of {bus} redis: it cannot go with {bus} ${chosen}`,
    );
  }
  const bus = redis ? 'redis' : chosen;
  const servers = integer('servers', given.servers ?? (redis ? 2 : 1), 1, MAX_SERVERS);
  if (bus === 'local' && servers > 1) {
    throw new InvalidOptionError(
      'servers',
      `{servers} ${servers} needs a bus between the servers: {bus} local is one process's own threads ` +
        '(give {bus} redis, redis-cluster or nats)',
    );
  }
  return { servers, bus };
}

/** A running server is one target: no second kind, and no option that chooses the embedded servers. */
function refuseWithTarget(given: BenchOptions, targetKinds: readonly TargetKind[]): void {
  if (targetKinds.length > 1) {
    throw new InvalidOptionError('targetKinds', '{target} is one running server: give the one {targetKinds} it speaks');
  }
  for (const option of ['servers', 'bus', 'redis', 'serverWorkers'] as const) {
    if (given[option] !== undefined) {
      throw new InvalidOptionError(option, `{${option}} chooses the embedded servers; it cannot be used with {target}`);
    }
  }
}

/** At every point of the sweep, each room has a sender and a connection that only receives. */
function checkRooms(clientCounts: readonly number[], senders: number, rooms: number): void {
  for (const clients of clientCounts) {
    if (senders > clients) {
      throw new InvalidOptionError(
        'senders',
        `{senders} ${senders} is more than {clients} ${clients}: senders are clients`,
      );
    }
    if (rooms > senders) {
      throw new InvalidOptionError(
        'rooms',
        `{rooms} ${rooms} is more than {senders} ${senders}: each room needs a sender`,
      );
    }
    const quiet = roomShapes(clients, senders, rooms, 'handoff').findIndex((r) => r.receivers === 0);
    if (quiet >= 0) {
      throw new InvalidOptionError(
        'clients',
        `{clients} ${clients} with {senders} ${senders} in {rooms} ${rooms} leaves room ${quiet} without a receiver: ` +
          'each room needs a connection that only receives',
      );
    }
  }
}
