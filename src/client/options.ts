import { boolean, choice, DAY_MS, integer, text } from '../options/validators.ts';
import {
  DEFAULT_HEADER_BYTES,
  DEFAULT_MAX_MESSAGE_BYTES,
  InvalidOptionError,
  MAX_HEADER_BYTES,
  MIN_HEADER_BYTES,
} from '../protocol/index.ts';

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
  /**
   * Chat mode (a server run with `--mode chat`): frames starting with `!MSG `, `!JOINED `
   * or `!LEFT ` are deliveries (events and deliveries()), never replies; a `!NO` reply
   * rejects its send with a CommandRefusedError. Needs `ack: 'framed'`. Default false.
   */
  chat?: boolean;
  /**
   * Chat mode: how many bytes of deliveries deliveries() keeps while nobody takes them;
   * past it the oldest are dropped (and counted in `droppedDeliveries`). Events see every
   * delivery whatever this is; 0 keeps none. Default 8 MiB, the server's own --max-pending-bytes.
   */
  maxBufferedDeliveryBytes?: number;
  /** Speak TLS (a server run with --tls-cert). Default false. */
  tls?: boolean;
  /** With `tls`: a PEM file of the certificate authorities to trust instead of the system's ('' = the system's). */
  ca?: string;
}

export type ResolvedClientOptions = Readonly<Required<ClientOptions>>;

export const CLIENT_DEFAULTS: Readonly<Omit<ResolvedClientOptions, 'port'>> = Object.freeze({
  host: '127.0.0.1',
  headerBytes: DEFAULT_HEADER_BYTES,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  ack: 'framed',
  connectTimeoutMs: 10_000,
  replyTimeoutMs: 0,
  chat: false,
  maxBufferedDeliveryBytes: 8 * 1024 * 1024,
  tls: false,
  ca: '',
});

/** Validates every field once, with a precise message, and fills in defaults. */
export function resolveClientOptions(options: ClientOptions): ResolvedClientOptions {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError('options', 'options must be an object with at least a port');
  }
  const d = CLIENT_DEFAULTS;
  const ack = choice('ack', options.ack ?? d.ack, CLIENT_ACK_STYLES);
  const chat = boolean('chat', options.chat ?? d.chat);
  if (chat && ack === 'raw') {
    throw new InvalidOptionError('chat', "{chat} cannot be used with {ack} 'raw': deliveries need frames");
  }
  const tls = boolean('tls', options.tls ?? d.tls);
  const ca = text('ca', options.ca ?? d.ca);
  if (ca !== '' && !tls) throw new InvalidOptionError('ca', '{ca} is for TLS connections: it needs {tls}');
  return Object.freeze({
    tls,
    ca,
    host: text('host', options.host ?? d.host, { nonEmpty: true }),
    // Port 0 means "any" to a listener; to a client it can only be a mistake.
    port: integer('port', options.port, 1, 65_535),
    headerBytes: integer('headerBytes', options.headerBytes ?? d.headerBytes, MIN_HEADER_BYTES, MAX_HEADER_BYTES),
    maxMessageBytes: integer('maxMessageBytes', options.maxMessageBytes ?? d.maxMessageBytes, 0, 2 ** 31 - 1),
    ack,
    connectTimeoutMs: integer('connectTimeoutMs', options.connectTimeoutMs ?? d.connectTimeoutMs, 1, DAY_MS),
    replyTimeoutMs: integer('replyTimeoutMs', options.replyTimeoutMs ?? d.replyTimeoutMs, 0, DAY_MS),
    chat,
    maxBufferedDeliveryBytes: integer(
      'maxBufferedDeliveryBytes',
      options.maxBufferedDeliveryBytes ?? d.maxBufferedDeliveryBytes,
      0,
      2 ** 31 - 1,
    ),
  });
}
