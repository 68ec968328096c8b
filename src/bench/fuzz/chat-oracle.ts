/**
 * What a chat server must do, as pure functions, written from docs/PROTOCOL.md
 * ("Chat mode (v2)") and the Redis batch format (docs/chat.md "Several servers",
 * src/server/chat/batch-codec.ts's comment), sharing no code with src/server or
 * src/protocol, so that a bug there shows up as a disagreement:
 *
 * - a session: the reply to each frame, in order (deliveries apart), and how the
 *   connection ends;
 * - a batch published on a room's channel: the payloads every member of that room
 *   gets, in order, or the reason it is dropped, checked in this order: not a
 *   handoff batch (`garbage`), shorter than its fixed fields (`truncated`), another
 *   version, a server id that is empty or longer than 64 bytes (`malformed`), cut
 *   short anywhere (`truncated`), bytes after the last payload (`malformed`), other
 *   --header-bytes, other --max-message-bytes, then each payload in turn: longer
 *   than --max-message-bytes + 100 (`too_large`) or not a delivery of that room
 *   (`not_delivery`).
 */

export interface ChatOracleConfig {
  headerBytes: number;
  maxMessageBytes: number;
}

/** One expected reply: exactly these bytes, a refusal with this code, or a `!WHO` of this room asked by `self`. */
type ExpectedReply =
  | { kind: 'exact'; text: string }
  | { kind: 'refusal'; code: 'BAD_COMMAND' | 'BAD_NAME' | 'BAD_ROOM' }
  | { kind: 'who'; room: string; self: string };

export interface ExpectedSession {
  replies: ExpectedReply[];
  /** `fin` after `!DISCONNECT`; `too-large`: `!ERROR TOO_LARGE` then close; `open`: the client closes once every reply is in. */
  end: 'fin' | 'too-large' | 'open';
}

const ACK = 'Msg received';
const NAME = /^[A-Za-z0-9_.-]{1,32}$/;

function isName(bytes: Buffer): boolean {
  return NAME.test(bytes.toString('latin1')) && bytes.length <= 32 && bytes.every((b) => b < 0x80);
}

/** The replies to `payloads` (then the ending), for a connection that starts named `address` in the lobby. */
export function expectedSession(
  payloads: readonly Buffer[],
  ending: { tooLarge: boolean; disconnect: boolean },
  address: string,
): ExpectedSession {
  let self = address;
  let room = 'lobby';
  const replies: ExpectedReply[] = [];
  for (const p of payloads) {
    if (p.toString('latin1') === '!DISCONNECT') {
      replies.push({ kind: 'exact', text: ACK });
      return { replies, end: 'fin' };
    }
    const command = p.length >= 2 && p[0] === 0x21 && p[1]! >= 0x41 && p[1]! <= 0x5a;
    if (!command) {
      replies.push({ kind: 'exact', text: ACK });
      continue;
    }
    let end = 1;
    while (end < p.length && p[end]! >= 0x41 && p[end]! <= 0x5a) end++;
    const word = p.toString('latin1', 1, end);
    const hasArgument = end < p.length && p[end] === 0x20;
    if (end < p.length && !hasArgument) {
      replies.push({ kind: 'refusal', code: 'BAD_COMMAND' });
      continue;
    }
    const argument = p.subarray(end + 1);
    if (word === 'NICK' || word === 'JOIN') {
      if (!hasArgument) replies.push({ kind: 'refusal', code: 'BAD_COMMAND' });
      else if (!isName(argument)) replies.push({ kind: 'refusal', code: word === 'NICK' ? 'BAD_NAME' : 'BAD_ROOM' });
      else if (word === 'NICK') {
        self = argument.toString('latin1');
        replies.push({ kind: 'exact', text: `!OK NICK ${self}` });
      } else {
        room = argument.toString('latin1');
        replies.push({ kind: 'exact', text: `!OK JOIN ${room}` });
      }
    } else if (word === 'WHO' && !hasArgument) {
      replies.push({ kind: 'who', room, self });
    } else {
      replies.push({ kind: 'refusal', code: 'BAD_COMMAND' }); // unknown, or something after !WHO / !DISCONNECT
    }
  }
  if (ending.tooLarge) return { replies, end: 'too-large' };
  if (ending.disconnect) {
    replies.push({ kind: 'exact', text: ACK });
    return { replies, end: 'fin' };
  }
  return { replies, end: 'open' };
}

/** Whether `reply` is the `!WHO` PROTOCOL.md allows: of `room`, `self` first, within the size rule, ` +N` last if any. */
export function whoProblem(reply: string, room: string, self: string, maxBytes: number): string | null {
  if (Buffer.byteLength(reply) > maxBytes) return `a ${Buffer.byteLength(reply)}-byte !WHO, above ${maxBytes}`;
  const words = reply.split(' ');
  if (words[0] !== '!OK' || words[1] !== 'WHO' || words[2] !== room) return `not a !WHO of ${room}`;
  const names = words.slice(3);
  if (names.some((n) => n === '')) return 'an empty name';
  const marker = names.at(-1)?.startsWith('+') ? names.pop()! : null;
  if (marker !== null && !/^\+[1-9][0-9]*$/.test(marker)) return `a bad +N: ${marker}`;
  if (names.some((n) => n.startsWith('+'))) return 'a +N before the end';
  if (names.length > 0 && names[0] !== self) return `${names[0]} first, not the asker ${self}`;
  if (names.length === 0 && marker === null) return 'nobody, not even the asker';
  return null;
}

export type BatchFate = { deliver: Buffer[] } | { drop: string };

const MAGIC = Buffer.from('hbus', 'latin1');
const HEADS = ['!MSG ', '!JOINED ', '!LEFT '];

function isDeliveryOf(p: Buffer, room: string): boolean {
  const s = p.toString('latin1');
  const head = HEADS.find((h) => s.startsWith(`${h}${room} `));
  if (head === undefined) return false;
  const rest = s.slice(head.length + room.length + 1);
  if (head === '!MSG ') {
    const space = rest.indexOf(' ');
    return space > 0;
  }
  return rest.length > 0 && !rest.includes(' ');
}

/** What a server with `config` does with `bytes` published on `room`'s channel. */
export function expectedBatch(bytes: Buffer, room: string, config: ChatOracleConfig): BatchFate {
  if (bytes.length < 4 || !bytes.subarray(0, 4).equals(MAGIC)) return { drop: 'garbage' };
  if (bytes.length < 12) return { drop: 'truncated' };
  if (bytes[4] !== 1) return { drop: 'version' };
  const idLength = bytes[11]!;
  if (idLength < 1 || idLength > 64) return { drop: 'malformed' };
  let at = 12 + idLength;
  if (bytes.length < at + 4) return { drop: 'truncated' };
  const count = bytes.readUInt32BE(at);
  at += 4;
  const payloads: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    if (bytes.length < at + 4) return { drop: 'truncated' };
    const n = bytes.readUInt32BE(at);
    at += 4;
    if (bytes.length < at + n) return { drop: 'truncated' };
    payloads.push(bytes.subarray(at, at + n));
    at += n;
  }
  if (at !== bytes.length) return { drop: 'malformed' };
  if (bytes.readUInt16BE(5) !== config.headerBytes) return { drop: 'header_bytes' };
  if (bytes.readUInt32BE(7) !== config.maxMessageBytes) return { drop: 'max_message_bytes' };
  for (const p of payloads) {
    if (p.length > config.maxMessageBytes + 100) return { drop: 'too_large' };
    if (!isDeliveryOf(p, room)) return { drop: 'not_delivery' };
  }
  return { deliver: payloads };
}
