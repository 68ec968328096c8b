/**
 * The error catalogue: every failure handoff reports, as one class with a
 * stable `code`, all under HandoffError (the shape of undici's
 * lib/core/errors.js). Users match on `code` (or `instanceof`), never on
 * `message`. docs/ERRORS.md lists every code, who raises it and what to do;
 * test/protocol/error-catalogue.test.ts keeps that table and this file equal.
 *
 * Two families:
 * - protocol codes (PROTOCOL.md): they travel on the wire as `!ERROR <CODE> <text>`
 *   (ProtocolError) or, in chat mode, as `!NO <CODE> <text>` (CommandRefusedError);
 * - local codes, `ERR_*`: failures of this process (a bad option, a lost
 *   connection, a bench that cannot reach its target).
 */
import { ERROR_PREFIX } from './constants.ts';

/**
 * The brand every handoff error carries. `Symbol.for` keys live in one registry
 * per process, so two copies of the library (a project and one of its
 * dependencies, each with its own handoff) brand their errors alike.
 */
export const ERROR_BRAND: unique symbol = Symbol.for('handoff.error') as never;

/**
 * Base of every error handoff raises. `instanceof` works across copies of the
 * library, as undici's errors do: an error of another copy is an instance of
 * each class whose name its brand lists (its own class and every base).
 */
export class HandoffError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }

  /** The names of this error's classes, its own first, HandoffError last. */
  get [ERROR_BRAND](): string[] {
    const names: string[] = [];
    for (let p: unknown = Object.getPrototypeOf(this); p !== Error.prototype; p = Object.getPrototypeOf(p)) {
      const name = (p as { constructor: { name: string } }).constructor.name;
      if (name !== '') names.push(name); // the unnamed bases of the class factories below
    }
    return names;
  }

  static override [Symbol.hasInstance]<T>(this: abstract new (...args: never[]) => T, value: unknown): value is T {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (typeof value !== 'object' || value === null) return false;
    const brand = (value as { [ERROR_BRAND]?: unknown })[ERROR_BRAND];
    return Array.isArray(brand) && this.name !== '' && brand.includes(this.name);
  }
}

// ---------------------------------------------------------------------------
// Protocol errors: `!ERROR <CODE> <text>`, then the server closes the connection.

