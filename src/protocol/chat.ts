/**
 * Chat mode (v2) on the wire, for both ends (PROTOCOL.md "Chat mode (v2)"):
 * which frames are commands, deliveries and refusals, the name/room rule, and
 * building and reading those payloads. Pure: bytes in, values out.
 *
 * Every test here starts with one byte compare (`!`), so that the common frame
 * (a message, an ack) costs no string work.
 */
import { type CommandRefusedError, refusalFor } from './errors.ts';

/** The room every connection starts in. */
export const DEFAULT_ROOM = 'lobby';
/** Longest name or room, in bytes. */
export const MAX_CHAT_NAME_BYTES = 32;
/**
 * The most a delivery adds to the message it carries: `!JOINED ` (the longest head, 8
 * bytes), a 32-byte room, a space, `<from>` (a name of 32 bytes, or `[IPv6]:port`, at
 * most 53), a space; rounded up to 100. The longest delivery a server sends is its
 * --max-message-bytes plus this, and no `!WHO` reply is longer (PROTOCOL.md).
 */
export const MAX_DELIVERY_PREFIX_BYTES = 100;
/** Names (`!NICK`) and rooms (`!JOIN`): 1 to 32 bytes of `A-Z a-z 0-9 _ . -`. */
export const CHAT_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,32}$/;

/** The command words of chat mode (`!DISCONNECT` is v1's, and still a command). */
export const ChatCommand = {
  NICK: 'NICK',
  JOIN: 'JOIN',
  WHO: 'WHO',
  DISCONNECT: 'DISCONNECT',
} as const;
export type ChatCommand = (typeof ChatCommand)[keyof typeof ChatCommand];

/** Prefix of a command's success reply: `!OK <command> ...`. */
export const OK_PREFIX = '!OK ';
/** Prefix of a refusal: `!NO <CODE> <text>`. */
export const NO_PREFIX = '!NO ';

export const DeliveryKind = {
  MESSAGE: 'message',
  JOINED: 'joined',
  LEFT: 'left',
} as const;
export type DeliveryKind = (typeof DeliveryKind)[keyof typeof DeliveryKind];

/** The payload prefix of each delivery: `!MSG <room> <from> <text>`, `!JOINED <room> <from>`, `!LEFT <room> <from>`. */
export const DELIVERY_PREFIX: Readonly<Record<DeliveryKind, string>> = Object.freeze({
  message: '!MSG ',
  joined: '!JOINED ',
  left: '!LEFT ',
});

/** A frame the server pushed (not a reply): a message from another member, or a presence event. */
export interface Delivery {
  readonly kind: DeliveryKind;
  readonly room: string;
  /** The sender: its `!NICK` name, else its address (`ip:port`, `[v6]:port`). */
  readonly from: string;
  /** `bytes` decoded as UTF-8 (invalid bytes become U+FFFD); '' for joined/left. */
  readonly text: string;
  /** The message's payload byte for byte (a copy, never a view of a socket chunk); empty for joined/left. */
  readonly bytes: Buffer;
}

const BANG = 0x21; // '!'
const SPACE = 0x20;
const CAPITAL_A = 0x41;
const CAPITAL_Z = 0x5a;

const MSG_BYTES = Buffer.from(DELIVERY_PREFIX.message, 'latin1');
const JOINED_BYTES = Buffer.from(DELIVERY_PREFIX.joined, 'latin1');
const LEFT_BYTES = Buffer.from(DELIVERY_PREFIX.left, 'latin1');
const NO_BYTES = Buffer.from(NO_PREFIX, 'latin1');

function startsWith(payload: Uint8Array, prefix: Buffer): boolean {
  if (payload.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (payload[i] !== prefix[i]) return false;
  return true;
}

/**
 * True when `payload` is a command: `!` followed by an ASCII capital letter.
 * Anything else (`!hello`, `! hi`, `!`, `hello`) is an ordinary message.
 */
export function isCommand(payload: Uint8Array): boolean {
  if (payload.length < 2 || payload[0] !== BANG) return false;
  const second = payload[1]!;
  return second >= CAPITAL_A && second <= CAPITAL_Z;
}

function isNameByte(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    (byte >= CAPITAL_A && byte <= CAPITAL_Z) ||
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    byte === 0x5f || // _
    byte === 0x2e || // .
    byte === 0x2d // -
  );
}

