/**
 * Chat mode's grammar (PROTOCOL.md "Chat mode (v2)"): what a payload a client
 * sends is, and the payloads of the replies. A payload is a command when it
 * starts with `!` and an ASCII capital letter; anything else (`!hello`, `! hi`,
 * `!`) is an ordinary message. Commands are rare; messages are the hot path, so
 * classifying a message costs two byte comparisons and no string work.
 */
import { RefusalCode } from '../../protocol/index.ts';

const BANG = 0x21;
const CAPITAL_A = 0x41;
const CAPITAL_Z = 0x5a;
const SPACE = 0x20;

/** Longest name or room, in bytes. */
export const MAX_NAME_BYTES = 32;
/** Every connection starts here. */
export const LOBBY = 'lobby';

export type ChatCommand =
  | { kind: 'nick'; name: string }
  | { kind: 'join'; room: string }
  | { kind: 'who' }
  | { kind: 'disconnect' }
  | { kind: 'refused'; code: RefusalCode; text: string };

/** True for a payload that is a command (`!` then A-Z); false for a message. */
export function isCommand(payload: Uint8Array): boolean {
  if (payload.length < 2 || payload[0] !== BANG) return false;
  const c = payload[1]!;
  return c >= CAPITAL_A && c <= CAPITAL_Z;
}

/** 1 to 32 bytes of `A-Z a-z 0-9 _ . -`. */
export function isValidName(bytes: Uint8Array): boolean {
  if (bytes.length === 0 || bytes.length > MAX_NAME_BYTES) return false;
  for (const c of bytes) {
    const ok =
      (c >= 0x41 && c <= 0x5a) || // A-Z
      (c >= 0x61 && c <= 0x7a) || // a-z
      (c >= 0x30 && c <= 0x39) || // 0-9
      c === 0x5f || // _
      c === 0x2e || // .
      c === 0x2d; // -
    if (!ok) return false;
  }
  return true;
}

const refused = (code: RefusalCode, text: string): ChatCommand => ({ kind: 'refused', code, text });

/**
 * Parses a payload for which isCommand() holds: the command word is the run of
 * capital letters after `!`; `!NICK` and `!JOIN` take one space and an argument
 * (everything after that space); `!WHO` and `!DISCONNECT` take nothing.
 */
export function parseCommand(payload: Uint8Array): ChatCommand {
  let end = 1;
  while (end < payload.length && payload[end]! >= CAPITAL_A && payload[end]! <= CAPITAL_Z) end++;
  const word = Buffer.from(payload.buffer, payload.byteOffset + 1, end - 1).toString('latin1');
  const hasArgument = end < payload.length && payload[end] === SPACE;
  if (end < payload.length && !hasArgument) {
    return refused(RefusalCode.BAD_COMMAND, `a command word is capital letters, then a space or nothing`);
  }
  const argument = payload.subarray(end + 1);
  switch (word) {
    case 'NICK':
    case 'JOIN': {
      const what = word === 'NICK' ? 'name' : 'room';
      if (!hasArgument) return refused(RefusalCode.BAD_COMMAND, `!${word} needs a ${what}: !${word} <${what}>`);
      if (!isValidName(argument)) {
        return refused(
          word === 'NICK' ? RefusalCode.BAD_NAME : RefusalCode.BAD_ROOM,
          `a ${what} is 1 to ${MAX_NAME_BYTES} bytes of A-Z a-z 0-9 _ . -`,
        );
      }
      const value = Buffer.from(argument).toString('latin1');
      return word === 'NICK' ? { kind: 'nick', name: value } : { kind: 'join', room: value };
    }
    case 'WHO':
    case 'DISCONNECT':
      if (hasArgument) return refused(RefusalCode.BAD_COMMAND, `!${word} takes nothing after it`);
      return word === 'WHO' ? { kind: 'who' } : { kind: 'disconnect' };
    default:
      return refused(RefusalCode.BAD_COMMAND, `unknown command !${word}; commands: !NICK, !JOIN, !WHO, !DISCONNECT`);
  }
}

/** `<from>` for a connection without a name: `ip:port`, IPv4 dotted, IPv6 in brackets. */
export function addressName(address: string | undefined, port: number | undefined): string {
  const ip = address ?? 'unknown';
  // A dual-stack listener shows IPv4 clients as ::ffff:a.b.c.d: they are IPv4.
  const v4 = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
  return v4.includes(':') ? `[${v4}]:${port}` : `${v4}:${port}`;
}
