// Byte-exactness through an echo server: what goes out comes back, whatever the bytes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openClient, startFakeServer } from './fake-server.ts';

test('an empty message is echoed as an empty reply', async (t) => {
  const server = await startFakeServer(t, { mode: 'echo' });
  const client = await openClient(t, server.port);
  assert.equal(await client.send(''), '');
  assert.equal((await client.sendBuffer(new Uint8Array(0))).length, 0);
});

test('a 1 MiB message is echoed byte for byte', async (t) => {
  const server = await startFakeServer(t, { mode: 'echo' });
  const client = await openClient(t, server.port);
  const payload = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + (i >>> 9)) & 0xff;
  const reply = await client.sendBuffer(payload);
  assert.equal(reply.length, payload.length);
  assert.ok(reply.equals(payload), 'reply differs from the payload');
});

test('a long string message (above the copy limit) is echoed intact', async (t) => {
  const server = await startFakeServer(t, { mode: 'echo' });
  const client = await openClient(t, server.port);
  const text = 'ünïcødé ✓ '.repeat(20_000);
  assert.equal(await client.send(text), text);
});

test('invalid UTF-8 is echoed byte-exact by sendBuffer() and as U+FFFD by send()', async (t) => {
  const server = await startFakeServer(t, { mode: 'echo' });
  const client = await openClient(t, server.port);
  const invalid = Buffer.from([0x61, 0xff, 0xfe, 0xc3, 0x28, 0x62]);
  assert.ok((await client.sendBuffer(invalid)).equals(invalid));
  assert.equal(await client.send(invalid), 'a\ufffd\ufffd\ufffd(b');
});

test('multi-byte UTF-8 text is sent with its byte length in the header', async (t) => {
  const server = await startFakeServer(t, { mode: 'echo' });
  const client = await openClient(t, server.port);
  assert.equal(await client.send('héllo 🌍'), 'héllo 🌍');
  assert.equal(server.connections[0]!.received[0]!.length, Buffer.byteLength('héllo 🌍'));
});

test("the Buffer from sendBuffer() is the caller's own: later replies do not change it", async (t) => {
  const server = await startFakeServer(t, { mode: 'echo' });
  const client = await openClient(t, server.port);
  const [a, b] = await Promise.all([client.sendBuffer('first'), client.sendBuffer('second')]);
  assert.equal(a.toString(), 'first');
  assert.equal(b.toString(), 'second');
});
