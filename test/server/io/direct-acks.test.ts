// DirectAcks writes ack-mode replies straight to the socket's libuv handle (src/server/io/direct-acks.ts).
// The first test fails loudly when a Node upgrade moves the handle's write away from it; the others hold
// it to what socket.write gave: every byte, in order, held bytes counted and their drain told, and a
// server's ack-mode flow control still working through it.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ACK_TEXT, encodeFrame, encodeTextFrame, repeatFrame } from '../../../src/protocol/index.ts';
import { DirectAcks } from '../../../src/server/io/direct-acks.ts';
import { withServer } from '../../helpers/wire.ts';

async function socketPair(t: test.TestContext): Promise<{ ours: net.Socket; peer: net.Socket }> {
  const server = net.createServer();
  t.after(() => server.close());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection');
  const ours = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  t.after(() => ours.destroy());
  await once(ours, 'connect');
  const [peer] = (await accepted) as [net.Socket];
  t.after(() => peer.destroy());
  return { ours, peer };
}

test('on the pinned Node a plain TCP socket gets direct acks, and the bytes arrive', async (t) => {
  const { ours, peer } = await socketPair(t);
  const direct = DirectAcks.of(ours, () => {});
  assert.ok(direct, `Node ${process.version}: the socket handle has no writeBuffer; acks would go through the stream`);
  const ack = encodeTextFrame(ACK_TEXT, 64);
  const got: Buffer[] = [];
  peer.on('data', (d: Buffer) => got.push(d));
  assert.equal(direct.write(ack), true);
  assert.equal(direct.write(repeatFrame(ack, 3)), true);
  while (Buffer.concat(got).length < 4 * ack.length) await sleep(5);
  assert.deepEqual(Buffer.concat(got), repeatFrame(ack, 4));
});

test('bytes the kernel cannot take yet are counted until written, then the drain is told once, and nothing is lost', async (t) => {
  const { ours, peer } = await socketPair(t);
  peer.pause();
  let drained = 0;
  const direct = DirectAcks.of(ours, () => drained++)!;
  const run = repeatFrame(encodeTextFrame(ACK_TEXT, 64), 256);
  let written = 0;
  while (direct.pendingBytes === 0 && written < 256 * 1024 * 1024) {
    direct.write(run);
    written += run.length;
  }
  assert.ok(direct.pendingBytes > 0, 'the kernel took 256 MiB without blocking');
  // While libuv holds bytes, the stream is not involved: a stream write would queue behind them in libuv.
  assert.equal(ours.writableLength, 0);
  let received = 0;
  let wrong = false;
  peer.on('data', (d: Buffer) => {
    if (!wrong && d[0] !== run[received % run.length]) wrong = true;
    received += d.length;
  });
  peer.resume();
  while (received < written) await sleep(5);
  assert.equal(received, written);
  assert.equal(wrong, false);
  assert.equal(direct.pendingBytes, 0);
  assert.equal(drained, 1);
});

test('a socket that holds unsent stream bytes gets no direct write (they must go first); TLS gets none at all', async (t) => {
  const { ours, peer } = await socketPair(t);
  peer.pause();
  const direct = DirectAcks.of(ours, () => {})!;
  const big = Buffer.alloc(64 * 1024 * 1024, 0x61);
  ours.write(big);
  direct.wroteThroughStream(); // what the session does after each write through the stream
  assert.ok(ours.writableLength > 0);
  assert.equal(direct.write(encodeTextFrame(ACK_TEXT, 64)), false);
  // Once the stream is empty again, acks go straight to the handle again, after the stream's bytes.
  peer.resume();
  let received = 0;
  peer.on('data', (d: Buffer) => (received += d.length));
  while (ours.writableLength > 0) await sleep(5);
  const ack = encodeTextFrame(ACK_TEXT, 64);
  assert.equal(direct.write(ack), true);
  while (received < big.length + ack.length) await sleep(5);
  assert.equal(received, big.length + ack.length);
  const tlsLike = Object.assign(Object.create(ours) as net.Socket, { encrypted: true });
  assert.equal(
    DirectAcks.of(tlsLike, () => {}),
    null,
  );
});

test('ack mode: a client that pipelines 60,000 messages before reading a byte gets all 60,000 acks, in whole frames', async (t) => {
  const server = await withServer(t, { mode: 'ack', workers: 1, highWaterMarkBytes: 16 * 1024 });
  const client = net.connect(server.port, server.host);
  t.after(() => client.destroy());
  await once(client, 'connect');
  client.pause();
  const messages = 60_000;
  const burst = repeatFrame(encodeFrame(Buffer.alloc(16, 0x61), 64), 1000);
  for (let i = 0; i < messages / 1000; i++) client.write(burst);
  // The server answers until its unsent acks pass the high-water mark, then stops reading this client.
  await sleep(300);
  const ack = encodeTextFrame(ACK_TEXT, 64);
  let received = 0;
  let wrong = 0;
  client.on('data', (d: Buffer) => {
    for (let i = 0; i < d.length; i++) if (d[i] !== ack[(received + i) % ack.length]) wrong++;
    received += d.length;
  });
  client.resume();
  const deadline = performance.now() + 20_000;
  while (received < messages * ack.length && performance.now() < deadline) await sleep(20);
  assert.equal(received, messages * ack.length);
  assert.equal(wrong, 0);
});
