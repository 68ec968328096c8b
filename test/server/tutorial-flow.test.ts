// The tutorial's conversation: messages acked with `Msg received`, `!DISCONNECT`
// acked then a clean FIN, anything after it ignored; `ack: 'raw'`.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ACK_TEXT, DISCONNECT_MESSAGE, encodeFrame, encodeTextFrame } from '../../src/protocol/index.ts';
import { printable } from '../../src/server/observe/message-log.ts';
import { connect, errorOf, forEachVariant, sharedServer, variantOptions } from '../helpers/wire.ts';

forEachVariant((variant) => {
  const opts = variantOptions(variant);

  describe('mode ack, framed acks', () => {
    const server = sharedServer(opts);

    test('each message is acked with a frame whose payload is `Msg received`', async (t) => {
      const client = await connect(t, server());
      for (const text of ['Hello World!', 'Hello Everyone!', 'Hello Tim!']) {
        await client.send(text);
        assert.equal(await client.readText(), ACK_TEXT);
      }
    });

    test('an empty message is a message: it is acked too', async (t) => {
      const client = await connect(t, server());
      await client.send('');
      assert.equal(await client.readText(), ACK_TEXT);
    });

    test('!DISCONNECT is acked, then the server closes the connection cleanly (FIN)', async (t) => {
      const client = await connect(t, server());
      await client.send('hi');
      await client.send(DISCONNECT_MESSAGE);
      const { frames, closedBy } = await client.readUntilClose();
      assert.deepEqual(
        frames.map((f) => f.toString()),
        [ACK_TEXT, ACK_TEXT],
      );
      assert.equal(closedBy, 'fin', `expected a FIN, got ${client.describe()}`);
    });

    test('bytes sent after !DISCONNECT (same write) are ignored: no reply for them, still a FIN', async (t) => {
      const client = await connect(t, server());
      await client.sendRaw(
        Buffer.concat([
          encodeTextFrame('first', 64),
          encodeTextFrame(DISCONNECT_MESSAGE, 64),
          encodeTextFrame('after 1', 64),
          encodeTextFrame('after 2', 64),
          Buffer.from('garbage that is not even a header'),
        ]),
      );
      const { frames, closedBy } = await client.readUntilClose();
      assert.deepEqual(
        frames.map((f) => f.toString()),
        [ACK_TEXT, ACK_TEXT],
        'exactly two acks: for `first` and for !DISCONNECT',
      );
      assert.equal(closedBy, 'fin', `expected a clean FIN, got ${client.describe()}`);
    });

    test('!DISCONNECT is case-sensitive and exact: `!disconnect` and `!DISCONNECT ` are ordinary messages', async (t) => {
      const client = await connect(t, server());
      for (const text of ['!disconnect', '!DISCONNECT ', ' !DISCONNECT', '!DISCONNECTED']) {
        await client.send(text);
        assert.equal(await client.readText(), ACK_TEXT, `${JSON.stringify(text)} is acked`);
      }
      assert.equal(await client.staysQuiet(100), true, 'connection stays open');
    });

    test('a 300 KiB message that arrives in many pieces is acked once; the next one too', async (t) => {
      const client = await connect(t, server());
      const big = encodeFrame(Buffer.alloc(300 * 1024, 0x61), 64);
      for (let at = 0; at < big.length; at += 50_000) await client.sendRaw(big.subarray(at, at + 50_000));
      assert.equal(await client.readText(), ACK_TEXT);
      await client.send('next');
      assert.equal(await client.readText(), ACK_TEXT);
      assert.equal(await client.staysQuiet(100), true, 'one ack each, nothing more');
    });

    test('!DISCONNECT split across writes still ends the connection after its ack', async (t) => {
      const client = await connect(t, server());
      const frame = encodeTextFrame(DISCONNECT_MESSAGE, 64);
      await client.sendRaw(frame.subarray(0, 68));
      await new Promise((resolve) => setTimeout(resolve, 30));
      await client.sendRaw(frame.subarray(68));
      const { frames, closedBy } = await client.readUntilClose();
      assert.deepEqual(
        frames.map((f) => f.toString()),
        [ACK_TEXT],
      );
      assert.equal(closedBy, 'fin');
    });

    test('a bad header after good frames: each good one is acked, then BAD_HEADER, then close', async (t) => {
      const client = await connect(t, server());
      const big = encodeFrame(Buffer.alloc(100_000, 0x62), 64);
      await client.sendRaw(Buffer.concat([encodeTextFrame('one', 64), big.subarray(0, 70_000)]));
      await client.sendRaw(Buffer.concat([big.subarray(70_000), Buffer.from('-1'.padEnd(64, ' '))]));
      const { frames } = await client.readUntilClose();
      assert.deepEqual(
        frames.slice(0, 2).map((f) => f.toString()),
        [ACK_TEXT, ACK_TEXT],
      );
      assert.equal(frames.length, 3);
      assert.equal(errorOf(frames[2])?.code, 'BAD_HEADER');
    });

    test('a client that closes (FIN) mid-conversation does not disturb another client', async (t) => {
      const a = await connect(t, server());
      const b = await connect(t, server());
      await a.send('x');
      await a.readText();
      await a.sendRaw('12  '); // part of a header, then gone
      await a.end(3000);
      await b.send('still here');
      assert.equal(await b.readText(), ACK_TEXT);
    });
  });

  describe('mode echo', () => {
    const server = sharedServer({ ...opts, mode: 'echo' });

    test('in echo mode !DISCONNECT is echoed, then FIN', async (t) => {
      const client = await connect(t, server());
      await client.send(DISCONNECT_MESSAGE);
      const { frames, closedBy } = await client.readUntilClose();
      assert.deepEqual(
        frames.map((f) => f.toString()),
        [DISCONNECT_MESSAGE],
      );
      assert.equal(closedBy, 'fin');
    });

    test('!DISCONNECT after pipelined big messages: every reply is flushed before the FIN', async (t) => {
      const client = await connect(t, server());
      const payloads = Array.from({ length: 24 }, (_, i) => Buffer.alloc(64 * 1024, 65 + i));
      await client.sendRaw(
        Buffer.concat([...payloads.map((p) => encodeFrame(p, 64)), encodeTextFrame(DISCONNECT_MESSAGE, 64)]),
      );
      const { frames, closedBy } = await client.readUntilClose();
      assert.equal(frames.length, payloads.length + 1, client.describe());
      frames.slice(0, -1).forEach((f, i) => {
        assert.ok(f.equals(payloads[i]!), `reply ${i}`);
      });
      assert.equal(frames.at(-1)!.toString(), DISCONNECT_MESSAGE);
      assert.equal(closedBy, 'fin');
    });

    test('replies keep the order of the messages (echo, 200 pipelined in one write)', async (t) => {
      const client = await connect(t, server());
      const texts = Array.from({ length: 200 }, (_, i) => `message #${i}`);
      await client.sendRaw(Buffer.concat(texts.map((s) => encodeTextFrame(s, 64))));
      const frames = await client.readFrames(texts.length);
      assert.deepEqual(
        frames.map((f) => f.toString()),
        texts,
      );
    });

    test('a frame sent one byte at a time is one message', async (t) => {
      const client = await connect(t, server());
      const frame = encodeTextFrame('split into bytes', 64);
      for (let i = 0; i < frame.length; i++) await client.sendRaw(frame.subarray(i, i + 1));
      assert.equal(await client.readText(), 'split into bytes');
      assert.equal(await client.staysQuiet(100), true);
    });
  });

  describe('ack raw', () => {
    const server = sharedServer({ ...opts, ack: 'raw' });

    test('ack raw: each ack is the 12 bytes `Msg received` with no header', async (t) => {
      const client = await connect(t, server(), { raw: true });
      await client.send('Hello World!');
      assert.equal((await client.readRawBytes(12)).toString('latin1'), ACK_TEXT);
      await client.send('Hello Tim!');
      await client.send(DISCONNECT_MESSAGE);
      await client.waitClose();
      assert.equal(client.rawBytes.toString('latin1'), ACK_TEXT.repeat(3));
      assert.equal(client.closedBy, 'fin');
    });

    test('ack raw: !ERROR frames stay framed', async (t) => {
      const client = await connect(t, server());
      await client.sendRaw('x'.padEnd(64, ' '));
      const { frames } = await client.readUntilClose();
      assert.equal(frames.length, 1, `one framed error, got ${client.describe()}`);
      assert.equal(errorOf(frames[0])?.code, 'BAD_HEADER');
    });
  });
});

test('--log-messages prints control characters escaped, so a client cannot forge log lines', () => {
  assert.equal(
    printable('a\x1b[2J\r\nfake [DISCONNECTED] line\x7f'),
    'a\\x1b[2J\\x0d\\x0afake [DISCONNECTED] line\\x7f',
  );
  assert.equal(printable('Hello Wörld! ✓'), 'Hello Wörld! ✓', 'printable text is untouched');
});
