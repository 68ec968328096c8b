// Replies that wait behind a membership change being confirmed count against
// --max-pending-bytes: a client that pipelines while its !JOIN (or its first reply) waits
// cannot grow the server's memory without bound; it is closed with SLOW_CONSUMER, like a
// client that does not read. A client that sends a few frames meanwhile is not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT, encodeFrame } from '../../../src/protocol/index.ts';
import { BUS_DELAY_ENV } from '../../../src/server/chat/injected-faults.ts';
import { ChatPeer } from '../../helpers/chat-wire.ts';
import { listening, run } from '../../helpers/process.ts';
import { errorOf } from '../../helpers/wire.ts';

test('pipelining behind an unconfirmed ticket counts against --max-pending-bytes (SLOW_CONSUMER)', async (t) => {
  // Every thread applies the bus 1.5 s late: each connection's first reply waits that long.
  const p = run(
    t,
    ['serve', '--port', '0', '--json', '--mode', 'chat', '--workers', '2', '--max-pending-bytes', '4096'],
    { [BUS_DELAY_ENV]: '1500' },
  );
  const address = await listening(p);
  const greedy = await ChatPeer.connect(t, address, { settle: false });
  const modest = await ChatPeer.connect(t, address, { settle: false });
  // 200 renames (each a queued reply of its own) while the first reply waits for the lobby.
  await greedy.wire.sendRaw(
    Buffer.concat(Array.from({ length: 200 }, (_, i) => encodeFrame(Buffer.from(`!NICK n${i}`), 64))),
  );
  await modest.wire.sendRaw(Buffer.concat(['a', 'b', '!NICK m', 'c'].map((s) => encodeFrame(Buffer.from(s), 64))));
  await greedy.wire.waitClose(10_000);
  assert.equal(errorOf(greedy.replies.at(-1))?.code, 'SLOW_CONSUMER');
  assert.ok(greedy.replies.length < 200, `cut off before its replies went out (${greedy.replies.length})`);
  for (const want of [ACK_TEXT, ACK_TEXT, '!OK NICK m', ACK_TEXT]) assert.equal(await modest.nextReply(10_000), want);
  assert.equal(modest.wire.closedBy, null, 'a few frames meanwhile are fine');
});

test('!DISCONNECT pipelined while the first reply waits for the other threads: every reply, then FIN (found by fuzz:chat)', async (t) => {
  const p = run(t, ['serve', '--port', '0', '--json', '--mode', 'chat', '--workers', '2'], { [BUS_DELAY_ENV]: '300' });
  const address = await listening(p);
  const peer = await ChatPeer.connect(t, address, { settle: false });
  await peer.wire.sendRaw(Buffer.concat(['x', '!DISCONNECT'].map((s) => encodeFrame(Buffer.from(s), 64))));
  assert.equal(await peer.nextReply(5_000), ACK_TEXT);
  assert.equal(await peer.nextReply(5_000), ACK_TEXT);
  assert.equal(await peer.wire.waitClose(5_000), 'fin');
});
