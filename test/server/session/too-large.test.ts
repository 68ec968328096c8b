// TOO_LARGE: sent as soon as the header is read (before any payload byte), for any
// well-formed value above the limit, however many digits it has.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_MAX_MESSAGE_BYTES, encodeFrame, encodeHeader } from '../../../src/protocol/index.ts';
import {
  assertEndedWithError,
  connect,
  errorOf,
  forEachVariant,
  patternPayload,
  variantOptions,
  withServer,
  VARIANTS_AND_TLS,
} from '../../helpers/wire.ts';

async function expectTooLarge(client: Awaited<ReturnType<typeof connect>>): Promise<void> {
  const result = await client.readUntilClose();
  assert.equal(result.frames.length, 1, `exactly one frame, got ${client.describe()}`);
  assertEndedWithError(client, result, 'TOO_LARGE');
}

forEachVariant(
  (variant) => {
    const opts = variantOptions(variant, { mode: 'echo' });

    test('TOO_LARGE arrives right after a header announcing limit+1, with no payload byte sent', async (t) => {
      const server = await withServer(t, opts);
      const client = await connect(t, server);
      // Only the header: if the server waited for (or buffered) the payload, nothing would come.
      await client.sendRaw(encodeHeader(DEFAULT_MAX_MESSAGE_BYTES + 1, 64));
      await expectTooLarge(client);
    });

    test('a well-formed 300-digit length is TOO_LARGE (not BAD_HEADER, no overflow)', async (t) => {
      const server = await withServer(t, { ...opts, headerBytes: 1024 });
      const client = await connect(t, server, { headerBytes: 1024 });
      const digits = `9${'8'.repeat(298)}7`;
      assert.equal(digits.length, 300);
      await client.sendRaw(Buffer.from(`  ${digits}`.padEnd(1024, ' '), 'latin1'));
      await expectTooLarge(client);
    });

    test('64 digits filling a 64-byte header is TOO_LARGE', async (t) => {
      const server = await withServer(t, opts);
      const client = await connect(t, server);
      await client.sendRaw('9'.repeat(64));
      await expectTooLarge(client);
    });

    test('maxMessageBytes option: a payload of exactly the limit is echoed, limit+1 is TOO_LARGE', async (t) => {
      const server = await withServer(t, { ...opts, maxMessageBytes: 100 });
      const ok = await connect(t, server);
      const payload = patternPayload(100);
      await ok.send(payload);
      assert.ok((await ok.readFrames(1))[0]!.equals(payload));
      // Leading zeros do not matter to the limit.
      await ok.sendRaw(Buffer.concat([Buffer.from('0000100'.padEnd(64, ' ')), payload]));
      assert.ok((await ok.readFrames(1))[0]!.equals(payload));

      const tooBig = await connect(t, server);
      await tooBig.sendRaw(encodeHeader(101, 64));
      await expectTooLarge(tooBig);
      // The other connection is unaffected.
      await ok.send('after');
      assert.equal(await ok.readText(), 'after');
    });

    test('maxMessageBytes 0: the empty message is accepted, 1 byte is TOO_LARGE', async (t) => {
      const server = await withServer(t, { ...opts, maxMessageBytes: 0 });
      const client = await connect(t, server);
      await client.send('');
      assert.equal((await client.readFrames(1))[0]!.length, 0);
      await client.sendRaw(encodeHeader(1, 64));
      await expectTooLarge(client);
    });

    test('TOO_LARGE with the payload following in the same write: still one error frame, then close', async (t) => {
      const server = await withServer(t, { ...opts, maxMessageBytes: 1000 });
      const client = await connect(t, server);
      await client.sendRaw(encodeFrame(patternPayload(1001), 64));
      const { frames } = await client.readUntilClose();
      assert.equal(frames.length, 1, `got ${client.describe()}`);
      assert.equal(errorOf(frames[0])?.code, 'TOO_LARGE');
    });
  },
  { variants: VARIANTS_AND_TLS },
);
