// The fuzz oracle says what PROTOCOL.md says, and the judge catches a server that does otherwise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateInput, INPUT_KINDS } from '../../../src/bench/fuzz/inputs.ts';
import { judge, splitFrames } from '../../../src/bench/fuzz/judge.ts';
import { couldStillBeHeader, expectedOutcome, headerValue } from '../../../src/bench/fuzz/oracle.ts';

const H = 8;
const CONFIG = { headerBytes: H, maxMessageBytes: 100 };
const frame = (payload: string, head = String(Buffer.byteLength(payload))) =>
  Buffer.concat([Buffer.from(head.padEnd(H, ' '), 'latin1'), Buffer.from(payload, 'utf8')]);
const codes = (input: Buffer) => {
  const e = expectedOutcome(input, CONFIG);
  return e.end.kind === 'fin' ? 'fin' : e.end.codes.join('|');
};

test('headers: spaces, digits, spaces and nothing else', () => {
  const value = (s: string) => headerValue(Buffer.from(s, 'utf8'));
  assert.equal(value('12      '), 12n);
  assert.equal(value('   12   '), 12n);
  assert.equal(value('00000007'), 7n);
  assert.equal(value('99999999999999999999999999'), 99999999999999999999999999n);
  for (const bad of ['        ', '+12     ', '-1      ', '0x1f    ', '1 2     ', '12\t     ', '1_000   ', '1.0     ']) {
    assert.equal(value(bad), null, JSON.stringify(bad));
  }
  assert.equal(value('\u0663       '), null, 'an Arabic-Indic digit is no digit');
  assert.equal(value('1\u0000      '), null);
  assert.equal(couldStillBeHeader(Buffer.from('  12 ')), true);
  assert.equal(couldStillBeHeader(Buffer.from('  12 3')), false);
});

test('outcomes per PROTOCOL.md', () => {
  assert.equal(codes(Buffer.alloc(0)), 'TIMEOUT', 'nothing sent: the idle timeout');
  assert.equal(codes(Buffer.concat([frame('a'), frame('!DISCONNECT'), Buffer.from('garbage')])), 'fin');
  assert.equal(codes(frame('x', '+1')), 'BAD_HEADER');
  assert.equal(codes(frame('', '101')), 'TOO_LARGE', 'a well-formed header above the limit');
  assert.equal(codes(frame('', '9'.repeat(H))), 'TOO_LARGE', 'however many digits');
  assert.equal(codes(Buffer.from('99999999x', 'latin1')), 'TOO_LARGE', 'judged on the header, before the payload');
  assert.equal(codes(frame('abc').subarray(0, H + 1)), 'TIMEOUT', 'a payload cut short');
  assert.equal(codes(Buffer.from('12 ')), 'TIMEOUT', 'a header cut short that could still be good');
  assert.equal(codes(Buffer.from('1x')), 'TIMEOUT|BAD_HEADER', 'a header cut short that cannot be good');
  const e = expectedOutcome(Buffer.concat([frame('one'), frame(''), frame('two'), frame('x', 'zz')]), CONFIG);
  assert.deepEqual(
    e.replies.map((r) => r.toString()),
    ['one', '', 'two'],
    'replies to every frame before the bad one',
  );
});

test('the judge catches a wrong reply, a missing error, a wrong code and an open connection', () => {
  const expected = expectedOutcome(Buffer.concat([frame('hi'), frame('x', '+1')]), CONFIG);
  const err = (code: string, text = 'why') => frame(`!ERROR ${code} ${text}`);
  assert.equal(judge(expected, Buffer.concat([frame('hi'), err('BAD_HEADER')]), 'fin', H).ok, true);
  assert.match(judge(expected, Buffer.concat([frame('ho'), err('BAD_HEADER')]), 'fin', H).problem!, /reply 1/);
  assert.match(judge(expected, frame('hi'), 'fin', H).problem!, /1 frame/);
  assert.match(judge(expected, Buffer.concat([frame('hi'), err('TIMEOUT')]), 'fin', H).problem!, /expected BAD_HEADER/);
  assert.match(judge(expected, Buffer.concat([frame('hi'), frame('!ERROR BAD_HEADER')]), 'fin', H).problem!, /no text/);
  assert.match(judge(expected, Buffer.concat([frame('hi'), err('BAD_HEADER')]), 'left-open', H).problem!, /left open/);
  assert.match(
    judge(expected, Buffer.concat([frame('hi'), err('BAD_HEADER'), Buffer.from('12')]), 'fin', H).problem!,
    /after the last/,
  );
  assert.deepEqual(splitFrames(Buffer.concat([frame('a'), frame('bc')]), H).frames.map(String), ['a', 'bc']);
});

test('a decoder that took a sign would be caught', () => {
  // What a lenient decoder (parseInt-style) would answer to "+2" with payload "hi": an echo.
  const input = frame('hi', '+2');
  const lenient = frame('hi');
  assert.equal(judge(expectedOutcome(input, CONFIG), lenient, 'fin', H).ok, false);
});

test('inputs are reproducible from the seed and cover every kind', () => {
  const a = generateInput(7, 123, CONFIG);
  const b = generateInput(7, 123, CONFIG);
  assert.deepEqual(a, b);
  assert.notDeepEqual(generateInput(8, 123, CONFIG).bytes, a.bytes);
  const kinds = new Set(Array.from({ length: 2000 }, (_, i) => generateInput(1, i, CONFIG).kind));
  assert.deepEqual([...kinds].sort(), [...INPUT_KINDS].sort());
});
