/**
 * `--log-messages`: one line per message, safe to print and of bounded size.
 * A client must not be able to move the cursor, clear the screen or forge a
 * log line in the server's terminal (control characters are escaped), nor
 * make one message a 6 MB line (only the start of a long payload is printed,
 * with its full length).
 */
import { count, type ServerLog } from './log.ts';

/** Payload bytes printed per message at most; a longer one is cut on a character boundary. */
export const LOGGED_PAYLOAD_BYTES = 1024;

// C0 and C1 control characters and DEL.
// eslint-disable-next-line no-control-regex -- control characters are the point of this pattern
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/** A message as it is printed: control characters shown as \xNN escapes. */
export function printable(text: string): string {
  return text.replace(CONTROL_CHARACTERS, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The first `maxBytes` of UTF-8 `bytes`, not splitting a character (a continuation byte is 0b10xxxxxx). */
export function utf8Head(bytes: Uint8Array, maxBytes: number): number {
  if (bytes.length <= maxBytes) return bytes.length;
  let end = maxBytes;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return end;
}

/** Logs one received message: `[addr] text`, or its first KiB and `… (N bytes)`. */
export function logMessage(log: ServerLog, remote: string, payload: Buffer): void {
  const end = utf8Head(payload, LOGGED_PAYLOAD_BYTES);
  const text = payload.toString('utf8', 0, end);
  const cut = end < payload.length;
  const more = cut ? `… (${count(payload.length)} bytes, first ${count(end)} shown)` : '';
  log.info('message', `[${remote}] ${printable(text)}${more}`, {
    remote,
    payload: text,
    bytes: payload.length,
    ...(cut ? { truncated: true } : {}),
  });
}