/**
 * True when `value` is a valid name or room: 1 to 32 bytes of `A-Z a-z 0-9 _ . -`.
 * Bytes are checked in place (`start`..`end`), so a server can test a command's
 * argument without decoding it.
 */
export function isChatName(value: string | Uint8Array, start = 0, end = value.length): boolean {
  if (typeof value === 'string') return CHAT_NAME_PATTERN.test(value.slice(start, end));
  const length = end - start;
  if (length < 1 || length > MAX_CHAT_NAME_BYTES) return false;
  for (let i = start; i < end; i++) if (!isNameByte(value[i]!)) return false;
  return true;
}

/** The delivery kind `payload` is, by its prefix alone; null for every other frame (a reply). */
export function deliveryKind(payload: Uint8Array): DeliveryKind | null {
  if (payload[0] !== BANG) return null;
  if (startsWith(payload, MSG_BYTES)) return 'message';
  if (startsWith(payload, JOINED_BYTES)) return 'joined';
  if (startsWith(payload, LEFT_BYTES)) return 'left';
  return null;
}

const EMPTY = Buffer.alloc(0);

/**
 * Reads a delivery. Null when `payload` is not one, or is a malformed one: a
 * room or a sender that is empty or missing, `!MSG <room> <from>` without the
 * space that ends `<from>`, or a presence event with anything after `<from>`.
 * Room and sender are not held to the name rule: the server is the authority.
 */
export function parseDelivery(payload: Uint8Array, kind = deliveryKind(payload)): Delivery | null {
  if (kind === null) return null;
  const bytes = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  const roomStart = DELIVERY_PREFIX[kind].length;
  const roomEnd = bytes.indexOf(SPACE, roomStart);
  if (roomEnd <= roomStart) return null;
  const fromStart = roomEnd + 1;
  const room = bytes.toString('utf8', roomStart, roomEnd);
  if (kind !== 'message') {
    if (fromStart >= bytes.length || bytes.indexOf(SPACE, fromStart) !== -1) return null;
    return { kind, room, from: bytes.toString('utf8', fromStart), text: '', bytes: EMPTY };
  }
  const fromEnd = bytes.indexOf(SPACE, fromStart);
  if (fromEnd <= fromStart) return null;
  // A copy: the payload may be a view into a socket chunk that is reused.
  const text = Buffer.from(bytes.subarray(fromEnd + 1));
  return { kind, room, from: bytes.toString('utf8', fromStart, fromEnd), text: text.toString('utf8'), bytes: text };
}

/**
 * The payload of a delivery (the frame header is the sender's business). `text`
 * goes in byte for byte and only for `message`; room and sender are not checked.
 */
export function deliveryPayload(
  kind: DeliveryKind,
  room: string,
  from: string,
  text: string | Uint8Array = EMPTY,
): Buffer {
  const head = `${DELIVERY_PREFIX[kind]}${room} ${from}`;
  if (kind !== 'message') return Buffer.from(head, 'utf8');
  const body = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const headLength = Buffer.byteLength(head, 'utf8');
  const out = Buffer.allocUnsafe(headLength + 1 + body.length);
  out.write(head, 0, 'utf8');
  out[headLength] = SPACE;
  out.set(body, headLength + 1);
  return out;
}

/** If `payload` is a `!NO <CODE> <text>` refusal, the CommandRefusedError it carries (refusalFor), else null. */
export function parseRefusal(payload: Uint8Array): CommandRefusedError | null {
  if (payload[0] !== BANG || !startsWith(payload, NO_BYTES)) return null;
  const rest = Buffer.from(payload.buffer, payload.byteOffset + NO_BYTES.length, payload.length - NO_BYTES.length);
  const space = rest.indexOf(SPACE);
  return space === -1
    ? refusalFor(rest.toString('utf8'), '')
    : refusalFor(rest.toString('utf8', 0, space), rest.toString('utf8', space + 1));
}

/** The payload of the `!NO` frame that carries `err`. */
export function refusalPayload(err: CommandRefusedError): Buffer {
  return Buffer.from(`${NO_PREFIX}${err.code} ${err.text}`, 'utf8');
}
