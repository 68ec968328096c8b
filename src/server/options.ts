import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { boolean, choice, DAY_MS, integer, shown, text } from '../options/validators.ts';
import {
  DEFAULT_HEADER_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_PORT,
  InvalidOptionError,
  MAX_DELIVERY_PREFIX_BYTES,
  MAX_HEADER_BYTES,
  MIN_HEADER_BYTES,
} from '../protocol/index.ts';
import { LONGEST_COMMAND_REPLY_BYTES } from './chat/commands.ts';
import { maxWhoBytes } from './chat/who.ts';

export const STRATEGIES = ['handoff', 'reuseport', 'single'] as const;
export type Strategy = (typeof STRATEGIES)[number];
export const MODES = ['ack', 'echo', 'chat'] as const;
export type Mode = (typeof MODES)[number];
export const ACK_STYLES = ['framed', 'raw'] as const;
export type AckStyle = (typeof ACK_STYLES)[number];

/** Everything startServer() takes. All optional; units are in the names. */
export interface ServerOptions {
  /** Address to bind. Default 127.0.0.1. */
  host?: string;
  /** Port; 0 picks a free one. Default 5050. */
  port?: number;
  headerBytes?: number;
  maxMessageBytes?: number;
  /** One limit for the whole server, all workers together. */
  maxConnections?: number;
  /** From a frame's first byte to its last. */
  frameTimeoutMs?: number;
  /** From accept to the end of the PROXY header and the TLS handshake (when either is on). */
  handshakeTimeoutMs?: number;
  /** From connect or the last complete frame; 0 = never. */
  idleTimeoutMs?: number;
  /** Unsent bytes above the high-water mark for this long: SLOW_CONSUMER; 0 = never. */
  writeTimeoutMs?: number;
  /** Worker threads (ignored by strategy 'single'). Default: available parallelism. */
  workers?: number;
  strategy?: Strategy;
  mode?: Mode;
  /** 'raw' sends the ack with no header, as the tutorial's server did. */
  ack?: AckStyle;
  /** Unsent reply bytes per connection above which the server stops reading it. */
  highWaterMarkBytes?: number;
  /** Chat mode: a connection with more unsent bytes than this is closed with SLOW_CONSUMER. */
  maxPendingBytes?: number;
  /** Print `[addr] message` for every message. */
  logMessages?: boolean;
  /** Print nothing but the start-up lines, errors and the final line. */
  quiet?: boolean;
  /** Structured (pino) log lines instead of the tutorial's words. */
  json?: boolean;
  /** No output at all (for embedding in tests). */
  silent?: boolean;
  /** Periodic stats line while busy; 0 = never. */
  statsIntervalMs?: number;
  /**
   * Chat mode: the service several servers share to be one chat: `redis://host:port` (one
   * redis-server), `redis-cluster://host:port[,host:port...]` (a Redis Cluster, sharded
   * pub/sub per room) or `nats://host:port[,host:port...]` (NATS). '' = this server alone.
   */
  bus?: string;
  /** The old name of `bus` for `redis://` URLs (same behaviour); give one of the two. */
  redis?: string;
  /** Serve Prometheus metrics at http://metricsHost:metricsPort/metrics; 0 picks a free port; null = off. */
  metricsPort?: number | null;
  /** Address of the metrics endpoint. Default 127.0.0.1 (a warning is printed for any other). */
  metricsHost?: string;
  /** PEM certificate chain file: with `tlsKey`, every connection is TLS. '' = plain TCP. */
  tlsCert?: string;
  /** PEM private key file of `tlsCert`. */
  tlsKey?: string;
  /** Every connection must start with a PROXY protocol header (v1 or v2) from a `proxyTrusted` peer. */
  proxyProtocol?: boolean;
  /** Peers (CIDRs or addresses) allowed to send a PROXY header. Default loopback. */
  proxyTrusted?: readonly string[];
  /** Open connections per client address, all workers together; more get SERVER_FULL. 0 = no limit. */
  maxConnectionsPerIp?: number;
}

/** The longest --handshake-timeout: a handshake is a few round trips, not minutes. */
const MAX_HANDSHAKE_TIMEOUT_MS = 300_000;

/** A `--bus` URL, parsed: which service, and where (docs/several-servers.md). */
export type BusSpec =
  | { kind: 'redis'; url: string }
  | { kind: 'redis-cluster'; url: string; nodes: Array<{ host: string; port: number }> }
  | { kind: 'nats'; url: string; servers: string[] };

export type ResolvedServerOptions = Readonly<
  Required<Omit<ServerOptions, 'bus' | 'redis'>> & {
    /** The cross-server bus; null: this server alone (its threads share the in-process bus). */
    bus: BusSpec | null;
  }
>;

