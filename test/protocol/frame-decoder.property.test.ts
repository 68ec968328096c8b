// Properties of the decoder over random input (fast-check): valid streams decode
// to their payloads however they are cut; any bytes at all give frames or one
// BAD_HEADER/TOO_LARGE, exactly as a simple whole-buffer reference decoder says.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BadHeaderError, TooLargeError } from '../../src/protocol/index.ts';
import { decodeChunks, frames, splitAt } from './decode.ts';

const SPACE = 0x20;

/** The reference: header matched by a regex, value compared as a BigInt, whole buffer at once. */
function referenceDecode(
  stream: Buffer,
  headerBytes: number,
  limit: number,
): { payloads: Buffer[]; error: 'BAD_HEADER' | 'TOO_LARGE' | null } {
  const payloads: Buffer[] = [];
  let pos = 0;
  while (stream.length - pos >= headerBytes) {
    const text = stream.toString('latin1', pos, pos + headerBytes);
    const match = /^ *([0-9]+) *$/.exec(text);
    if (!match) return { payloads, error: 'BAD_HEADER' };
    const value = BigInt(match[1]!);
    if (value > BigInt(limit)) return { payloads, error: 'TOO_LARGE' };
    const length = Number(value);
    pos += headerBytes;
    if (stream.length - pos < length) break;
    payloads.push(stream.subarray(pos, pos + length));
    pos += length;
  }
  return { payloads, error: null };
}

/** A header's worth of bytes that is often, not always, well-formed: mostly digits and spaces. */
const headerishBytes = (headerBytes: number) =>
  fc
    .array(
      fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom(SPACE, SPACE, 0x30, 0x31, 0x32, 0x39) },
        { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
      ),
      {
        minLength: headerBytes,
        maxLength: headerBytes,
      },
    )
    .map((bytes) => Buffer.from(bytes));

/**
 * Streams that mix valid frames, header-like bytes followed by anything, and plain
 * junk: pure random bytes alone almost never get past the first header.
 */
const mixedStream = (headerBytes: number) =>
  fc
    .array(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }).map((p) => frames([p], headerBytes)),
        fc
          .tuple(headerishBytes(headerBytes), fc.uint8Array({ maxLength: 60 }))
          .map(([h, body]) => Buffer.concat([h, body])),
        fc.uint8Array({ maxLength: 100 }).map((b) => Buffer.from(b)),
      ),
      { maxLength: 8 },
    )
    .map((parts) => Buffer.concat(parts));

const cutPoints = fc.array(fc.nat({ max: 20_000 }), { maxLength: 12 });

/** Decodes `stream` cut at `cuts` and asserts the same frames and error as the whole-buffer reference. */
function matchesReference(stream: Buffer, headerBytes: number, limit: number, cuts: number[]) {
  const out = decodeChunks(
    splitAt(
      stream,
      cuts.map((c) => c % (stream.length + 1)),
    ),
    { headerBytes, maxMessageBytes: limit },
  );
  const expected = referenceDecode(stream, headerBytes, limit);
  assert.equal(out.errors[0]?.code ?? null, expected.error);
  assert.deepEqual(out.frames, expected.payloads);
  return out;
}

test('any sequence of valid frames, cut anywhere, decodes to the same payloads', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 4, max: 64 }),
      fc.array(fc.uint8Array({ maxLength: 4096, size: 'max' }), { maxLength: 8 }),
      cutPoints,
      (headerBytes, payloads, cuts) => {
        const stream = frames(payloads, headerBytes);
        const out = decodeChunks(
          splitAt(
            stream,
            cuts.map((c) => c % (stream.length + 1)),
          ),
          { headerBytes },
        );
        assert.deepEqual(out.errors, []);
        assert.deepEqual(
          out.frames,
          payloads.map((p) => Buffer.from(p)),
        );
      },
    ),
  );
});

test('any bytes, cut anywhere, give what the reference decoder gives: frames, then at most one BAD_HEADER/TOO_LARGE', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 4, max: 16 }).chain((headerBytes) =>
        fc.tuple(
          fc.constant(headerBytes),
          fc.oneof(
            mixedStream(headerBytes),
            fc.uint8Array({ maxLength: 400, size: 'max' }).map((b) => Buffer.from(b)),
          ),
        ),
      ),
      fc.oneof(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 2 ** 31 - 1 })),
      cutPoints,
      ([headerBytes, stream], limit, cuts) => {
        const out = matchesReference(stream, headerBytes, limit, cuts);
        assert.equal(out.frameAfterError, false, 'onFrame after onError');
        assert.ok(out.errors.length <= 1, 'more than one error');
        for (const err of out.errors) assert.ok(err instanceof BadHeaderError || err instanceof TooLargeError);
      },
    ),
    { numRuns: 300 },
  );
});

test('streams of well-formed headers with random padding and values around the limit match the reference', () => {
  const header = (headerBytes: number) =>
    fc.tuple(fc.nat({ max: 3 }), fc.nat({ max: 40 }), fc.nat({ max: 2 })).map(([before, value, zeros]) => {
      const text = `${' '.repeat(before)}${'0'.repeat(zeros)}${value}`;
      return Buffer.from(text.slice(0, headerBytes).padEnd(headerBytes, ' '), 'latin1');
    });
  fc.assert(
    fc.property(
      fc
        .integer({ min: 4, max: 12 })
        .chain((headerBytes) =>
          fc.tuple(
            fc.constant(headerBytes),
            fc.array(fc.tuple(header(headerBytes), fc.uint8Array({ maxLength: 40 })), { maxLength: 6 }),
          ),
        ),
      fc.integer({ min: 0, max: 40 }),
      cutPoints,
      ([headerBytes, parts], limit, cuts) => {
        const stream = Buffer.concat(parts.flatMap(([h, body]) => [h, Buffer.from(body)]));
        matchesReference(stream, headerBytes, limit, cuts);
      },
    ),
    { numRuns: 300 },
  );
});
