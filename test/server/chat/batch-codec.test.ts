// The Redis bus batch codec: what it encodes it decodes; whatever bytes it is given, it
// answers (a batch, or why not) without throwing and without reading outside them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeBatch,
  decodeServerRecord,
  encodeBatch,
  isDeliveryFor,
  limitsMismatch,
  refusalOf,
} from '../../../src/server/chat/batch-codec.ts';
import { BATCH_DROP_REASONS } from '../../../src/server/observe/counters.ts';

const LIMITS = { format: 1, headerBytes: 64, maxMessageBytes: 1000 };
const LOBBY = Buffer.from('lobby');

test('a batch decodes to its sender, limits and payloads', () => {
  const payloads = [Buffer.from('!MSG lobby a hi'), Buffer.alloc(0), Buffer.from('!JOINED lobby b')];
  const decoded = decodeBatch(encodeBatch('srv1', LIMITS, payloads));
  assert.ok(decoded.ok);
  assert.equal(decoded.server, 'srv1');
  assert.deepEqual(decoded.limits, LIMITS);
  assert.deepEqual(decoded.payloads.map(String), payloads.map(String));
});

test('every cut of a batch is refused as truncated (never read past its end)', () => {
  const whole = encodeBatch('srv1', LIMITS, [Buffer.from('!MSG lobby a hi'), Buffer.from('!LEFT lobby a')]);
  for (let n = 4; n < whole.length; n++) {
    const d = decodeBatch(whole.subarray(0, n));
    assert.ok(!d.ok && d.reason === 'truncated', `cut at ${n}: ${d.ok ? 'ok' : d.reason}`);
  }
});

test('any bytes at all: an answer, never a throw', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (bytes, withMagic) => {
      const input = Buffer.from(withMagic ? Buffer.concat([Buffer.from('hbus\u0001'), bytes]) : bytes);
      const d = decodeBatch(input);
      if (d.ok) {
        for (const p of d.payloads) assert.ok(p.buffer === input.buffer, 'views of the input');
        refusalOf(d, LIMITS, LOBBY, 1100);
      } else {
        assert.ok(BATCH_DROP_REASONS.includes(d.reason));
      }
    }),
    { numRuns: 5000 },
  );
});

test('limits: version, header size and message limit must match; each is named', () => {
  assert.equal(limitsMismatch(LIMITS, { ...LIMITS }), null);
  assert.equal(limitsMismatch(LIMITS, { ...LIMITS, format: 2 })?.reason, 'version');
  assert.equal(limitsMismatch(LIMITS, { ...LIMITS, headerBytes: 8 })?.option, 'headerBytes');
  assert.equal(limitsMismatch(LIMITS, { ...LIMITS, maxMessageBytes: 999 })?.reason, 'max_message_bytes');
});

test('deliveries of the room only: !MSG with text, presence without', () => {
  for (const ok of ['!MSG lobby a hi', '!MSG lobby a ', '!JOINED lobby a', '!LEFT lobby [::1]:5']) {
    assert.equal(isDeliveryFor(Buffer.from(ok), LOBBY), true, ok);
  }
  for (const bad of [
    '',
    'hi',
    '!MSG lobby a',
    '!MSG lobbyx a hi',
    '!MSG lobb',
    '!JOINED lobby a b',
    '!LEFT lobby ',
    '!OK WHO lobby',
  ]) {
    assert.equal(isDeliveryFor(Buffer.from(bad), LOBBY), false, bad);
  }
});

test('server records: JSON with integer limits, anything else is not one', () => {
  assert.deepEqual(decodeServerRecord('{"format":1,"headerBytes":64,"maxMessageBytes":9,"host":"h","pid":3}'), {
    format: 1,
    headerBytes: 64,
    maxMessageBytes: 9,
    host: 'h',
    pid: 3,
  });
  for (const bad of [null, '1', 'not json', '{"format":"1"}', '[]', 'null'])
    assert.equal(decodeServerRecord(bad), null);
});
