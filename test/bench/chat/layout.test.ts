// Who is who in a chat measurement, what each message should make, and the stamp a
// receiver reads it all from.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  expectedDeliveries,
  roomOf,
  roomShapes,
  sendersIn,
  threadConnections,
} from '../../../src/bench/load/chat/layout.ts';
import {
  isStamp,
  payloadTemplate,
  STAMP_BYTES,
  stampCounted,
  stampDueNs,
  stampSender,
  stampSeq,
  writeStamp,
} from '../../../src/bench/load/chat/stamp.ts';

test('one room of 500 receivers and 10 senders: handoff delivers each message to 509, NATS and Redis to 500', () => {
  assert.deepEqual(roomShapes(510, 10, 1, 'handoff'), [{ senders: 10, receivers: 500, recipients: 509 }]);
  assert.deepEqual(roomShapes(510, 10, 1, 'nats'), [{ senders: 10, receivers: 500, recipients: 500 }]);
  assert.equal(expectedDeliveries([100, 100, 0, 0, 0, 0, 0, 0, 0, 5], 1, roomShapes(510, 10, 1, 'redis')), 205 * 500);
});

test('rooms share senders and receivers round robin; a receiver tells its room from the sender id alone', () => {
  const shapes = roomShapes(23, 5, 2, 'handoff');
  assert.deepEqual(shapes, [
    { senders: 3, receivers: 9, recipients: 11 },
    { senders: 2, receivers: 9, recipients: 10 },
  ]);
  for (let sid = 0; sid < 5; sid++) assert.equal(roomOf(sid, 5, 2), sid % 2);
  assert.equal(sendersIn(0, 5, 2), 3);
  assert.equal(sendersIn(1, 5, 2), 2);
  assert.equal(sendersIn(3, 2, 4), 0);
  assert.equal(expectedDeliveries([1, 1, 1, 1, 1], 2, shapes), 3 * 11 + 2 * 10);
});

test('connections are dealt to threads round robin, every one once, senders first', () => {
  const threads = threadConnections(11, 3, 1, 2, 2);
  assert.equal(threads.length, 2);
  const all = threads.flat().sort((a, b) => a.g - b.g);
  assert.deepEqual(
    all.map((c) => c.g),
    Array.from({ length: 11 }, (_, g) => g),
  );
  assert.deepEqual(
    all.filter((c) => c.sid >= 0).map((c) => c.sid),
    [0, 1, 2],
  );
  assert.ok(all.every((c) => c.endpoint === c.g % 2));
  assert.ok(threads[0]!.every((c) => c.g % 2 === 0));
});

test("each room's members are dealt to every server in turn, whatever the rooms and servers", () => {
  for (const [clients, senders, rooms, servers] of [
    [5000, 100, 100, 2],
    [5000, 100, 100, 4],
    [500, 10, 1, 4],
    [60, 6, 3, 2],
  ] as const) {
    const all = threadConnections(clients, senders, rooms, 2, servers).flat();
    for (let room = 0; room < rooms; room++) {
      const members = all.filter((c) => c.room === room);
      const perServer = Array.from({ length: servers }, (_, e) => members.filter((c) => c.endpoint === e).length);
      assert.ok(
        Math.max(...perServer) - Math.min(...perServer) <= 1,
        `${clients}/${senders}/${rooms} on ${servers}: room ${room} has ${perServer.join('/')} members per server`,
      );
      // A room's senders are not all on one server either (when it has several).
      const sendersOn = new Set(members.filter((c) => c.sid >= 0).map((c) => c.endpoint));
      assert.equal(sendersOn.size, Math.min(servers, members.filter((c) => c.sid >= 0).length));
    }
  }
});

test('the stamp: sender, sequence, window flag and due time come back as written, at any offset', () => {
  const buf = Buffer.alloc(64, 0xff);
  for (const [at, sid, seq, counted, ns] of [
    [0, 0, 0, false, 0],
    [3, 16_777_215, 4_294_967_295, true, 2 ** 40 + 12_345],
    [17, 42, 2 ** 31 + 1, true, 3_600e9],
  ] as const) {
    writeStamp(buf, at, sid, seq, counted, ns);
    assert.ok(isStamp(buf, at));
    assert.equal(stampSender(buf, at), sid);
    assert.equal(stampSeq(buf, at), seq);
    assert.equal(stampCounted(buf, at), counted);
    assert.equal(stampDueNs(buf, at), ns);
  }
  const p = payloadTemplate(40);
  assert.equal(p.length, 40);
  assert.equal(p.toString('latin1', STAMP_BYTES, STAMP_BYTES + 4), 'qrst', 'filler a..z by offset');
});
