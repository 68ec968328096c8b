// What the interactive client shows in chat mode, and how it reads the user's
// friendly spellings: pure functions, so the REPL only wires them up.
import type { Delivery } from '../protocol/chat.ts';
import type { WhoReply } from './client.ts';

/** A line the user typed, as the chat REPL acts on it. */
export type ChatLine =
  | { kind: 'join'; argument: string }
  | { kind: 'nick'; argument: string }
  | { kind: 'who' }
  | { kind: 'send'; message: string };

/** The friendly spellings, as the banner lists them. */
export const CHAT_COMMANDS_HELP = '/join <room>, /nick <name>, /who';

/**
 * `/join <room>` and `/nick <name>` take everything after the first space as it
 * is (the server judges it; `/join` alone sends an empty room); `/who` is the
 * whole line. Every other line, `!JOIN x` typed by hand included, is sent as typed.
 */
export function parseChatLine(line: string): ChatLine {
  if (line === '/who') return { kind: 'who' };
  const m = /^\/(join|nick)(?: ([^]*))?$/.exec(line);
  if (m) return { kind: m[1] as 'join' | 'nick', argument: m[2] ?? '' };
  return { kind: 'send', message: line };
}

// Line breaks are re-indented; every other C0/C1 control (ESC above all) and the bidi
// overrides are replaced, so another user's text can neither move the cursor, recolour
// the terminal, nor fake a line of its own. Tabs stay.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNPRINTABLE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/g;
const LINE_BREAK = /\r\n|[\r\n\u2028\u2029]/g;

/** Text from the network made safe for a terminal: continuation lines indented by two spaces, controls as U+FFFD. */
export function printable(text: string): string {
  return text.replace(LINE_BREAK, '\n  ').replace(UNPRINTABLE, '\uFFFD');
}

/** `[lobby] alice: hello`, `* bob joined lobby`, `* bob left lobby`. */
export function formatDelivery(delivery: Delivery): string {
  const room = printable(delivery.room);
  const from = printable(delivery.from);
  switch (delivery.kind) {
    case 'message':
      return `[${room}] ${from}: ${printable(delivery.text)}`;
    case 'joined':
      return `* ${from} joined ${room}`;
    case 'left':
      return `* ${from} left ${room}`;
  }
}

/** `lobby: alice, bob, 127.0.0.1:5123`; a room too big for one reply, `lobby: alice, bob and 998 more`. */
export function formatWho({ room, members, leftOut }: WhoReply): string {
  const named = members.map(printable).join(', ');
  return `${printable(room)}: ${named}${leftOut > 0 ? ` and ${leftOut.toLocaleString('en-US')} more` : ''}`;
}
