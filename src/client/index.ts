export {
  type ClientEvents,
  type CloseInfo,
  Client,
  connect,
  type JoinReply,
  type NickReply,
  type WhoReply,
} from './client.ts';
export { type Delivery, DeliveryKind } from '../protocol/chat.ts';
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
  BadCommandError,
  BadHeaderError,
  BadNameError,
  BadReplyError,
  BadRoomError,
  CommandRefusedError,
  ConnectError,
  ConnectionClosedError,
  ConnectTimeoutError,
  ErrorCode,
  HandoffError,
  HeaderOverflowError,
  InvalidMessageError,
  InvalidOptionError,
  ProtocolError,
  RefusalCode,
  ReplyTimeoutError,
  ServerFullError,
  ServerSpeaksTlsError,
  ShuttingDownError,
  SlowConsumerError,
  TimeoutError,
  TlsFileError,
  TooLargeError,
  UnexpectedReplyError,
} from '../protocol/index.ts';
