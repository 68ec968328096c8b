/** Wire constants of protocol v1 (see PROTOCOL.md). */
export const DEFAULT_HEADER_BYTES = 64;
export const MIN_HEADER_BYTES = 4;
export const MAX_HEADER_BYTES = 1024;
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
/** The port the server listens on, and the interactive client connects to, unless told otherwise. */
export const DEFAULT_PORT = 5050;

/** Payload the tutorial's server answers every message with. */
export const ACK_TEXT = 'Msg received';
/** Exact, case-sensitive payload that ends a connection after its reply. */
export const DISCONNECT_MESSAGE = '!DISCONNECT';
/** Prefix of every error frame's payload: `!ERROR <CODE> <text>`. */
export const ERROR_PREFIX = '!ERROR ';

export const SPACE = 0x20;
export const DIGIT_0 = 0x30;
export const DIGIT_9 = 0x39;
