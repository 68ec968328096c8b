// Shared by the decoder tests: feed chunks, collect what the decoder says.
import { encodeFrame, FrameDecoder, type FrameDecoderOptions, type ProtocolError } from '../../src/protocol/index.ts';

export interface Decoded {
  frames: Buffer[];
  errors: ProtocolError[];
  /** A frame was delivered after an error (must never happen). */
  frameAfterError: boolean;
}

export function decoderFor(options: FrameDecoderOptions = {}): { decoder: FrameDecoder; out: Decoded } {
  const out: Decoded = { frames: [], errors: [], frameAfterError: false };
  const decoder = new FrameDecoder(
    options,
    (payload) => {
      if (out.errors.length > 0) out.frameAfterError = true;
      out.frames.push(Buffer.from(payload)); // the view is only valid during the call
    },
    (err) => out.errors.push(err),
  );
  return { decoder, out };
}

export function decodeChunks(chunks: Iterable<Buffer>, options: FrameDecoderOptions = {}): Decoded {
  const { decoder, out } = decoderFor(options);
  for (const chunk of chunks) decoder.push(chunk);
  return out;
}

/** `stream` cut at the given offsets (sorted, deduplicated, within range). */
export function splitAt(stream: Buffer, offsets: number[]): Buffer[] {
  const cuts = [...new Set(offsets.map((o) => Math.min(Math.max(o, 0), stream.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const cut of cuts) {
    chunks.push(stream.subarray(from, cut));
    from = cut;
  }
  chunks.push(stream.subarray(from));
  return chunks;
}

export function* byteByByte(stream: Buffer): Generator<Buffer> {
  for (let i = 0; i < stream.length; i++) yield stream.subarray(i, i + 1);
}

export function frames(payloads: Array<string | Uint8Array>, headerBytes = 64): Buffer {
  return Buffer.concat(payloads.map((p) => encodeFrame(typeof p === 'string' ? Buffer.from(p) : p, headerBytes)));
}