/** The codes a server may send in an `!ERROR <CODE> <text>` frame (PROTOCOL.md "Errors"). */
export const ErrorCode = {
  BAD_HEADER: 'BAD_HEADER',
  TOO_LARGE: 'TOO_LARGE',
  TIMEOUT: 'TIMEOUT',
  SERVER_FULL: 'SERVER_FULL',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  SLOW_CONSUMER: 'SLOW_CONSUMER',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/**
 * An error defined by PROTOCOL.md: it travels as an `!ERROR` frame. A code this
 * version does not know (from a newer server) is still a ProtocolError with that
 * code, so a client never mistakes it for an ordinary reply.
 */
export class ProtocolError extends HandoffError {
  /** The human text after the code, as sent on the wire. */
  readonly text: string;
  constructor(code: string, text: string, options?: ErrorOptions) {
    super(code, `${code}: ${text}`, options);
    this.text = text;
  }
}

/** The base of one protocol error class: the code is fixed, the text is the sender's. */
function protocolErrorClass(code: ErrorCode) {
  return class extends ProtocolError {
    constructor(text: string, options?: ErrorOptions) {
      super(code, text, options);
    }
  };
}

/** The header is not spaces + decimal digits + spaces. */
export class BadHeaderError extends protocolErrorClass(ErrorCode.BAD_HEADER) {}
/** The declared length is above the receiver's limit. */
export class TooLargeError extends protocolErrorClass(ErrorCode.TOO_LARGE) {}
/** A frame was not finished in time, or no frame came in time. */
export class TimeoutError extends protocolErrorClass(ErrorCode.TIMEOUT) {}
/** The server's connection limit is reached. */
export class ServerFullError extends protocolErrorClass(ErrorCode.SERVER_FULL) {}
/** The server is stopping. */
export class ShuttingDownError extends protocolErrorClass(ErrorCode.SHUTTING_DOWN) {}
/** The connection did not read what the server sent it, for too long or past the pending limit. */
export class SlowConsumerError extends protocolErrorClass(ErrorCode.SLOW_CONSUMER) {}

const protocolClassByCode: Record<ErrorCode, new (text: string) => ProtocolError> = {
  BAD_HEADER: BadHeaderError,
  TOO_LARGE: TooLargeError,
  TIMEOUT: TimeoutError,
  SERVER_FULL: ServerFullError,
  SHUTTING_DOWN: ShuttingDownError,
  SLOW_CONSUMER: SlowConsumerError,
};

/** Builds the protocol error class for `code` (used by receivers of `!ERROR`). */
export function protocolErrorFor(code: string, text: string): ProtocolError {
  // hasOwn, not `in`: `!ERROR toString x` must not reach Object.prototype.
  return Object.hasOwn(protocolClassByCode, code)
    ? new protocolClassByCode[code as ErrorCode](text)
    : new ProtocolError(code, text);
}

/** The payload of the `!ERROR` frame that carries `err`. */
export function errorPayload(err: ProtocolError): Buffer {
  return Buffer.from(`${ERROR_PREFIX}${err.code} ${err.text}`, 'utf8');
}

const ERROR_PREFIX_BYTES = Buffer.from(ERROR_PREFIX, 'latin1');

/** If `payload` is an `!ERROR <CODE> <text>` frame, the error it carries, else null. */
export function parseErrorPayload(payload: Buffer): ProtocolError | null {
  const prefix = ERROR_PREFIX_BYTES.length;
  if (payload.length < prefix || payload.compare(ERROR_PREFIX_BYTES, 0, prefix, 0, prefix) !== 0) return null;
  const rest = payload.toString('utf8', prefix);
  const space = rest.indexOf(' ');
  return space === -1 ? protocolErrorFor(rest, '') : protocolErrorFor(rest.slice(0, space), rest.slice(space + 1));
}

// ---------------------------------------------------------------------------
// Chat mode: `!NO <CODE> <text>` refuses one command; the connection stays open.

/** The codes of a `!NO <CODE> <text>` reply (PROTOCOL.md "Chat mode (v2)"). */
export const RefusalCode = {
  BAD_COMMAND: 'BAD_COMMAND',
  BAD_NAME: 'BAD_NAME',
  BAD_ROOM: 'BAD_ROOM',
} as const;
export type RefusalCode = (typeof RefusalCode)[keyof typeof RefusalCode];

/** A chat command the server refused with `!NO`; the connection is still usable. */
export class CommandRefusedError extends HandoffError {
  /** The human text after the code, as sent on the wire. */
  readonly text: string;
  constructor(code: string, text: string, options?: ErrorOptions) {
    super(code, `${code}: ${text}`, options);
    this.text = text;
  }
}
function refusalClass(code: RefusalCode) {
  return class extends CommandRefusedError {
    constructor(text: string, options?: ErrorOptions) {
      super(code, text, options);
    }
  };
}

/** An unknown command word, a missing argument, or something after `!WHO` or `!DISCONNECT`. */
export class BadCommandError extends refusalClass(RefusalCode.BAD_COMMAND) {}
/** A `!NICK` name that is not 1 to 32 bytes of `A-Z a-z 0-9 _ . -`. */
export class BadNameError extends refusalClass(RefusalCode.BAD_NAME) {}
/** A `!JOIN` room that is not 1 to 32 bytes of `A-Z a-z 0-9 _ . -`. */
export class BadRoomError extends refusalClass(RefusalCode.BAD_ROOM) {}

const refusalClassByCode: Record<RefusalCode, new (text: string) => CommandRefusedError> = {
  BAD_COMMAND: BadCommandError,
  BAD_NAME: BadNameError,
  BAD_ROOM: BadRoomError,
};

/** Builds the refusal class for `code` (an unknown code still yields a CommandRefusedError). */
export function refusalFor(code: string, text: string): CommandRefusedError {
  return Object.hasOwn(refusalClassByCode, code)
    ? new refusalClassByCode[code as RefusalCode](text)
    : new CommandRefusedError(code, text);
}

// ---------------------------------------------------------------------------
// Local failures: options (server, client, bench).

/**
 * A setting that cannot be used. `message` names the option as the programmatic
 * API spells it (`frameTimeoutMs`); a command line shows the same sentence with
 * its own flag names through describe() (`--frame-timeout`). Option names inside
 * the sentence are written `{name}` in `template`.
 */
export class InvalidOptionError extends HandoffError {
  /** The option's name in the programmatic API. */
  readonly option: string;
  readonly template: string;
  constructor(option: string, template: string) {
    super(
      'ERR_INVALID_OPTION',
      renderOptionNames(template, (name) => name),
    );
    this.option = option;
    this.template = template;
  }
  /** The message with every option named by `nameOf` (a CLI passes its flag names). */
  describe(nameOf: (option: string) => string): string {
    return renderOptionNames(this.template, nameOf);
  }
}

/** `{name}` is an option's name; `{{` is a literal brace (see escapeOptionText). */
function renderOptionNames(template: string, nameOf: (option: string) => string): string {
  return template.replace(/\{\{|\{([A-Za-z][A-Za-z0-9]*)\}/g, (_match, name?: string) =>
    name === undefined ? '{' : nameOf(name),
  );
}

/** Text that goes into an InvalidOptionError template as it is (a value the user typed, say). */
export function escapeOptionText(text: string): string {
  return text.replaceAll('{', '{{');
}

/** The base of one local error class (`ERR_*`): the code is fixed; `cause` is passed along when there is one. */
function localError(code: `ERR_${string}`) {
  return class extends HandoffError {
    constructor(message: string, options?: ErrorOptions) {
      super(code, message, options);
    }
  };
}

// ---------------------------------------------------------------------------
// Local failures: building and sending frames (client and server).

/** A payload whose length has more digits than the header has bytes (e.g. 10,000 bytes with H = 4). */
export class HeaderOverflowError extends localError('ERR_HEADER_OVERFLOW') {}
/** A message that cannot be sent: not a string or bytes, or a value with no JSON form. */
export class InvalidMessageError extends localError('ERR_INVALID_MESSAGE') {}

// ---------------------------------------------------------------------------
// Local failures: a client's connection.

/** Words for the connect errors a user meets; the errno code stays in the message and in `cause`. */
const SOCKET_FAILURE_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'timed out',
  ECONNRESET: 'connection reset',
  // TLS: what is wrong with the server's certificate, and the flag that mends it
  // (Node's own words suggest --use-system-ca, which a self-signed certificate never needs).
  DEPTH_ZERO_SELF_SIGNED_CERT: "the server's certificate is self-signed: trust it with --ca cert.pem",
  SELF_SIGNED_CERT_IN_CHAIN: "the server's certificate comes from a CA not trusted here: pass --ca ca.pem (that CA)",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the server's certificate is signed by a CA not trusted here: pass --ca ca.pem",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the server's certificate is signed by a CA not trusted here: pass --ca ca.pem",
  CERT_HAS_EXPIRED: "the server's certificate has expired: the server needs a new one",
  ERR_SSL_WRONG_VERSION_NUMBER: 'this port does not speak TLS: leave out --tls',
};

/** A socket error from a TLS handshake: the certificate it was about, and the host it was checked against. */
type TlsSocketError = NodeJS.ErrnoException & { host?: string; cert?: { subjectaltname?: string } };

/** `the server's certificate is for localhost, not 127.0.0.2: pass --host localhost`, from Node's altname error. */
function hostMismatchText(err: TlsSocketError): string {
  const names = (err.cert?.subjectaltname ?? '')
    .split(', ')
    .map((entry) => entry.replace(/^(DNS|IP Address):/, ''))
    .filter((name) => name !== '');
  if (names.length === 0) return `the server's certificate names no host: it cannot be checked against ${err.host}`;
  return `the server's certificate is for ${names.join(', ')}, not ${err.host}: pass --host ${names[0]}`;
}

/** A socket error in words, its errno code once: `connection refused (ECONNREFUSED)`, not Node's `connect ECONNREFUSED 127.0.0.1:5050`. */
export function socketFailureText(err: TlsSocketError): string {
  const words =
    err.code === 'ERR_TLS_CERT_ALTNAME_INVALID' && err.host
      ? hostMismatchText(err)
      : ((err.code && SOCKET_FAILURE_TEXT[err.code]) ?? err.message.split('\n')[0]!.trim());
  return err.code && !words.includes(err.code) ? `${words} (${err.code})` : words;
}

/** The connection could not be made: refused, unreachable, unknown host. `cause` has the socket error. */
export class ConnectError extends localError('ERR_CONNECT') {}
/** The connection was not made within the connect timeout. */
export class ConnectTimeoutError extends localError('ERR_CONNECT_TIMEOUT') {}
/** The connection is gone (or going): a send waiting for its reply, and every later one, fails. */
export class ConnectionClosedError extends localError('ERR_CONNECTION_CLOSED') {}
/** A reply came later than the reply timeout; replies are matched by order, so the connection is given up. */
export class ReplyTimeoutError extends localError('ERR_REPLY_TIMEOUT') {}
/** The server sent a reply to no message (and not an `!ERROR`). */
export class UnexpectedReplyError extends localError('ERR_UNEXPECTED_REPLY') {}
/** The server's bytes are not the replies expected (a raw ack that is not `Msg received`, a wrong length). */
export class BadReplyError extends localError('ERR_BAD_REPLY') {}
/**
 * A plain connection to a port that speaks TLS: the server answered with a TLS
 * record, or closed without a byte and the port then completed a TLS handshake.
 */
export class ServerSpeaksTlsError extends localError('ERR_SERVER_SPEAKS_TLS') {}

/**
 * The first reply does not come, or cannot be read: most often the two sides
 * frame with different header sizes, so the error says so, and which size this
 * side used. Adds the hint to `err`'s message and returns it.
 */
export function withHeaderSizeHint<E extends HandoffError>(err: E, headerBytes: number): E {
  err.message +=
    `; nothing from the server could be read as a reply yet: client and server must use the same header size ` +
    `(this side used ${headerBytes}-byte headers, --header-bytes)`;
  return err;
}

// ---------------------------------------------------------------------------
// Local failures: the server process.

/** `--lan` on a machine with no non-loopback IPv4 address. */
export class NoLanAddressError extends localError('ERR_NO_LAN_ADDRESS') {}
/** This Node.js lacks what the server needs (socket transfer, the onread handle take-over). */
export class UnsupportedRuntimeError extends localError('ERR_UNSUPPORTED_RUNTIME') {}
/** A worker thread could not start serving (its listener failed, or no counter slot was free). */
export class WorkerStartError extends localError('ERR_WORKER_START') {}
/** A TLS certificate, key or CA file that cannot be read or used (--tls-cert, --tls-key, --ca). */
export class TlsFileError extends localError('ERR_TLS_FILE') {}
/** The cross-server bus (Redis, Redis Cluster, NATS) cannot be reached now; `cause` has why. */
export class BusUnavailableError extends localError('ERR_BUS_UNAVAILABLE') {}
/** The cross-server bus did not answer a command within its time. */
export class BusTimeoutError extends localError('ERR_BUS_TIMEOUT') {}

// ---------------------------------------------------------------------------
// Local failures: the load tester.

/** Every connection to the bench target failed: nothing listens there, or nothing reachable. */
export class TargetUnreachableError extends localError('ERR_TARGET_UNREACHABLE') {}
/** The bench target's host name had no address, or the lookup did not answer within the connect timeout. */
export class TargetLookupError extends localError('ERR_TARGET_LOOKUP') {}
/** Not one reply from the bench target could be read (often: the header sizes differ). */
export class NoReplyError extends localError('ERR_NO_REPLY') {}
/** The server the bench started (or a reference server) did not start, or stopped answering. */
export class EmbeddedServerError extends localError('ERR_EMBEDDED_SERVER') {}
/** The open-file limit is below what the requested connections need. */
export class FileLimitError extends localError('ERR_FILE_LIMIT') {}
/** A load-generating thread failed. */
export class LoadThreadError extends localError('ERR_LOAD_THREAD') {}
/** Nobody reads the bench's stdout any more (the `| head` it fed has ended): the run stops, unsaved. */
export class OutputClosedError extends localError('ERR_OUTPUT_CLOSED') {}
/** A results file that compare cannot read. */
export class ResultsFileError extends localError('ERR_RESULTS_FILE') {}
/** Two runs whose load differs (clients, rate, ...): compare refuses them unless --force. */
export class IncomparableRunsError extends localError('ERR_INCOMPARABLE_RUNS') {}
/** bench:merge: the runs are not of one scenario (mode, sizes, header, pipelining... differ). */
export class IncompatibleRunsError extends localError('ERR_INCOMPATIBLE_RUNS') {}
/** bench:merge: the runs were not taken at the same time (their measured windows do not overlap). */
export class RunsNotConcurrentError extends localError('ERR_RUNS_NOT_CONCURRENT') {}

/**
 * Every class of the catalogue with the code it carries (ProtocolError and
 * CommandRefusedError carry the code they were given: `*` here). The docs test
 * checks docs/ERRORS.md against this list.
 */
export const ERROR_CATALOGUE: ReadonlyArray<{ code: string; errorClass: abstract new (...args: never[]) => Error }> = [
  { code: '*', errorClass: ProtocolError },
  { code: ErrorCode.BAD_HEADER, errorClass: BadHeaderError },
  { code: ErrorCode.TOO_LARGE, errorClass: TooLargeError },
  { code: ErrorCode.TIMEOUT, errorClass: TimeoutError },
  { code: ErrorCode.SERVER_FULL, errorClass: ServerFullError },
  { code: ErrorCode.SHUTTING_DOWN, errorClass: ShuttingDownError },
  { code: ErrorCode.SLOW_CONSUMER, errorClass: SlowConsumerError },
  { code: '*', errorClass: CommandRefusedError },
  { code: RefusalCode.BAD_COMMAND, errorClass: BadCommandError },
  { code: RefusalCode.BAD_NAME, errorClass: BadNameError },
  { code: RefusalCode.BAD_ROOM, errorClass: BadRoomError },
  { code: 'ERR_INVALID_OPTION', errorClass: InvalidOptionError },
  { code: 'ERR_HEADER_OVERFLOW', errorClass: HeaderOverflowError },
  { code: 'ERR_INVALID_MESSAGE', errorClass: InvalidMessageError },
  { code: 'ERR_CONNECT', errorClass: ConnectError },
  { code: 'ERR_CONNECT_TIMEOUT', errorClass: ConnectTimeoutError },
  { code: 'ERR_CONNECTION_CLOSED', errorClass: ConnectionClosedError },
  { code: 'ERR_REPLY_TIMEOUT', errorClass: ReplyTimeoutError },
  { code: 'ERR_UNEXPECTED_REPLY', errorClass: UnexpectedReplyError },
  { code: 'ERR_BAD_REPLY', errorClass: BadReplyError },
  { code: 'ERR_SERVER_SPEAKS_TLS', errorClass: ServerSpeaksTlsError },
  { code: 'ERR_NO_LAN_ADDRESS', errorClass: NoLanAddressError },
  { code: 'ERR_UNSUPPORTED_RUNTIME', errorClass: UnsupportedRuntimeError },
  { code: 'ERR_WORKER_START', errorClass: WorkerStartError },
  { code: 'ERR_TLS_FILE', errorClass: TlsFileError },
  { code: 'ERR_BUS_UNAVAILABLE', errorClass: BusUnavailableError },
  { code: 'ERR_BUS_TIMEOUT', errorClass: BusTimeoutError },
  { code: 'ERR_TARGET_UNREACHABLE', errorClass: TargetUnreachableError },
  { code: 'ERR_TARGET_LOOKUP', errorClass: TargetLookupError },
  { code: 'ERR_NO_REPLY', errorClass: NoReplyError },
  { code: 'ERR_EMBEDDED_SERVER', errorClass: EmbeddedServerError },
  { code: 'ERR_FILE_LIMIT', errorClass: FileLimitError },
  { code: 'ERR_LOAD_THREAD', errorClass: LoadThreadError },
  { code: 'ERR_OUTPUT_CLOSED', errorClass: OutputClosedError },
  { code: 'ERR_RESULTS_FILE', errorClass: ResultsFileError },
  { code: 'ERR_INCOMPARABLE_RUNS', errorClass: IncomparableRunsError },
  { code: 'ERR_INCOMPATIBLE_RUNS', errorClass: IncompatibleRunsError },
  { code: 'ERR_RUNS_NOT_CONCURRENT', errorClass: RunsNotConcurrentError },
];