export const SERVER_DEFAULTS: ResolvedServerOptions = Object.freeze({
  host: '127.0.0.1',
  port: DEFAULT_PORT,
  headerBytes: DEFAULT_HEADER_BYTES,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  maxConnections: 10_000,
  frameTimeoutMs: 30_000,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  writeTimeoutMs: 30_000,
  workers: availableParallelism(),
  strategy: 'handoff',
  mode: 'ack',
  ack: 'framed',
  highWaterMarkBytes: 1024 * 1024,
  maxPendingBytes: 8 * 1024 * 1024,
  logMessages: false,
  quiet: false,
  json: false,
  silent: false,
  statsIntervalMs: 5_000,
  bus: null,
  metricsPort: null,
  metricsHost: '127.0.0.1',
  tlsCert: '',
  tlsKey: '',
  proxyProtocol: false,
  proxyTrusted: Object.freeze(['127.0.0.0/8', '::1']),
  maxConnectionsPerIp: 1000,
});

/** `host:port` (a name, IPv4, or `[v6]`), the port 1 to 65535; null when it is not one. */
function hostPort(item: string): { host: string; port: number } | null {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(item);
  const port = Number(match?.[2]);
  if (!match || !(port >= 1 && port <= 65_535)) return null;
  const host = match[1]!.startsWith('[') ? match[1]!.slice(1, -1) : match[1]!;
  return { host, port };
}

const BUS_EXAMPLES = 'redis://127.0.0.1:6379, redis-cluster://127.0.0.1:7000,127.0.0.1:7001 or nats://127.0.0.1:4222';

/** `--bus` (or its old name `--redis`, for redis:// only), checked once here. */
function busSpec(bus: unknown, redis: unknown, mode: Mode): BusSpec | null {
  const busText = text('bus', bus ?? '');
  const redisText = text('redis', redis ?? '');
  if (busText !== '' && redisText !== '') {
    throw new InvalidOptionError('redis', `{redis} is the old name of {bus}: give one of the two, not both`);
  }
  const option = redisText !== '' ? 'redis' : 'bus';
  const url = redisText !== '' ? redisText : busText;
  if (url === '') return null;
  if (mode !== 'chat') {
    throw new InvalidOptionError(
      option,
      `{${option}} joins chat servers together: it needs {mode} 'chat', not '${mode}'`,
    );
  }
  const scheme = /^([a-z-]+):\/\/(.*)$/.exec(url);
  if (option === 'redis' || scheme?.[1] === 'redis' || scheme?.[1] === 'rediss') {
    if (!/^rediss?:\/\/[^\s/]+/.test(url)) {
      const example = option === 'redis' ? 'redis://127.0.0.1:6379' : BUS_EXAMPLES;
      throw new InvalidOptionError(option, `{${option}} must be a URL such as ${example}, got ${shown(url)}`);
    }
    return { kind: 'redis', url };
  }
  if (scheme?.[1] !== 'redis-cluster' && scheme?.[1] !== 'nats') {
    throw new InvalidOptionError('bus', `{bus} must be a URL such as ${BUS_EXAMPLES}, got ${shown(url)}`);
  }
  const items = scheme[2]!.split(',');
  const nodes = items.map(hostPort);
  const bad = items.find((_, i) => nodes[i] === null);
  if (bad !== undefined) {
    throw new InvalidOptionError(
      'bus',
      `{bus} ${scheme[1]}:// takes host:port[,host:port...] (ports 1 to 65535), got ${shown(bad)} in ${shown(url)}`,
    );
  }
  const found = nodes as Array<{ host: string; port: number }>;
  if (scheme[1] === 'redis-cluster') return { kind: 'redis-cluster', url, nodes: found };
  return { kind: 'nats', url, servers: items.map((item) => `nats://${item}`) };
}

/** A list of CIDRs (`10.0.0.0/8`, `2001:db8::/32`) or single addresses. */
function cidrList(value: unknown): readonly string[] {
  if (!Array.isArray(value)) throw new InvalidOptionError('proxyTrusted', `{proxyTrusted} must be a list of CIDRs`);
  for (const entry of value) {
    const [address = '', prefix, extra] = typeof entry === 'string' ? entry.split('/') : [];
    const family = isIP(address);
    const bits = family === 6 ? 128 : 32;
    const prefixOk = prefix === undefined || (/^[0-9]{1,3}$/.test(prefix) && Number(prefix) <= bits);
    if (family === 0 || !prefixOk || extra !== undefined) {
      throw new InvalidOptionError(
        'proxyTrusted',
        `{proxyTrusted} takes addresses or CIDRs such as 10.0.0.0/8 or ::1, got ${shown(entry)}`,
      );
    }
  }
  return Object.freeze([...(value as string[])]);
}

