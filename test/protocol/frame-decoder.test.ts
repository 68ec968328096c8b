// The streaming FrameDecoder: any chunking of the same bytes gives the same frames.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BadHeaderError, FrameDecoder, type FrameDecoderOptions, TooLargeError } from '../../src/protocol/index.ts';
import { byteByByte, decodeChunks, decoderFor, frames, splitAt } from './decode.ts';

const SAMPLE = ['Hello World!', '', 'ünïcødé ✓', 'x'.repeat(300), '', '!DISCONNECT'];
const texts = (bufs: Buffer[]): string[] => bufs.map((b) => b.toString('utf8'));

describe('chunking does not change the frames (byByteTest)', () => {
  for (const headerBytes of [4, 64, 1024]) {
    const stream = frames(SAMPLE, headerBytes);

    test(`whole stream in one chunk (header ${headerBytes})`, () => {
      const out = decodeChunks([stream], { headerBytes });
      assert.deepEqual(texts(out.frames), SAMPLE);
      assert.deepEqual(out.errors, []);
    });

    test(`split in two at every offset (header ${headerBytes})`, () => {
      for (let cut = 0; cut <= stream.length; cut++) {
        const out = decodeChunks(splitAt(stream, [cut]), { headerBytes });
        assert.deepEqual(texts(out.frames), SAMPLE, `cut at ${cut}`);
        assert.equal(out.errors.length, 0);
      }
    });

    test(`one byte at a time (header ${headerBytes})`, () => {
      const out = decodeChunks(byteByByte(stream), { headerBytes });
      assert.deepEqual(texts(out.frames), SAMPLE);
    });
  }
});

test('many frames in one chunk are all delivered, in order', () => {
  const payloads = Array.from({ length: 1000 }, (_, i) => `message ${i}`);
  const out = decodeChunks([frames(payloads, 8)], { headerBytes: 8 });
  assert.deepEqual(texts(out.frames), payloads);
});

test('0-byte payloads, alone and back to back, are frames', () => {
  const out = decodeChunks([frames(['', '', 'a', ''], 4)], { headerBytes: 4 });
  assert.deepEqual(texts(out.frames), ['', '', 'a', '']);
});

test('an invalid UTF-8 payload is delivered byte-exact', () => {
  const invalid = Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0x00]);
  for (const chunks of [[frames([invalid])], [...byteByByte(frames([invalid]))]]) {
    const out = decodeChunks(chunks);
    assert.equal(out.frames.length, 1);
    assert.ok(out.frames[0]!.equals(invalid));
  }
});

test('decoder rejects a tab in the header (BAD_HEADER), once, and decodes nothing after', () => {
  const bad = Buffer.from('12\t'.padEnd(64, ' '));
  const out = decodeChunks([frames(['before']), bad, frames(['after'])]);
  assert.deepEqual(texts(out.frames), ['before']);
  assert.equal(out.errors.length, 1);
  assert.ok(out.errors[0] instanceof BadHeaderError);
  assert.equal(out.errors[0].code, 'BAD_HEADER');
});

test('decoder reports TOO_LARGE right after the header, before any payload byte arrives', () => {
  const { decoder, out } = decoderFor({ maxMessageBytes: 1000 });
  decoder.push(Buffer.from('1001'.padEnd(64, ' ')));
  assert.equal(out.errors.length, 1);
  assert.ok(out.errors[0] instanceof TooLargeError);
  assert.equal(decoder.stopped, true);
  decoder.push(Buffer.alloc(1001, 0x41));
  assert.equal(out.frames.length, 0);
  assert.equal(out.errors.length, 1);
});

test('decoder reports TOO_LARGE for a header split across chunks too', () => {
  const { decoder, out } = decoderFor({ headerBytes: 8, maxMessageBytes: 10 });
  decoder.push(Buffer.from('99'));
  assert.equal(out.errors.length, 0);
  decoder.push(Buffer.from('      '));
  assert.ok(out.errors[0] instanceof TooLargeError);
});

test('a payload exactly at maxMessageBytes is accepted', () => {
  const out = decodeChunks([frames(['x'.repeat(10)], 8)], { headerBytes: 8, maxMessageBytes: 10 });
  assert.deepEqual(texts(out.frames), ['x'.repeat(10)]);
});

