// RepeatedFrame is the load thread's check of a read of nothing but whole acks (src/bench/load/repeated-frame.ts):
// it must say 0 for anything that is not the ack frame, byte for byte, a whole number of times.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACK_TEXT, encodeTextFrame } from '../../../src/protocol/index.ts';
import { RepeatedFrame } from '../../../src/bench/load/repeated-frame.ts';

const ack = encodeTextFrame(ACK_TEXT, 64);

function bufferWith(...parts: Buffer[]): Buffer {
  const buffer = Buffer.alloc(4096, 0x7a);
  Buffer.concat(parts).copy(buffer);
  return buffer;
}

test('a read of k whole acks counts k', () => {
  const buffer = bufferWith(ack, ack, ack);
  const check = RepeatedFrame.of(ack, buffer)!;
  assert.equal(check.frameBytes, 76);
  assert.equal(check.count(76), 1);
  assert.equal(check.count(3 * 76), 3);
});

test('a wrong byte anywhere in any of the frames, a split frame or an empty read counts 0', () => {
  const buffer = bufferWith(ack, ack, ack);
  const check = RepeatedFrame.of(ack, buffer)!;
  assert.equal(check.count(0), 0);
  assert.equal(check.count(75), 0);
  assert.equal(check.count(2 * 76 + 4), 0);
  for (const at of [0, 1, 2, 63, 64, 75, 76 + 3, 2 * 76 + 70, 3 * 76 - 1]) {
    const saved = buffer[at]!;
    buffer[at] = saved ^ 0x01;
    assert.equal(check.count(3 * 76), 0, `byte ${at} changed`);
    buffer[at] = saved;
  }
  assert.equal(check.count(3 * 76), 3);
});

test('an !ERROR frame or an ack of another header size is not an ack', () => {
  const error = encodeTextFrame('!ERROR TOO_LARGE message exceeds the limit', 64);
  const buffer = bufferWith(error);
  const check = RepeatedFrame.of(ack, buffer)!;
  assert.equal(check.count(error.length), 0);
  const ack8 = encodeTextFrame(ACK_TEXT, 8); // 20 bytes
  const small = RepeatedFrame.of(ack8, bufferWith(ack8, ack8))!;
  assert.equal(small.count(40), 2);
  assert.equal(RepeatedFrame.of(ack8, bufferWith(ack, ack))!.count(40), 0);
});

test('frames that are not whole 32-bit words, or a buffer off a word boundary, get no word check', () => {
  assert.equal(RepeatedFrame.of(encodeTextFrame(ACK_TEXT, 10), Buffer.alloc(64)), null);
  assert.equal(RepeatedFrame.of(ack, Buffer.alloc(4096).subarray(1)), null);
});
