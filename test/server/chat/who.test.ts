// The !WHO size rule (PROTOCOL.md): never longer than the longest delivery, names as many
// as fit, the asker first, then ` +N`; and the options validation that makes every reply fit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_DELIVERY_PREFIX_BYTES } from '../../../src/protocol/index.ts';
import { LONGEST_COMMAND_REPLY_BYTES, parseCommand, refusalText } from '../../../src/server/chat/commands.ts';
import { isListableName, maxWhoBytes, whoReply } from '../../../src/server/chat/who.ts';
import { resolveServerOptions } from '../../../src/server/options.ts';

const bytes = (s: string) => Buffer.byteLength(s);

test('!WHO: everyone when they fit, the asker first', () => {
  assert.equal(whoReply('lobby', 'me', ['bob', 'al'], 100), '!OK WHO lobby me bob al');
  assert.equal(whoReply('lobby', 'me', [], 100), '!OK WHO lobby me');
  const exact = '!OK WHO r me aa bb';
  assert.equal(whoReply('r', 'me', ['aa', 'bb'], bytes(exact)), exact, 'a reply of exactly the limit');
});

test('!WHO: cut to the limit, the asker first, then the shortest names, then +N', () => {
  const others = ['cccccc', 'a', 'bbbb', 'dd', 'eeeeeeeeee'];
  for (let max = 20; max <= 60; max++) {
    const reply = whoReply('room', 'asker', others, max);
    assert.ok(bytes(reply) <= max, `${reply} within ${max}`);
    const words = reply.split(' ');
    assert.deepEqual(words.slice(0, 3), ['!OK', 'WHO', 'room']);
    const all = ['asker', ...others];
    if (!/^\+\d+$/.test(words.at(-1)!)) {
      assert.deepEqual(words.slice(3), all, `${max}: all of them`);
      continue;
    }
    const listed = words.slice(3, -1);
    const leftOut = Number(words.at(-1)!.slice(1));
    assert.equal(listed.length + leftOut, all.length, `${max}: listed + N is every member`);
    if (listed.length > 0) assert.equal(listed[0], 'asker', 'the asker first');
    // As many as fit: the asker, then the shortest; one more would not fit.
    const order = ['asker', ...[...others].sort((a, b) => a.length - b.length)];
    assert.deepEqual(listed, order.slice(0, listed.length));
    const next = order[listed.length]!;
    const withNext = `${['!OK WHO room', ...listed, next].join(' ')}${leftOut > 1 ? ` +${leftOut - 1}` : ''}`;
    assert.ok(bytes(withNext) > max, `${max}: ${withNext} would not fit`);
  }
  assert.equal(whoReply('room', 'a-long-asker-name', ['b'], 20), '!OK WHO room +2', 'no name fits: the count alone');
});

test('!WHO: 1,000,000 members within a 100-byte limit', () => {
  const others = Array.from({ length: 999_999 }, (_, i) => `m${i}`);
  const reply = whoReply('lobby', 'me', others, maxWhoBytes(0));
  assert.ok(bytes(reply) <= 100);
  assert.match(reply, /^!OK WHO lobby me m0 m1 .* \+\d+$/);
});

test('names read from Redis are listed only if they can be a <from>: no +, no space', () => {
  for (const good of ['alice', 'a.b-c_d', '127.0.0.1:5050', '[::1]:5050', '[fe80::1%eth0]:1']) {
    assert.equal(isListableName(good), true, good);
  }
  for (const bad of ['', '+3', 'two words', 'x'.repeat(65), 'é', 'a\nb']) assert.equal(isListableName(bad), false, bad);
});

test('every !OK and !NO reply is short, whatever the command (an unknown word is shown cut)', () => {
  const huge = parseCommand(Buffer.from(`!${'Q'.repeat(9000)}`));
  assert.equal(huge.kind, 'refused');
  assert.ok(huge.kind === 'refused' && bytes(refusalText(huge)) <= LONGEST_COMMAND_REPLY_BYTES);
  assert.ok(LONGEST_COMMAND_REPLY_BYTES < 200, `${LONGEST_COMMAND_REPLY_BYTES}`);
});

test('options validation: with the largest --max-message-bytes accepted, every chat reply fits the header', () => {
  for (const headerBytes of [4, 5, 6, 8]) {
    const largest = 10 ** headerBytes - 1;
    const max = largest - MAX_DELIVERY_PREFIX_BYTES;
    const o = resolveServerOptions({ mode: 'chat', headerBytes, maxMessageBytes: max });
    assert.ok(o.maxMessageBytes + MAX_DELIVERY_PREFIX_BYTES <= largest, 'the longest delivery');
    assert.ok(maxWhoBytes(o.maxMessageBytes) <= largest, "!WHO's cap");
    assert.ok(LONGEST_COMMAND_REPLY_BYTES <= largest, '!OK and !NO');
    assert.throws(() => resolveServerOptions({ mode: 'chat', headerBytes, maxMessageBytes: max + 1 }), {
      code: 'ERR_INVALID_OPTION',
      message: /delivery or a !WHO reply/,
    });
  }
});
