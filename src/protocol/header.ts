import { DIGIT_0, DIGIT_9, MAX_HEADER_BYTES, MIN_HEADER_BYTES, SPACE } from './constants.ts';
import { HeaderOverflowError, InvalidOptionError } from './errors.ts';

/** parseHeader's answer for a header that is not spaces + digits + spaces. */
export const HEADER_MALFORMED = -1;
/** parseHeader's answer for a well-formed header whose value is above the limit. */
export const HEADER_TOO_LARGE = -2;

export function assertHeaderBytes(headerBytes: number): void {
  if (!Number.isInteger(headerBytes) || headerBytes < MIN_HEADER_BYTES || headerBytes > MAX_HEADER_BYTES) {
    throw new InvalidOptionError(
      'headerBytes',
      `{headerBytes} must be an integer from ${MIN_HEADER_BYTES} to ${MAX_HEADER_BYTES}, got ${String(headerBytes)}`,
    );
  }
}

/**
 * Parses the header in `buf[start, start + headerBytes)`.
 * Returns the payload length, HEADER_MALFORMED or HEADER_TOO_LARGE.
 * Accepts spaces on both sides of the digits and leading zeros, nothing else.
 * The value saturates just above `maxMessageBytes`, so 300 digits cost no bignum.
 */
export function parseHeader(buf: Uint8Array, start: number, headerBytes: number, maxMessageBytes: number): number {
  const end = start + headerBytes;
  let i = start;
  while (i < end && buf[i] === SPACE) i++;
  const digitsStart = i;
  let value = 0;
  let over = false;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c < DIGIT_0 || c > DIGIT_9) break;
    if (!over) {
      value = value * 10 + (c - DIGIT_0);
      if (value > maxMessageBytes) over = true;
    }
  }
  if (i === digitsStart) return HEADER_MALFORMED; // spaces alone, or a non-digit first
  for (; i < end; i++) if (buf[i] !== SPACE) return HEADER_MALFORMED;
  return over ? HEADER_TOO_LARGE : value;
}

/**
 * Writes the header for a `length`-byte payload into `target` at `offset`: digits, then
 * spaces. Throws HeaderOverflowError when the digits do not fit. The digits are written
 * one by one, with no string made: this runs once per chat message and echo reply.
 */
export function writeHeader(target: Buffer, offset: number, length: number, headerBytes: number): void {
  let digits = 1;
  for (let n = length; n >= 10; n = Math.floor(n / 10)) digits++;
  if (digits > headerBytes) {
    throw new HeaderOverflowError(`a ${length}-byte payload does not fit a ${headerBytes}-byte header`);
  }
  for (let i = offset + digits - 1, n = length; i >= offset; i--, n = Math.floor(n / 10)) {
    target[i] = DIGIT_0 + (n % 10);
  }
  target.fill(SPACE, offset + digits, offset + headerBytes);
}

/** A new header buffer for a `length`-byte payload. */
export function encodeHeader(length: number, headerBytes: number): Buffer {
  const header = Buffer.allocUnsafe(headerBytes);
  writeHeader(header, 0, length, headerBytes);
  return header;
}