test('nothing is decoded after stop()', () => {
  const { decoder, out } = decoderFor();
  decoder.push(frames(['one']));
  decoder.stop();
  decoder.push(frames(['two', 'three']));
  assert.deepEqual(texts(out.frames), ['one']);
  assert.equal(decoder.stopped, true);
  assert.equal(out.errors.length, 0);
});

test('stop() called from inside onFrame ends the chunk there', () => {
  const seen: string[] = [];
  const decoder: FrameDecoder = new FrameDecoder(
    {},
    (payload) => {
      seen.push(payload.toString());
      if (payload.toString() === '!DISCONNECT') decoder.stop();
    },
    () => assert.fail('no error expected'),
  );
  decoder.push(frames(['a', '!DISCONNECT', 'ignored']));
  assert.deepEqual(seen, ['a', '!DISCONNECT']);
});

test('inFrame is true mid-header and mid-payload, false at a frame boundary', () => {
  const { decoder } = decoderFor({ headerBytes: 8 });
  const frame = frames(['hello'], 8);
  assert.equal(decoder.inFrame, false);
  decoder.push(frame.subarray(0, 3));
  assert.equal(decoder.inFrame, true, 'mid-header');
  decoder.push(frame.subarray(3, 10));
  assert.equal(decoder.inFrame, true, 'mid-payload');
  decoder.push(frame.subarray(10));
  assert.equal(decoder.inFrame, false, 'at the boundary');
  decoder.push(Buffer.concat([frame, frame]));
  assert.equal(decoder.inFrame, false, 'after two whole frames');
});

test('a payload inside one chunk is handed out as a view of that chunk (no copy)', () => {
  const chunk = frames(['view me']);
  let payloadMemory: ArrayBufferLike | undefined;
  new FrameDecoder(
    {},
    (p) => (payloadMemory = p.buffer),
    () => {},
  ).push(chunk);
  assert.equal(payloadMemory, chunk.buffer);
});

test('a 1 MiB payload fed one byte at a time is correct, with linear total copying', (t) => {
  const payload = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >>> 11)) & 0xff;
  const stream = frames([payload]);
  const { decoder, out } = decoderFor();
  // Every byte copied into a grown buffer was first allocated: summing allocations bounds the copying.
  const alloc = t.mock.method(Buffer, 'allocUnsafe');
  for (let i = 0; i < stream.length; i++) decoder.push(stream.subarray(i, i + 1));
  const allocated = alloc.mock.calls.reduce((sum, call) => sum + (call.arguments[0] as number), 0);
  alloc.mock.restore();
  assert.equal(out.frames.length, 1);
  assert.ok(out.frames[0]!.equals(payload));
  assert.ok(alloc.mock.callCount() <= 8, `payload buffer grew ${alloc.mock.callCount()} times`);
  assert.ok(allocated <= 2 * payload.length, `allocated ${allocated} bytes for a ${payload.length}-byte payload`);
});

