// Echo mode is byte-exact, for every payload size up to the limit and every header size.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MAX_MESSAGE_BYTES, encodeFrame } from '../../src/protocol/index.ts';
import {
  connect,
  forEachVariant,
  patternPayload,
  sharedServer,
  variantOptions,
  VARIANTS_AND_TLS,
} from '../helpers/wire.ts';

const KiB = 1024;

forEachVariant(
  (variant) => {
    const opts = variantOptions(variant, { mode: 'echo' });
    // One server per header size, shared by the tests that use it.
    const servers = new Map<number, () => ReturnType<ReturnType<typeof sharedServer>>>();
    for (const headerBytes of [4, 8, 64, 1024]) servers.set(headerBytes, sharedServer({ ...opts, headerBytes }));
    const server = (headerBytes = 64) => servers.get(headerBytes)!();

    for (const [label, size] of [
      ['0 B', 0],
      ['1 B', 1],
      ['64 KiB', 64 * KiB],
      ['1 MiB (the default limit exactly)', DEFAULT_MAX_MESSAGE_BYTES],
    ] as const) {
      test(`echo returns a ${label} payload byte for byte`, async (t) => {
        const client = await connect(t, server());
        const payload = patternPayload(size, size);
        await client.send(payload);
        const [reply] = await client.readFrames(1, 20_000);
        assert.equal(reply!.length, size);
        assert.ok(reply!.equals(payload), 'payload differs');
        assert.equal(await client.staysQuiet(50), true, 'exactly one reply');
      });
    }

    test('echo returns invalid UTF-8 byte for byte (it is still a message)', async (t) => {
      const client = await connect(t, server());
      const payloads = [
        Buffer.from([0xff, 0xfe, 0xfd]),
        Buffer.from([0xc3]), // truncated 2-byte sequence
        Buffer.from([0xed, 0xa0, 0x80]), // UTF-16 surrogate encoded in UTF-8
        Buffer.from([0xc0, 0xaf]), // overlong '/'
        Buffer.from([0x00, 0x41, 0x00, 0x80]),
        Buffer.from('héllo \u{1F600}', 'utf8'),
      ];
      for (const p of payloads) await client.send(p);
      const replies = await client.readFrames(payloads.length);
      replies.forEach((r, i) => {
        assert.ok(
          r.equals(payloads[i]!),
          `payload ${i}: got ${r.toString('hex')}, sent ${payloads[i]!.toString('hex')}`,
        );
      });
    });

    test('echo of all 256 byte values', async (t) => {
      const client = await connect(t, server());
      const payload = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      await client.send(payload);
      assert.ok((await client.readFrames(1))[0]!.equals(payload));
    });

    for (const headerBytes of [4, 8, 64, 1024]) {
      test(`echo with headerBytes ${headerBytes}: replies use the same header size, byte for byte`, async (t) => {
        const client = await connect(t, server(headerBytes), { headerBytes });
        // The largest payload a 4-byte header can announce is 9999 bytes.
        const sizes = headerBytes === 4 ? [0, 1, 12, 9999] : [0, 1, 12, 64 * KiB];
        const payloads = sizes.map((s, i) => patternPayload(s, i + headerBytes));
        for (const p of payloads) await client.send(p);
        const replies = await client.readFrames(payloads.length);
        replies.forEach((r, i) => {
          assert.ok(r.equals(payloads[i]!), `payload of ${sizes[i]} B`);
        });
        // Raw check of one reply's header: digits left-aligned, padded with spaces to headerBytes.
        assert.equal(
          client.bytesReceived,
          payloads.reduce((n, p) => n + headerBytes + p.length, 0),
        );
      });

      test(`headerBytes ${headerBytes}: frames split at odd offsets and many frames per write are parsed as a stream`, async (t) => {
        const client = await connect(t, server(headerBytes), { headerBytes });
        const payloads = Array.from({ length: 40 }, (_, i) => patternPayload((i * 37) % 300, i));
        const stream = Buffer.concat(payloads.map((p) => encodeFrame(p, headerBytes)));
        // Pieces of 1..7 bytes, then the rest in one write.
        let pos = 0;
        for (let k = 1; pos < stream.length / 2; k = (k % 7) + 1) {
          await client.sendRaw(stream.subarray(pos, pos + k));
          pos += k;
        }
        await client.sendRaw(stream.subarray(pos));
        const replies = await client.readFrames(payloads.length);
        replies.forEach((r, i) => {
          assert.ok(r.equals(payloads[i]!), `frame ${i}`);
        });
      });
    }

    test('echo reply header is the digits left-aligned then spaces (raw bytes)', async (t) => {
      const client = await connect(t, server(8), { raw: true, headerBytes: 8 });
      await client.send('twelve bytes', 8);
      const bytes = await client.readRawBytes(8 + 12);
      assert.equal(bytes.toString('latin1'), '12      twelve bytes');
    });
  },
  { variants: VARIANTS_AND_TLS },
);
