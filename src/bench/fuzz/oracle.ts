/**
 * What docs/PROTOCOL.md says a server in echo mode does with one connection's
 * input stream, as a pure function of the bytes. Written from the spec, not
 * from src/protocol, so that a decoder bug shows up as a disagreement:
 *
 * - a frame is an H-byte header (ASCII spaces, decimal digits, spaces; at least
 *   one digit; leading zeros allowed; nothing else) and N payload bytes;
 * - a header that is not that: `!ERROR BAD_HEADER`, then close; a well-formed
 *   header above --max-message-bytes: `!ERROR TOO_LARGE` as soon as the header is
 *   complete, before any payload byte;
 * - each complete frame is echoed byte for byte, in order; `!DISCONNECT` is
 *   echoed, then FIN, and whatever follows it is ignored;
 * - input that stops inside a frame (--frame-timeout) or between frames
 *   (--idle-timeout): `!ERROR TIMEOUT`, then close.
 * The spec does not say when a header that is still incomplete is judged: one
 * whose bytes so far can no longer be well-formed may get BAD_HEADER early, or
 * wait for the timeout; both are accepted there.
 */

export interface OracleConfig {
  headerBytes: number;
  maxMessageBytes: number;
}

type ExpectedEnd = { kind: 'fin' } | { kind: 'error'; codes: readonly string[] };

export interface Expected {
  /** The echo replies, in order. */
  replies: Buffer[];
  end: ExpectedEnd;
}

const SPACE = 0x20;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const DISCONNECT = Buffer.from('!DISCONNECT', 'ascii');

const isDigit = (b: number) => b >= DIGIT_0 && b <= DIGIT_9;

/**
 * Reads `spaces* digits+ spaces*` over all of `header`: the value (as a bigint, any
 * number of digits) or null when the bytes are not that.
 */
export function headerValue(header: Uint8Array): bigint | null {
  let i = 0;
  while (i < header.length && header[i] === SPACE) i++;
  const digitsFrom = i;
  while (i < header.length && isDigit(header[i]!)) i++;
  const digitsTo = i;
  while (i < header.length && header[i] === SPACE) i++;
  if (i !== header.length || digitsTo === digitsFrom) return null;
  return BigInt(Buffer.from(header.subarray(digitsFrom, digitsTo)).toString('ascii'));
}

/** Whether bytes that begin a header can still be completed (with more bytes) into a well-formed one. */
export function couldStillBeHeader(prefix: Uint8Array): boolean {
  let i = 0;
  while (i < prefix.length && prefix[i] === SPACE) i++;
  while (i < prefix.length && isDigit(prefix[i]!)) i++;
  while (i < prefix.length && prefix[i] === SPACE) i++;
  return i === prefix.length;
}

export function expectedOutcome(input: Uint8Array, config: OracleConfig): Expected {
  const h = config.headerBytes;
  const max = BigInt(config.maxMessageBytes);
  const replies: Buffer[] = [];
  let pos = 0;
  for (;;) {
    const left = input.length - pos;
    if (left === 0) return { replies, end: { kind: 'error', codes: ['TIMEOUT'] } }; // idle
    if (left < h) {
      const early = couldStillBeHeader(input.subarray(pos)) ? [] : ['BAD_HEADER'];
      return { replies, end: { kind: 'error', codes: ['TIMEOUT', ...early] } };
    }
    const value = headerValue(input.subarray(pos, pos + h));
    if (value === null) return { replies, end: { kind: 'error', codes: ['BAD_HEADER'] } };
    if (value > max) return { replies, end: { kind: 'error', codes: ['TOO_LARGE'] } };
    const n = Number(value);
    if (left - h < n) return { replies, end: { kind: 'error', codes: ['TIMEOUT'] } }; // frame not finished
    const payload = Buffer.from(input.subarray(pos + h, pos + h + n));
    replies.push(payload);
    if (payload.equals(DISCONNECT)) return { replies, end: { kind: 'fin' } };
    pos += h + n;
  }
}