describe('onlyPayloadsOfLength: the other frames are counted, never handed out or copied (server ack mode)', () => {
  const DISCONNECT = '!DISCONNECT';
  const stream = frames([
    'Hello World!',
    'x'.repeat(100_000),
    DISCONNECT.toLowerCase(),
    '',
    'y'.repeat(300),
    DISCONNECT,
  ]);

  test('every chunking counts the same frames and hands out exactly the payloads of that length', () => {
    for (const chunks of [
      [stream],
      ...[1, 64, 65, 5000, 100_064].map((cut) => splitAt(stream, [cut])),
      [...byteByByte(stream)],
    ]) {
      const { decoder, out } = decoderFor({ onlyPayloadsOfLength: DISCONNECT.length });
      for (const chunk of chunks) decoder.push(chunk);
      assert.equal(decoder.frames, 6);
      assert.deepEqual(texts(out.frames), [DISCONNECT.toLowerCase(), DISCONNECT]);
      assert.deepEqual(out.errors, []);
    }
  });

  test('a 1 MiB payload split across chunks allocates nothing', (t) => {
    const big = frames([Buffer.alloc(1024 * 1024, 0x61)]);
    const { decoder, out } = decoderFor({ onlyPayloadsOfLength: 11 });
    const alloc = t.mock.method(Buffer, 'allocUnsafe');
    for (let at = 0; at < big.length; at += 4096) decoder.push(big.subarray(at, at + 4096));
    const calls = alloc.mock.callCount();
    alloc.mock.restore();
    assert.equal(calls, 0);
    assert.equal(decoder.frames, 1);
    assert.equal(out.frames.length, 0);
    assert.equal(decoder.inFrame, false);
  });

  test('frames counted before a bad header stay counted; nothing after it is', () => {
    const bad = Buffer.from('x'.padEnd(64, ' '));
    const { decoder, out } = decoderFor({ onlyPayloadsOfLength: 11 });
    decoder.push(Buffer.concat([frames(['a', 'b'.repeat(50)]), bad, frames(['c'])]));
    assert.equal(decoder.frames, 2);
    assert.equal(out.errors.length, 1);
    assert.ok(out.errors[0] instanceof BadHeaderError);
  });
});

test('frames counts every frame in the default mode too', () => {
  const { decoder, out } = decoderFor();
  for (const chunk of byteByByte(frames(SAMPLE))) decoder.push(chunk);
  assert.equal(decoder.frames, SAMPLE.length);
  assert.equal(out.frames.length, SAMPLE.length);
});

describe('onWholePayload: a payload whole in one chunk is handed as where it lies, no view made (the load tester)', () => {
  /** Every payload, by whichever path it came, and how many came each way. */
  function decodeBoth(chunks: Buffer[], options: FrameDecoderOptions = {}) {
    const payloads: string[] = [];
    let whole = 0;
    let gathered = 0;
    const decoder = new FrameDecoder(
      {
        ...options,
        onWholePayload: (chunk, start, end) => {
          whole++;
          payloads.push(chunk.toString('utf8', start, end));
        },
      },
      (payload) => {
        gathered++;
        payloads.push(payload.toString('utf8'));
      },
      (err) => assert.fail(err),
    );
    for (const chunk of chunks) decoder.push(chunk);
    return { payloads, whole, gathered, decoder };
  }

  test('every chunking gives the same payloads; the whole ones by position, the split ones gathered', () => {
    const stream = frames(SAMPLE);
    for (let cut = 0; cut <= stream.length; cut += 7) {
      const { payloads, whole, gathered } = decodeBoth(splitAt(stream, [cut]));
      assert.deepEqual(payloads, SAMPLE, `cut at ${cut}`);
      assert.equal(whole + gathered, SAMPLE.length);
    }
    const { whole, gathered } = decodeBoth([stream]);
    assert.deepEqual([whole, gathered], [SAMPLE.length, 0]);
    assert.deepEqual(decodeBoth([...byteByByte(stream)]).payloads, SAMPLE);
  });

  test('no Buffer view is made for a payload whole in the chunk, and push(chunk, end) stops at end', (t) => {
    const stream = frames(['Msg received', 'Msg received']);
    const reused = Buffer.alloc(4096, 0x20);
    stream.copy(reused);
    const sub = t.mock.method(Buffer.prototype, 'subarray');
    const got: Array<[number, number]> = [];
    const decoder = new FrameDecoder(
      { onWholePayload: (_chunk, start, end) => got.push([start, end]) },
      () => assert.fail('no payload is gathered'),
      (err) => assert.fail(err),
    );
    decoder.push(reused, stream.length);
    const views = sub.mock.callCount();
    sub.mock.restore();
    assert.equal(views, 0);
    assert.deepEqual(got, [
      [64, 76],
      [140, 152],
    ]);
    assert.equal(decoder.frames, 2);
  });

  test('with onlyPayloadsOfLength, only payloads of that length are handed out', () => {
    const { payloads, decoder } = decodeBoth([frames(['Hello World!', '!DISCONNECT', 'x'])], {
      onlyPayloadsOfLength: 11,
    });
    assert.deepEqual(payloads, ['!DISCONNECT']);
    assert.equal(decoder.frames, 3);
  });
});
