export { type CloseInfo, Client, connect } from './client.ts';
export {
  CLIENT_ACK_STYLES,
  CLIENT_DEFAULTS,
  type ClientAckStyle,
  type ClientOptions,
  type ResolvedClientOptions,
  resolveClientOptions,
} from './options.ts';
export { runRepl, type ReplOptions } from './repl.ts';
// What the client raises, from the catalogue in src/protocol/errors.ts: match on `code` or `instanceof`.
export {
  BadHeaderError,
  BadReplyError,
  ConnectError,
  ConnectionClosedError,
  ConnectTimeoutError,
  ErrorCode,
  HandoffError,
  HeaderOverflowError,
  InvalidMessageError,
  InvalidOptionError,
  ProtocolError,
  ReplyTimeoutError,
  ServerFullError,
  ShuttingDownError,
  SlowConsumerError,
  TimeoutError,
  TooLargeError,
  UnexpectedReplyError,
} from '../protocol/index.ts';
