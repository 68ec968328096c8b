import {
  DEFAULT_HEADER_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  InvalidOptionError,
  MAX_HEADER_BYTES,
  MIN_HEADER_BYTES,
} from '../protocol/index.ts';

export { InvalidOptionError };

export const CLIENT_ACK_STYLES = ['framed', 'raw'] as const;
/** How the server acks: `framed` (the protocol) or `raw` (the tutorial's original server: 12 bytes, no header). */
export type ClientAckStyle = (typeof CLIENT_ACK_STYLES)[number];

/** Everything connect() takes. Only `port` is required; units are in the names. */
export interface ClientOptions {
  /** Default 127.0.0.1. */
  host?: string;
  port: number;
  /** Must match the server's. Default 64. */
  headerBytes?: number;
  /** Largest reply accepted; a bigger one fails the connection with TOO_LARGE. Default 1 MiB. */
  maxMessageBytes?: number;
  /** Default 'framed'. */
  ack?: ClientAckStyle;
  /** Give up connecting after this long. Default 10 s. */
  connectTimeoutMs?: number;
  /** Fail the connection when a reply is later than this after its send; 0 = wait for ever (default). */
  replyTimeoutMs?: number;
}

export type ResolvedClientOptions = Readonly<Required<ClientOptions>>;

export const CLIENT_DEFAULTS: Readonly<Omit<ResolvedClientOptions, 'port'>> = Object.freeze({
  host: '127.0.0.1',
  headerBytes: DEFAULT_HEADER_BYTES,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  ack: 'framed',
  connectTimeoutMs: 10_000,
  replyTimeoutMs: 0,
});

const DAY_MS = 86_400_000;

function integerIn(name: keyof ClientOptions, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidOptionError(name, `${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

/** Validates every field once, with a precise message, and fills in defaults. */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', 'options must be an object with at least a port');
  }
  const host = options.host ?? CLIENT_DEFAULTS.host;
  if (typeof host !== 'string' || host.length === 0) {
    throw new InvalidOptionError('host', `host must be a non-empty address, got ${String(host)}`);
  }
  const ack = options.ack ?? CLIENT_DEFAULTS.ack;
  if (!CLIENT_ACK_STYLES.includes(ack)) {
    throw new InvalidOptionError('ack', `ack must be one of ${CLIENT_ACK_STYLES.join(', ')}, got ${String(ack)}`);
  }
  return Object.freeze({
    host,
    // Port 0 means "any" to a listener; to a client it can only be a mistake.
    port: integerIn('port', options.port, 1, 65_535),
    headerBytes: integerIn(
      'headerBytes',
      options.headerBytes ?? CLIENT_DEFAULTS.headerBytes,
      MIN_HEADER_BYTES,
      MAX_HEADER_BYTES,
    ),
    maxMessageBytes: integerIn(
      'maxMessageBytes',
      options.maxMessageBytes ?? CLIENT_DEFAULTS.maxMessageBytes,
      0,
      2 ** 31 - 1,
    ),
    ack,
    connectTimeoutMs: integerIn(
      'connectTimeoutMs',
      options.connectTimeoutMs ?? CLIENT_DEFAULTS.connectTimeoutMs,
      1,
      DAY_MS,
    ),
    replyTimeoutMs: integerIn('replyTimeoutMs', options.replyTimeoutMs ?? CLIENT_DEFAULTS.replyTimeoutMs, 0, DAY_MS),
  });
}
