import { writeHeader } from './header.ts';

/** Header + payload as one buffer. One copy of the payload: right for small frames and for replies whose source buffer is reused. */
export function encodeFrame(payload: Uint8Array, headerBytes: number): Buffer {
  const frame = Buffer.allocUnsafe(headerBytes + payload.length);
  writeHeader(frame, 0, payload.length, headerBytes);
  frame.set(payload, headerBytes);
  return frame;
}

/** A frame with a UTF-8 text payload. */
export function encodeTextFrame(text: string, headerBytes: number): Buffer {
  const length = Buffer.byteLength(text, 'utf8');
  const frame = Buffer.allocUnsafe(headerBytes + length);
  writeHeader(frame, 0, length, headerBytes);
  frame.write(text, headerBytes, 'utf8');
  return frame;
}

/**
 * `count` copies of the same frame back to back, built once: a run of pipelined acks
 * is then one subarray and one write, with no allocation per message.
 */
export function repeatFrame(frame: Buffer, count: number): Buffer {
  const out = Buffer.allocUnsafe(frame.length * count);
  for (let i = 0; i < count; i++) frame.copy(out, i * frame.length);
  return out;
}
