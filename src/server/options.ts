import { availableParallelism } from 'node:os';
import {
  DEFAULT_HEADER_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  InvalidOptionError,
  MAX_HEADER_BYTES,
  MIN_HEADER_BYTES,
} from '../protocol/index.ts';

export { InvalidOptionError };

export const STRATEGIES = ['handoff', 'reuseport', 'single'] as const;
export type Strategy = (typeof STRATEGIES)[number];
export const MODES = ['ack', 'echo'] as const;
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
  /** From connect or the last complete frame; 0 = never. */
  idleTimeoutMs?: number;
  /** Worker threads (ignored by strategy 'single'). Default: available parallelism. */
  workers?: number;
  strategy?: Strategy;
  mode?: Mode;
  /** 'raw' sends the ack with no header, as the tutorial's server did. */
  ack?: AckStyle;
  /** Unsent reply bytes per connection above which the server stops reading it. */
  highWaterMarkBytes?: number;
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
}

export type ResolvedServerOptions = Readonly<Required<ServerOptions>>;

export const SERVER_DEFAULTS: ResolvedServerOptions = Object.freeze({
  host: '127.0.0.1',
  port: 5050,
  headerBytes: DEFAULT_HEADER_BYTES,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  maxConnections: 10_000,
  frameTimeoutMs: 30_000,
  idleTimeoutMs: 300_000,
  workers: availableParallelism(),
  strategy: 'handoff',
  mode: 'ack',
  ack: 'framed',
  highWaterMarkBytes: 1024 * 1024,
  logMessages: false,
  quiet: false,
  json: false,
  silent: false,
  statsIntervalMs: 5_000,
});

function integerIn(options: ServerOptions, name: keyof ServerOptions, min: number, max: number): number {
  const value = options[name] ?? SERVER_DEFAULTS[name];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

function oneOf<T extends string>(options: ServerOptions, name: keyof ServerOptions, allowed: readonly T[]): T {
  const value = options[name] ?? SERVER_DEFAULTS[name];
  if (!allowed.includes(value as T)) {
    throw new InvalidOptionError(name, `${name} must be one of ${allowed.join(', ')}, got ${String(value)}`);
  }
  return value as T;
}

function flag(options: ServerOptions, name: keyof ServerOptions): boolean {
  const value = options[name] ?? SERVER_DEFAULTS[name];
  if (typeof value !== 'boolean')
    throw new InvalidOptionError(name, `${name} must be true or false, got ${String(value)}`);
  return value;
}

const DAY_MS = 86_400_000;

/** Validates every field once, with a precise message, and fills in defaults. */
export function resolveServerOptions(options: ServerOptions = {}): ResolvedServerOptions {
  const host = options.host ?? SERVER_DEFAULTS.host;
  if (typeof host !== 'string' || host.length === 0)
    throw new InvalidOptionError('host', 'host must be a non-empty address');
  const mode = oneOf(options, 'mode', MODES);
  const ack = oneOf(options, 'ack', ACK_STYLES);
  if (ack === 'raw' && mode === 'echo') {
    throw new InvalidOptionError('ack', "ack 'raw' only makes sense in mode 'ack': echo replies must be framed");
  }
  return Object.freeze({
    host,
    port: integerIn(options, 'port', 0, 65_535),
    headerBytes: integerIn(options, 'headerBytes', MIN_HEADER_BYTES, MAX_HEADER_BYTES),
    maxMessageBytes: integerIn(options, 'maxMessageBytes', 0, 2 ** 31 - 1),
    maxConnections: integerIn(options, 'maxConnections', 1, 1_000_000),
    frameTimeoutMs: integerIn(options, 'frameTimeoutMs', 1, DAY_MS),
    idleTimeoutMs: integerIn(options, 'idleTimeoutMs', 0, DAY_MS),
    workers: integerIn(options, 'workers', 1, 256),
    strategy: oneOf(options, 'strategy', STRATEGIES),
    mode,
    ack,
    highWaterMarkBytes: integerIn(options, 'highWaterMarkBytes', 1024, 2 ** 30),
    logMessages: flag(options, 'logMessages'),
    quiet: flag(options, 'quiet'),
    json: flag(options, 'json'),
    silent: flag(options, 'silent'),
    statsIntervalMs: integerIn(options, 'statsIntervalMs', 0, DAY_MS),
  });
}
