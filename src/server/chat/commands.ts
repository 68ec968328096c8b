/**
 * Chat mode's grammar (PROTOCOL.md "Chat mode (v2)"): what a payload a client
 * sends is, and the payloads of the replies. A payload is a command when it
 * starts with `!` and an ASCII capital letter; anything else (`!hello`, `! hi`,
 * `!`) is an ordinary message. Commands are rare; messages are the hot path, so
 * classifying a message costs two byte comparisons and no string work.
 */
import { ChatCommand, isChatName, MAX_CHAT_NAME_BYTES, RefusalCode } from '../../protocol/index.ts';

export { isCommand, DEFAULT_ROOM as LOBBY } from '../../protocol/index.ts';

const CAPITAL_A = 0x41;
const CAPITAL_Z = 0x5a;
const SPACE = 0x20;

export type ParsedCommand =
  | { kind: 'nick'; name: string }
  | { kind: 'join'; room: string }
  | { kind: 'who' }
  | { kind: 'disconnect' }
  | { kind: 'refused'; code: RefusalCode; text: string };

const refused = (code: RefusalCode, text: string): ParsedCommand => ({ kind: 'refused', code, text });

/** An unknown command word is shown in its refusal up to this many letters, so that every refusal is short. */
const SHOWN_WORD_BYTES = 32;
const shownWord = (word: string) => (word.length > SHOWN_WORD_BYTES ? `${word.slice(0, SHOWN_WORD_BYTES)}...` : word);

/**
 * Parses a payload for which isCommand() holds: the command word is the run of
 * capital letters after `!`; `!NICK` and `!JOIN` take one space and an argument
 * (everything after that space); `!WHO` and `!DISCONNECT` take nothing.
 */
export function parseCommand(payload: Uint8Array): ParsedCommand {
  let end = 1;
  while (end < payload.length && payload[end]! >= CAPITAL_A && payload[end]! <= CAPITAL_Z) end++;
  const word = Buffer.from(payload.buffer, payload.byteOffset + 1, end - 1).toString('latin1');
  const hasArgument = end < payload.length && payload[end] === SPACE;
  if (end < payload.length && !hasArgument) {
    return refused(RefusalCode.BAD_COMMAND, `a command word is capital letters, then a space or nothing`);
  }
  const argument = payload.subarray(end + 1);
  switch (word) {
    case ChatCommand.NICK:
    case ChatCommand.JOIN: {
      const what = word === ChatCommand.NICK ? 'name' : 'room';
      if (!hasArgument) return refused(RefusalCode.BAD_COMMAND, `!${word} needs a ${what}: !${word} <${what}>`);
      if (!isChatName(argument)) {
        return refused(
          word === ChatCommand.NICK ? RefusalCode.BAD_NAME : RefusalCode.BAD_ROOM,
          `a ${what} is 1 to ${MAX_CHAT_NAME_BYTES} bytes of A-Z a-z 0-9 _ . -`,
        );
      }
      const value = Buffer.from(argument).toString('latin1');
      return word === ChatCommand.NICK ? { kind: 'nick', name: value } : { kind: 'join', room: value };
    }
    case ChatCommand.WHO:
    case ChatCommand.DISCONNECT:
      if (hasArgument) return refused(RefusalCode.BAD_COMMAND, `!${word} takes nothing after it`);
      return word === ChatCommand.WHO ? { kind: 'who' } : { kind: 'disconnect' };
    default:
      return refused(
        RefusalCode.BAD_COMMAND,
        `unknown command !${shownWord(word)}; commands: !NICK, !JOIN, !WHO, !DISCONNECT`,
      );
  }
}

/** The payload of the `!NO` reply to a refused command. */
export function refusalText(command: { code: RefusalCode; text: string }): string {
  return `!NO ${command.code} ${command.text}`;
}

/**
 * The longest `!OK` or `!NO` payload the server builds (the `!WHO` reply has a rule of
 * its own, who.ts): found by asking parseCommand() for its worst cases, so that it stays
 * true when a text changes. Options validation checks that it fits the header.
 */
export const LONGEST_COMMAND_REPLY_BYTES = Math.max(
  Buffer.byteLength(`!OK NICK ${'n'.repeat(MAX_CHAT_NAME_BYTES)}`),
  Buffer.byteLength(`!OK JOIN ${'r'.repeat(MAX_CHAT_NAME_BYTES)}`),
  ...[
    '!' + 'Z'.repeat(4 * SHOWN_WORD_BYTES),
    '!NICK',
    '!JOIN',
    '!NICK !',
    '!JOIN !',
    '!WHO x',
    '!DISCONNECT x',
    '!NICK!',
  ]
    .map((input) => parseCommand(Buffer.from(input, 'latin1')))
    .map((command) => (command.kind === 'refused' ? Buffer.byteLength(refusalText(command)) : 0)),
);

/** `<from>` for a connection without a name: `ip:port`, IPv4 dotted, IPv6 in brackets. */
export function addressName(address: string | undefined, port: number | undefined): string {
  const ip = address ?? 'unknown';
  // A dual-stack listener shows IPv4 clients as ::ffff:a.b.c.d: they are IPv4.
  const v4 = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
  return v4.includes(':') ? `[${v4}]:${port}` : `${v4}:${port}`;
}