/** Both TLS files or neither. */
function tlsFiles(cert: unknown, key: unknown): { tlsCert: string; tlsKey: string } {
  const tlsCert = text('tlsCert', cert);
  const tlsKey = text('tlsKey', key);
  if ((tlsCert === '') !== (tlsKey === '')) {
    const missing = tlsCert === '' ? 'tlsCert' : 'tlsKey';
    throw new InvalidOptionError(missing, `TLS needs both {tlsCert} and {tlsKey}: {${missing}} is missing`);
  }
  return { tlsCert, tlsKey };
}

/**
 * Chat mode: every frame the server can build must fit the header. Deliveries (the
 * message with the longest `!MSG <room> <from> ` before it), `!WHO` (capped at the
 * same length, who.ts), and the `!OK` and `!NO` replies (a few dozen bytes).
 */
function chatRepliesFit(headerBytes: number, maxMessageBytes: number): void {
  const largestFramable = 10 ** Math.min(headerBytes, 15) - 1;
  const longest = Math.max(
    maxMessageBytes + MAX_DELIVERY_PREFIX_BYTES,
    maxWhoBytes(maxMessageBytes),
    LONGEST_COMMAND_REPLY_BYTES,
  );
  if (longest <= largestFramable) return;
  const most = largestFramable - Math.max(MAX_DELIVERY_PREFIX_BYTES, maxWhoBytes(0));
  throw new InvalidOptionError(
    'maxMessageBytes',
    `{maxMessageBytes} can be at most ${most} with {headerBytes} ${headerBytes} in chat mode (a delivery or a !WHO reply is longer than a message by up to ${MAX_DELIVERY_PREFIX_BYTES} bytes), got ${maxMessageBytes}`,
  );
}

/** Validates every field once, with a precise message, and fills in defaults. */
export function resolveServerOptions(options: ServerOptions = {}): ResolvedServerOptions {
  const get = <K extends keyof ServerOptions & keyof ResolvedServerOptions>(name: K) =>
    options[name] ?? SERVER_DEFAULTS[name];
  const mode = choice('mode', get('mode'), MODES);
  const ack = choice('ack', get('ack'), ACK_STYLES);
  if (ack === 'raw' && mode !== 'ack') {
    throw new InvalidOptionError('ack', `{ack} 'raw' only works with {mode} 'ack': ${mode} replies must be framed`);
  }
  const headerBytes = integer('headerBytes', get('headerBytes'), MIN_HEADER_BYTES, MAX_HEADER_BYTES);
  const maxMessageBytes = integer('maxMessageBytes', get('maxMessageBytes'), 0, 2 ** 31 - 1);
  if (mode === 'chat') chatRepliesFit(headerBytes, maxMessageBytes);
  return Object.freeze({
    host: text('host', get('host'), { nonEmpty: true }),
    port: integer('port', get('port'), 0, 65_535),
    headerBytes,
    maxMessageBytes,
    maxConnections: integer('maxConnections', get('maxConnections'), 1, 1_000_000),
    frameTimeoutMs: integer('frameTimeoutMs', get('frameTimeoutMs'), 1, DAY_MS),
    // A few round trips: minutes would only let stalled peers hold their slots longer.
    handshakeTimeoutMs: integer('handshakeTimeoutMs', get('handshakeTimeoutMs'), 1, MAX_HANDSHAKE_TIMEOUT_MS),
    idleTimeoutMs: integer('idleTimeoutMs', get('idleTimeoutMs'), 0, DAY_MS),
    writeTimeoutMs: integer('writeTimeoutMs', get('writeTimeoutMs'), 0, DAY_MS),
    workers: integer('workers', get('workers'), 1, 256),
    strategy: choice('strategy', get('strategy'), STRATEGIES),
    mode,
    ack,
    highWaterMarkBytes: integer('highWaterMarkBytes', get('highWaterMarkBytes'), 1024, 2 ** 30),
    maxPendingBytes: integer('maxPendingBytes', get('maxPendingBytes'), 1024, 2 ** 40),
    logMessages: boolean('logMessages', get('logMessages')),
    quiet: boolean('quiet', get('quiet')),
    json: boolean('json', get('json')),
    silent: boolean('silent', get('silent')),
    statsIntervalMs: integer('statsIntervalMs', get('statsIntervalMs'), 0, DAY_MS),
    bus: busSpec(options.bus, options.redis, mode),
    metricsPort: options.metricsPort == null ? null : integer('metricsPort', options.metricsPort, 0, 65_535),
    metricsHost: text('metricsHost', get('metricsHost'), { nonEmpty: true }),
    ...tlsFiles(get('tlsCert'), get('tlsKey')),
    proxyProtocol: boolean('proxyProtocol', get('proxyProtocol')),
    proxyTrusted: cidrList(get('proxyTrusted')),
    maxConnectionsPerIp: integer('maxConnectionsPerIp', get('maxConnectionsPerIp'), 0, 1_000_000),
  });
}
