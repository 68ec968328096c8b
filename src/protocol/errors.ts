import { ERROR_PREFIX } from './constants.ts';

/** The codes a server may send in an `!ERROR <CODE> <text>` frame. */
export const ErrorCode = {
  BAD_HEADER: 'BAD_HEADER',
  TOO_LARGE: 'TOO_LARGE',
  TIMEOUT: 'TIMEOUT',
  SERVER_FULL: 'SERVER_FULL',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * Base of every error handoff raises. Match on `code`, never on `message`.
 * Protocol codes are the PROTOCOL.md ones; local failures use `ERR_*` codes.
 */
export class HandoffError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HandoffError';
    this.code = code;
  }
}

/** A setting that cannot be used (server, client or bench); `message` is one line fit for a user. */
export class InvalidOptionError extends HandoffError {
  /** The option's name in the programmatic API (a CLI maps it to its flag). */
  readonly option: string;
  constructor(option: string, message: string) {
    super('ERR_INVALID_OPTION', message);
    this.name = 'InvalidOptionError';
    this.option = option;
  }
}

/** An error defined by PROTOCOL.md: it travels as an `!ERROR` frame. */
export class ProtocolError extends HandoffError {
  declare readonly code: ErrorCode;
  /** The human text after the code, as sent on the wire. */
  readonly text: string;
  constructor(code: ErrorCode, text: string, options?: ErrorOptions) {
    super(code, `${code}: ${text}`, options);
    this.name = 'ProtocolError';
    this.text = text;
  }
}

export class BadHeaderError extends ProtocolError {
  constructor(text: string, options?: ErrorOptions) {
    super(ErrorCode.BAD_HEADER, text, options);
    this.name = 'BadHeaderError';
  }
}
export class TooLargeError extends ProtocolError {
  constructor(text: string, options?: ErrorOptions) {
    super(ErrorCode.TOO_LARGE, text, options);
    this.name = 'TooLargeError';
  }
}
export class TimeoutError extends ProtocolError {
  constructor(text: string, options?: ErrorOptions) {
    super(ErrorCode.TIMEOUT, text, options);
    this.name = 'TimeoutError';
  }
}
export class ServerFullError extends ProtocolError {
  constructor(text: string, options?: ErrorOptions) {
    super(ErrorCode.SERVER_FULL, text, options);
    this.name = 'ServerFullError';
  }
}
export class ShuttingDownError extends ProtocolError {
  constructor(text: string, options?: ErrorOptions) {
    super(ErrorCode.SHUTTING_DOWN, text, options);
    this.name = 'ShuttingDownError';
  }
}

const classByCode: Record<ErrorCode, new (text: string) => ProtocolError> = {
  BAD_HEADER: BadHeaderError,
  TOO_LARGE: TooLargeError,
  TIMEOUT: TimeoutError,
  SERVER_FULL: ServerFullError,
  SHUTTING_DOWN: ShuttingDownError,
};

/** Builds the protocol error class for `code` (used by receivers of `!ERROR`). */
export function protocolErrorFor(code: ErrorCode, text: string): ProtocolError {
  return new classByCode[code](text);
}

/** The payload of the `!ERROR` frame that carries `err`. */
export function errorPayload(err: ProtocolError): Buffer {
  return Buffer.from(`${ERROR_PREFIX}${err.code} ${err.text}`, 'utf8');
}

const ERROR_PREFIX_BYTES = Buffer.from(ERROR_PREFIX, 'latin1');

/**
 * If `payload` is an `!ERROR <CODE> <text>` frame, the error it carries, else null.
 * An unknown code still yields a ProtocolError (with that code) so that a client
 * never mistakes an error from a newer server for an ordinary reply.
 */
export function parseErrorPayload(payload: Buffer): ProtocolError | null {
  if (payload.length < ERROR_PREFIX_BYTES.length) return null;
  if (payload.compare(ERROR_PREFIX_BYTES, 0, ERROR_PREFIX_BYTES.length, 0, ERROR_PREFIX_BYTES.length) !== 0) {
    return null;
  }
  const rest = payload.toString('utf8', ERROR_PREFIX_BYTES.length);
  const space = rest.indexOf(' ');
  const code = space === -1 ? rest : rest.slice(0, space);
  const text = space === -1 ? '' : rest.slice(space + 1);
  // hasOwn, not `in`: `!ERROR toString x` must not reach Object.prototype.
  if (Object.hasOwn(classByCode, code)) return protocolErrorFor(code as ErrorCode, text);
  const err = new ProtocolError(code as ErrorCode, text);
  return err;
}
