/**
 * What a chat sender puts at the start of every payload, so that a receiver
 * can tell, from the bytes alone, who sent it, its place in that sender's
 * sequence, whether it was sent inside the measured window, and when it was
 * due (the latency runs from there):
 *
 *   byte 0      'w' (sent in the warm-up) or 'W' (sent inside the window)
 *   bytes 1-3   sender id, 24-bit little-endian
 *   bytes 4-7   sequence number of that sender, 32-bit little-endian (from 0)
 *   bytes 8-15  due time, 64-bit little-endian integer: ns since the measurement's clock origin
 *   bytes 16-   filler 'a'..'z'
 *
 * The origin is a performance.now() reading, and performance.now() is one
 * clock for every thread of the process (one timeOrigin), so a stamp written
 * by a sender thread is read by any receiver thread without conversion.
 * Readers take the bytes one by one: no call, no allocation (this runs once
 * per delivery).
 */
export const STAMP_BYTES = 16;
const MAGIC_WARM = 0x77; // 'w'
const MAGIC_COUNTED = 0x57; // 'W'
/** Sender ids are 24-bit. */
export const MAX_SENDERS = 1 << 24;

/** A payload of `sizeBytes` (at least STAMP_BYTES) with an empty stamp and the filler. */
export function payloadTemplate(sizeBytes: number): Buffer {
  const payload = Buffer.alloc(sizeBytes);
  payload[0] = MAGIC_WARM;
  for (let i = STAMP_BYTES; i < sizeBytes; i++) payload[i] = 0x61 + (i % 26);
  return payload;
}

const TWO_32 = 4294967296;

export function writeStamp(buf: Buffer, at: number, sid: number, seq: number, counted: boolean, dueNs: number): void {
  buf[at] = counted ? MAGIC_COUNTED : MAGIC_WARM;
  buf[at + 1] = sid & 0xff;
  buf[at + 2] = (sid >>> 8) & 0xff;
  buf[at + 3] = (sid >>> 16) & 0xff;
  buf.writeUInt32LE(seq >>> 0, at + 4);
  const ns = Math.max(0, Math.round(dueNs));
  buf.writeUInt32LE(ns % TWO_32, at + 8);
  buf.writeUInt32LE(Math.floor(ns / TWO_32), at + 12);
}

/** True when `buf[at]` starts a stamp (either magic byte). */
export function isStamp(buf: Uint8Array, at: number): boolean {
  const m = buf[at];
  return m === MAGIC_COUNTED || m === MAGIC_WARM;
}

export function stampCounted(buf: Uint8Array, at: number): boolean {
  return buf[at] === MAGIC_COUNTED;
}

export function stampSender(buf: Uint8Array, at: number): number {
  return buf[at + 1]! | (buf[at + 2]! << 8) | (buf[at + 3]! << 16);
}

/** Four bytes at `at`, little-endian, unsigned. */
function u32(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16)) + buf[at + 3]! * 16777216;
}

export function stampSeq(buf: Uint8Array, at: number): number {
  return u32(buf, at + 4);
}

/** The due time in ns since the measurement's origin. */
export function stampDueNs(buf: Uint8Array, at: number): number {
  return u32(buf, at + 8) + u32(buf, at + 12) * TWO_32;
}
