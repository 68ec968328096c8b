// Frames out: header + payload in one buffer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeFrame, encodeTextFrame, repeatFrame } from '../../src/protocol/index.ts';

test('encodeFrame is the header then the payload bytes', () => {
  const frame = encodeFrame(Uint8Array.of(1, 2, 3), 8);
  assert.deepEqual([...frame], [0x33, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 1, 2, 3]);
});

test('encodeFrame of an empty payload is a header saying 0', () => {
  assert.equal(encodeFrame(new Uint8Array(0), 4).toString('latin1'), '0   ');
});

test('encodeTextFrame counts UTF-8 bytes, not characters', () => {
  const frame = encodeTextFrame('héllo 🌍', 64);
  const bytes = Buffer.byteLength('héllo 🌍');
  assert.equal(frame.subarray(0, 64).toString('latin1').trimEnd(), String(bytes));
  assert.equal(frame.subarray(64).toString('utf8'), 'héllo 🌍');
});

test('repeatFrame lays copies back to back', () => {
  const one = encodeTextFrame('ab', 4);
  assert.equal(repeatFrame(one, 3).toString('latin1'), '2   ab2   ab2   ab');
  assert.equal(repeatFrame(one, 0).length, 0);
});
